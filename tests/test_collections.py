"""Collections over a real server (uvicorn on loopback): what a user may not read does not exist for them, through
the API (token and Basic), the UI's queue and its callbacks (page viewer, library); read-only members cannot
change a shared collection."""

import httpx
import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from app.accounts.access import access_for
from app.accounts.store import AccountStore
from app.service import AskDocs
from app.settings import Settings
from app.ui import Callbacks
from tests.files import write_pdf
from tests.serve_fake import serving

BOB_PAGES = ["Bob's page. Salary bands for 2027: band C pays EUR 71,000.", "Error E-104 means the encoders disagree.",
             "Filler page about the canteen menu.", "Filler page about parking."]
AMY_PAGES = ["Amy's page. The offsite is in Porto in May.", "Filler page about the library.",
             "Filler page about bicycles.", "Filler page about printers."]
ENG_PAGES = ["Engineering wiki. Deploys happen on Tuesdays.", "Filler page about code review.",
             "Filler page about on-call.", "Filler page about laptops."]


@pytest.fixture
def team(tmp_path, embedder):
    accounts = AccountStore(tmp_path / "data" / "accounts.sqlite3")
    for name in ("amy", "bob", "cat"):
        accounts.add_user(name, f"{name}'s long password")
    accounts.add_collection("eng")
    accounts.grant("eng", "bob", write=True)
    accounts.grant("eng", "cat")  # read only
    settings = Settings(data_dir=tmp_path / "data", chroma_url=None, llm_backend="none", top_k=5, _env_file=None,
                        answer_evidence_check=0)
    service = AskDocs(settings, llm=FakeListChatModel(responses=["Here is what the sources say [1]."] * 20),
                      embedder=embedder)
    with serving(service) as url:
        yield url, service, accounts, tmp_path


def _auth(name):
    return (name, f"{name}'s long password")


def _upload(url, name, filename, pages, tmp_path, collection=None):
    path = write_pdf(tmp_path / filename, pages)
    with path.open("rb") as fh:
        data = {"collection": collection} if collection else {}
        return httpx.post(f"{url}/api/documents", files=[("files", (filename, fh))], data=data, auth=_auth(name),
                          timeout=120)


def test_private_and_shared_collections_through_the_api(team):
    url, service, accounts, tmp_path = team
    assert _upload(url, "bob", "bob.pdf", BOB_PAGES, tmp_path).json()["files"][0]["name"] == "~bob/bob.pdf"
    assert _upload(url, "amy", "amy.pdf", AMY_PAGES, tmp_path).status_code == 200
    assert _upload(url, "bob", "wiki.pdf", ENG_PAGES, tmp_path, "eng").status_code == 200
    _, token = accounts.create_token("amy")
    as_amy = {"headers": {"Authorization": f"Bearer {token}"}, "timeout": 60}

    listed = [d["doc_id"] for d in httpx.get(f"{url}/api/documents", **as_amy).json()]
    assert listed == ["~amy/amy.pdf"], "amy sees her own, not bob's private nor eng (not a member)"
    for mode in ("bm25", "vector", "hybrid"):
        found = httpx.post(f"{url}/api/search", json={"query": "salary bands band C", "mode": mode}, **as_amy)
        assert all(r["doc_id"] == "~amy/amy.pdf" for r in found.json()["results"]), mode
    asked = httpx.post(f"{url}/api/ask", json={"question": "What does band C pay?"}, **as_amy).json()
    assert all(s["doc_id"] == "~amy/amy.pdf" for s in asked["sources"]) and "71,000" not in str(asked)
    named = httpx.post(f"{url}/api/search", json={"query": "salary", "docs": ["~bob/bob.pdf"]}, **as_amy)
    assert named.json()["results"] == [], "naming another user's document does not reach it"
    assert httpx.delete(f"{url}/api/documents/~bob/bob.pdf", **as_amy).status_code == 404
    assert httpx.put(f"{url}/api/documents/~bob/bob.pdf/profile", json={"title": "x"}, **as_amy).status_code == 404
    assert _upload(url, "amy", "x.pdf", AMY_PAGES, tmp_path, "~bob").status_code == 403

    # cat reads eng (Basic auth) but cannot change it
    cat = {"auth": _auth("cat"), "timeout": 60}
    assert [d["doc_id"] for d in httpx.get(f"{url}/api/documents", **cat).json()] == ["eng/wiki.pdf"]
    found = httpx.post(f"{url}/api/search", json={"query": "deploys Tuesdays", "mode": "bm25"}, **cat).json()
    assert found["results"][0]["doc_id"] == "eng/wiki.pdf"
    assert _upload(url, "cat", "mine.pdf", ENG_PAGES, tmp_path, "eng").status_code == 403
    assert httpx.delete(f"{url}/api/documents/eng/wiki.pdf", **cat).status_code == 403
    assert httpx.put(f"{url}/api/documents/eng/wiki.pdf/profile", json={"title": "x"}, **cat).status_code == 403
    # only what the caller asks in
    asked = httpx.post(f"{url}/api/ask", json={"question": "When are deploys?", "collections": ["~cat"]}, **cat)
    assert asked.json()["sources"] == []
    # bob, a writer, may; a revoked token is refused at once
    assert httpx.delete(f"{url}/api/documents/eng/wiki.pdf", auth=_auth("bob"), timeout=60).status_code == 200
    accounts.revoke_token(accounts.tokens("amy")[0].id)
    assert httpx.get(f"{url}/api/documents", **as_amy).status_code == 401


