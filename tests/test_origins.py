"""Strict CORS and no way around the queue: a page on another site gets no CORS approval and its requests are
refused, on the JSON API and on Gradio's own routes; the UI's events run only through the bounded queue."""

import pytest
from fastapi.testclient import TestClient
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from app.origins import parse_origins
from app.server import build_app
from app.service import AskDocs
from app.settings import Settings

EVIL = "https://evil.example"
LOGIN = ("alice", "s3cret")


@pytest.fixture
def make_client(tmp_path, embedder):
    services = []

    def make(**overrides):
        settings = Settings(data_dir=tmp_path / "data", chroma_url=None, llm_backend="none", _env_file=None,
                            username=LOGIN[0], password=LOGIN[1], **overrides)
        service = AskDocs(settings, llm=FakeListChatModel(responses=["E-104 [1]."]), embedder=embedder)
        services.append(service)
        client = TestClient(build_app(service))
        assert client.post("/login", data={"username": LOGIN[0], "password": LOGIN[1]}).status_code == 200
        return client

    yield make
    for s in services:
        s.close()


# (method, path, body) of the API routes and of the Gradio routes a page would use.
ROUTES = [("get", "/api/documents", None), ("post", "/api/ask", {"question": "E-104?"}),
          ("post", "/api/search", {"query": "E-104"}), ("get", "/config", None), ("get", "/gradio_api/info", None),
          ("post", "/gradio_api/queue/join", {}), ("get", "/gradio_api/queue/data?session_hash=x", None),
          ("post", "/gradio_api/upload", None), ("get", "/", None)]


# The Host a request names: loopback, where Gradio's own CORS is strict, and a public name, where Gradio's own
# CORS would echo any Origin with credentials allowed.
@pytest.mark.parametrize("host", ["127.0.0.1:7860", "docs.corp.example"])
def test_another_site_gets_no_cors_and_is_refused(make_client, host):
    client = make_client()
    for origin in (EVIL, "null", "http://localhost:9999"):
        headers = {"Origin": origin, "Host": host}
        for method, path, body in ROUTES:
            r = getattr(client, method)(path, headers=headers, auth=LOGIN, **({"json": body} if body is not None
                                                                            else {}))
            assert "access-control-allow-origin" not in r.headers, (origin, path)
            assert "access-control-allow-credentials" not in r.headers, (origin, path)
            assert r.status_code == 403, (origin, path, r.status_code)
            preflight = client.options(path.split("?")[0], headers={
                **headers, "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,authorization"})
            assert preflight.status_code >= 400 and "access-control-allow-origin" not in preflight.headers, \
                (origin, path, preflight.status_code, dict(preflight.headers))


def test_same_origin_and_listed_origins_are_served(make_client):
    client = make_client(allowed_origins="https://intranet.example/, http://127.0.0.1:9000")
    # The page of this very server (Origin = Host), directly or behind a proxy that keeps X-Forwarded-Host.
    for headers in ({"Origin": "http://docs.corp.example", "Host": "docs.corp.example"},
                    {"Origin": "https://docs.corp.example", "Host": "127.0.0.1:7860",
                     "X-Forwarded-Host": "docs.corp.example"}):
        assert client.get("/api/documents", headers=headers, auth=LOGIN).status_code == 200
        assert client.get("/config", headers=headers).status_code == 200
    # A listed origin gets a CORS approval for itself, never a wildcard.
    listed = {"Origin": "https://intranet.example", "Host": "docs.corp.example"}
    r = client.options("/api/ask", headers={**listed, "Access-Control-Request-Method": "POST"})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://intranet.example"
    r = client.get("/api/documents", headers=listed, auth=LOGIN)
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://intranet.example"
    assert client.get("/api/documents", headers={"Origin": EVIL}, auth=LOGIN).status_code == 403
    assert parse_origins(" https://A.example/ ,http://b:1 ;") == ["https://a.example", "http://b:1"]


def test_ui_events_only_run_through_the_queue(make_client):
    client = make_client()
    dependencies = client.get("/config").json()["dependencies"]
    ask = next(d for d in dependencies if d["api_name"] == "ask")
    assert ask["api_visibility"] == "undocumented" and ask["queue"] is not False
    # The direct, queue-skipping routes refuse every event, named or by index, public or private.
    for d in dependencies:
        for path in (f"/gradio_api/run/{d['api_name']}", f"/gradio_api/api/{d['api_name']}"):
            r = client.post(path, json={"data": [], "fn_index": d["id"]})
            assert r.status_code == 404 and "join the queue" in r.text, (path, r.status_code, r.text[:200])
    # The chat and upload events are callable (through the queue) but not advertised in the API docs.
    assert client.get("/gradio_api/info").json() == {"named_endpoints": {}, "unnamed_endpoints": {}}
