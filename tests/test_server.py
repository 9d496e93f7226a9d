"""The HTTP API and the login, over real HTTP routes (FastAPI's test client)."""

import pytest
from fastapi.testclient import TestClient
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from app.server import build_app
from app.service import AskDocs
from app.settings import Settings
from tests.files import write_pdf


@pytest.fixture
def make_client(tmp_path, embedder):
    services = []

    def make(**overrides):
        settings = Settings(data_dir=tmp_path / "data", chroma_url=None, llm_backend="none", _env_file=None,
                            max_file_mb=1, **overrides)
        service = AskDocs(settings, llm=FakeListChatModel(responses=["E-104: encoders disagree [1]."] * 9),
                          embedder=embedder)
        services.append(service)
        return TestClient(build_app(service))

    yield make
    for s in services:
        s.close()


def test_api_upload_search_ask_list_delete(make_client, tmp_path):
    client = make_client()
    pdf = write_pdf(tmp_path / "manual.pdf")
    with pdf.open("rb") as fh:
        r = client.post("/api/documents", files=[("files", ("../../evil/manual.pdf", fh, "application/pdf"))])
    assert r.status_code == 200
    assert r.json()["files"][0] | {"name": "manual.pdf", "status": "added", "pages": 3} == r.json()["files"][0]
    r = client.post("/api/search", json={"query": "E-104", "k": 2, "mode": "bm25"})
    assert r.json()["results"][0]["page"] == 2
    r = client.post("/api/ask", json={"question": "What does E-104 mean?"})
    body = r.json()
    assert body["answer"].endswith("[1].") and body["sources"][0]["file"] == "manual.pdf"
    assert body["sources"][0]["page"] == 2 and body["abstained"] is False
    assert [d["doc_id"] for d in client.get("/api/documents").json()] == ["manual.pdf"]
    assert client.delete("/api/documents/manual.pdf").status_code == 200
    assert client.delete("/api/documents/manual.pdf").status_code == 404
    assert client.get("/api/documents").json() == []


def test_upload_limits_and_type_checks(make_client):
    client = make_client()
    big = b"%PDF-1.4\n" + b"0" * (2 * 2**20)
    r = client.post("/api/documents", files=[("files", ("big.pdf", big, "application/pdf")),
                                             ("files", ("fake.pdf", b"hello", "application/pdf"))])
    files = {f["name"]: f for f in r.json()["files"]}
    assert files["big.pdf"]["status"] == "failed" and "limit" in files["big.pdf"]["reason"]
    assert files["fake.pdf"]["status"] == "failed" and "not a PDF" in files["fake.pdf"]["reason"]
    assert client.post("/api/ask", json={"question": ""}).status_code == 422


def test_login_guards_every_route(make_client):
    client = make_client(username="alice", password="s3cret")
    for method, path in [("get", "/api/documents"), ("post", "/api/search"), ("post", "/api/ask"),
                         ("post", "/api/documents"), ("delete", "/api/documents/x.pdf")]:
        assert getattr(client, method)(path).status_code == 401, path
    assert client.get("/api/documents", auth=("alice", "wrong")).status_code == 401
    assert client.get("/api/documents", auth=("alice", "s3cret")).status_code == 200
    # The UI's own routes: config, uploads and the queue refuse a client without the login cookie.
    assert client.get("/config").status_code == 401
    assert client.post("/gradio_api/upload", files=[("files", ("a.txt", b"x"))]).status_code == 401
    assert client.post("/gradio_api/queue/join", json={}).status_code in (401, 403)
    assert client.post("/login", data={"username": "alice", "password": "s3cret"}).status_code == 200
    assert client.get("/config").status_code == 200


def test_ui_styles_reach_the_browser(make_client):
    # mount_gradio_app replaces the Blocks' own css unless it is passed again.
    from app.render import CSS

    config = make_client().get("/config").json()
    assert CSS.strip() and CSS.strip() in config["css"]


def test_a_document_profile_is_listed_and_corrected_through_the_api(make_client, tmp_path):
    client = make_client()
    pdf = write_pdf(tmp_path / "manual.pdf")
    with pdf.open("rb") as fh:
        assert client.post("/api/documents", files=[("files", ("manual.pdf", fh, "application/pdf"))]).status_code == 200
    listed = client.get("/api/documents").json()[0]
    assert set(listed["profile"]) >= {"title", "organisation", "period", "doc_type"}
    r = client.put("/api/documents/manual.pdf/profile", json={"organisation": "Harbor Lane Robotics", "period": "2026"})
    assert r.status_code == 200 and r.json()["organisation"] == "Harbor Lane Robotics"
    profile = client.get("/api/documents").json()[0]["profile"]
    assert profile["organisation"] == "Harbor Lane Robotics" and profile["period"] == "2026" and profile["edited"]
    assert profile["title"] == listed["profile"]["title"], "fields left out keep their value"
    assert client.put("/api/documents/nothing.pdf/profile", json={"period": "2020"}).status_code == 404