def test_the_ui_queue_and_callbacks_keep_to_the_callers_collections(team):
    from gradio_client import Client

    url, service, accounts, tmp_path = team
    _upload(url, "bob", "bob.pdf", BOB_PAGES, tmp_path)
    _upload(url, "amy", "amy.pdf", AMY_PAGES, tmp_path)
    # The queue, as the browser uses it, signed in as amy.
    client = Client(url, auth=_auth("amy"), verbose=False, download_files=False)
    result = client.submit("What does band C pay?", [], 5, "hybrid", False, [], api_name="/ask").result(timeout=120)
    assert "bob.pdf" not in result[2] and "71,000" not in result[2] and "amy.pdf" in result[2]

    class Request:
        username = "amy"

    amy = Callbacks(service, lambda request: access_for(accounts, accounts.user(request.username)))
    rows, picker = amy.library(Request())
    assert [r[0] for r in rows] == ["~amy/amy.pdf"] and picker["choices"] == ["~amy/amy.pdf"]
    bob_page = {"doc_id": "~bob/bob.pdf", "page": 1, "text": BOB_PAGES[0], "start": 0, "end": 10, "home": 1}
    image, context, label, _ = amy.show_page(bob_page, 0, Request())
    assert not image["visible"] and "deleted" in context["value"] and "bob" not in label
    assert "no such document" in amy.delete("~bob/bob.pdf", Request())[0]
    assert "no such document" in amy.reindex("~bob/bob.pdf", Request())[0]
    assert amy.profile_fields("~bob/bob.pdf", Request())[0]["value"] == ""
    assert "not in the library" in amy.save_profile("~bob/bob.pdf", "Evil", "", "", "", Request())[0]
    assert service.document("~bob/bob.pdf") is not None, "bob's document is untouched"
    ask_in, upload_to = amy.collections(Request())
    assert ask_in["choices"] == ["shared", "~amy"] and upload_to["value"] == "~amy"


def test_stored_files_are_never_served(team):
    """The file routes: Bob's upload cannot be downloaded, signed in as Amy through the UI's login or not."""
    url, service, accounts, tmp_path = team
    _upload(url, "bob", "bob.pdf", BOB_PAGES, tmp_path)
    stored = service.document("~bob/bob.pdf").path
    with httpx.Client(base_url=url, timeout=30) as browser:
        assert browser.get(f"/gradio_api/file={stored}").status_code in (401, 403)
        assert browser.post("/login", data={"username": "amy", "password": "amy's long password"}).status_code == 200
        for route in (f"/gradio_api/file={stored}", f"/file={stored}", f"/gradio_api/file=/{stored.lstrip('/')}"):
            response = browser.get(route)
            assert response.status_code in (403, 404) and b"%PDF" not in response.content, route
