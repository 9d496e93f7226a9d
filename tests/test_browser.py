"""A real browser (Debian's Chromium through Playwright) uploads a PDF, asks about it, sees a cited answer and
opens the source's page (screenshots land in artifacts/screenshots/); an injected answer stays inert."""

import re
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from app.service import AskDocs
from app.settings import Settings
from tests.files import write_pdf
from tests.serve_fake import serving as serve_in_thread

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"


@contextmanager
def serving(tmp_path, embedder, llm, ingest=()):
    """The real app on a free loopback port, in this process; yields its URL."""
    settings = Settings(data_dir=tmp_path / "data", chroma_url=None, llm_backend="none", top_k=3, _env_file=None)
    service = AskDocs(settings, llm=llm, embedder=embedder)
    if ingest:
        service.ingest(list(ingest))
    with serve_in_thread(service) as url:
        yield url


@pytest.fixture
def server(tmp_path, embedder):
    llm = FakeListChatModel(responses=["Error E-104 means the two encoders of a joint disagree [1]."] * 5)
    with serving(tmp_path, embedder, llm) as url:
        yield url


def launch(p):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium (.ci/run does)")
    return p.chromium.launch(executable_path=CHROMIUM, args=[
        "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"])


def test_upload_ask_cite_open_page(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    pdf = write_pdf(tmp_path / "arm-manual.pdf")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(server)
        page.get_by_role("tab", name="Library").click()
        page.locator("#upload input[type=file]").set_input_files(str(pdf))
        expect(page.locator("#upload-status")).to_contain_text("added: 3 pages", timeout=120_000)
        expect(page.locator("#library")).to_contain_text("arm-manual.pdf")

        page.get_by_role("tab", name="Chat").click()
        page.locator("#question textarea").fill("What does error E-104 mean?")
        page.locator("#ask").click()
        expect(page.locator("#chat")).to_contain_text("encoders of a joint disagree", timeout=60_000)
        expect(page.locator("#chat a[href='#source-1']")).to_have_count(1)
        expect(page.locator("#sources")).to_contain_text("arm-manual.pdf")
        expect(page.locator("#sources")).to_contain_text("page 2")
        page.screenshot(path=str(SHOTS / "chat.png"), full_page=True)
        page.locator("#sources").screenshot(path=str(SHOTS / "sources.png"))

        page.locator("#open-page").click()
        expect(page.locator("#page-image img")).to_be_visible(timeout=30_000)
        expect(page.locator("#page-label")).to_contain_text("page 2 of 3")
        page.screenshot(path=str(SHOTS / "page.png"), full_page=True)
        browser.close()


@pytest.mark.slow
def test_injected_answer_stays_inert_in_the_browser(tmp_path, embedder):
    """A document's injected instructions, obeyed by the (fake) model and streamed piece by piece: the page makes
    no request off the server and runs no script, in the chat or in the source panel."""
    from playwright.sync_api import expect, sync_playwright

    from tests.test_injection import OBEYING, QUESTION, write_injection_pdf

    pdf = write_injection_pdf(tmp_path / "joint.pdf")
    llm = FakeListChatModel(responses=[OBEYING], sleep=0.01)  # streamed a character at a time
    with serving(tmp_path, embedder, llm, ingest=[pdf]) as url, sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        requests, dialogs = [], []
        page.on("request", lambda r: requests.append(r.url))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.route("**/*evil.example*", lambda route: route.abort())  # recorded above, never sent
        page.goto(url)
        page.locator("#question textarea").fill(QUESTION)
        page.locator("#ask").click()
        expect(page.locator("#chat")).to_contain_text("encoders disagree", timeout=60_000)
        expect(page.locator("#sources")).to_contain_text("<script>alert(1)</script>", timeout=30_000)
        expect(page.locator("#status")).to_contain_text(re.compile(r"\d\.\d s"), timeout=30_000)  # done
        page.wait_for_timeout(500)
        for area in ("#chat", "#sources"):
            expect(page.locator(f"{area} img")).to_have_count(0)
            expect(page.locator(f"{area} script")).to_have_count(0)
            expect(page.locator(f"{area} a[href*='evil']")).to_have_count(0)
        # The citation links work (the rule also cites source 1 for the injected sentences it holds).
        expect(page.locator("#chat a[href='#source-1']").first).to_be_visible()
        expect(page.locator("#chat a[href^='#source-']:not([href='#source-1'])")).to_have_count(0)
        browser.close()
    assert not [u for u in requests if "evil.example" in u], requests
    assert not [u for u in requests if not u.startswith(url) and not u.startswith("data:")], requests
    assert dialogs == []


class SlowStartModel(FakeListChatModel):
    """A model that thinks for a while before its first token, as the local one does on a CPU."""

    def _stream(self, *args, **kwargs):
        import time

        time.sleep(6)
        yield from super()._stream(*args, **kwargs)


def test_the_best_sentence_shows_before_the_answer(tmp_path, embedder):
    from playwright.sync_api import expect, sync_playwright

    pdf = write_pdf(tmp_path / "arm-manual.pdf")
    llm = SlowStartModel(responses=["It signals a mismatch of the joint's two encoders [1]."])
    with serving(tmp_path, embedder, llm, ingest=[pdf]) as url, sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.locator("#question textarea").fill("What does error E-104 mean?")
        page.locator("#ask").click()
        # While the model is still silent, the chat quotes the best-matching sentence and its card marks it.
        expect(page.locator("#chat")).to_contain_text("best match", timeout=5_000)
        expect(page.locator("#chat")).to_contain_text("Error E-104 means the two encoders of a joint disagree")
        expect(page.locator("#sources .askdocs-best")).to_contain_text("E-104")
        expect(page.locator("#chat")).not_to_contain_text("signals a mismatch")
        expect(page.locator("#chat")).to_contain_text("signals a mismatch", timeout=30_000)
        expect(page.locator("#chat")).not_to_contain_text("best match")
        browser.close()


def _login(browser, url, name, password):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(url)
    page.locator("input[type=text], input:not([type])").first.fill(name)
    page.locator("input[type=password]").fill(password)
    page.get_by_role("button", name=re.compile("login", re.I)).click()
    page.locator("#question textarea").wait_for(timeout=30_000)
    return page


def test_two_users_see_their_own_documents_and_a_reopened_conversation_shows_its_answers(tmp_path, embedder):
    """Two browser contexts, two accounts: each uploads a file and sees only their own and the shared collection's;
    each chat is saved for its user; after a reload the conversation is reopened with its answer and sources, and
    the other user does not see it."""
    from playwright.sync_api import expect, sync_playwright

    from app.accounts.store import AccountStore

    accounts = AccountStore(tmp_path / "data" / "accounts.sqlite3")
    accounts.add_user("amy", "amy's long password")
    accounts.add_user("bob", "bob's long password")
    llm = FakeListChatModel(responses=["Error E-104 means the two encoders of a joint disagree [1]."] * 5)
    with serving(tmp_path, embedder, llm, ingest=[write_pdf(tmp_path / "arm-manual.pdf")]) as url, \
            sync_playwright() as p:
        browser = launch(p)
        amy = _login(browser, url, "amy", "amy's long password")
        bob = _login(browser, url, "bob", "bob's long password")
        for page, name in ((amy, "amy"), (bob, "bob")):  # each uploads into their private collection
            page.get_by_role("tab", name="Library").click()
            notes = write_pdf(tmp_path / f"{name}-notes.pdf", [f"{name.title()}'s private notes about pumps."])
            page.locator("#upload input[type=file]").set_input_files(str(notes))
            expect(page.locator("#upload-status")).to_contain_text("added: 1 page,", timeout=120_000)
        for page, mine, theirs in ((amy, "amy", "bob"), (bob, "bob", "amy")):
            page.reload()
            page.get_by_role("tab", name="Library").click()
            expect(page.locator("#library")).to_contain_text(f"~{mine}/{mine}-notes.pdf")
            expect(page.locator("#library")).to_contain_text("arm-manual.pdf")  # the shared collection
            expect(page.locator("#library")).not_to_contain_text(f"{theirs}-notes.pdf")
            page.get_by_role("tab", name="Chat").click()
        amy.locator("#question textarea").fill("What does error E-104 mean?")
        amy.locator("#ask").click()
        expect(amy.locator("#chat")).to_contain_text("encoders of a joint disagree", timeout=60_000)
        amy.get_by_text("Conversations", exact=True).click()
        amy.locator("#conversation-pick input").click()  # the finished answer is listed as a saved conversation
        expect(amy.get_by_role("option", name=re.compile("What does error E-104 mean"))).to_have_count(1)
        amy.reload()  # the chat leaves the screen; the saved conversation stays
        amy.locator("#question textarea").wait_for(timeout=30_000)
        expect(amy.locator("#chat")).not_to_contain_text("encoders of a joint disagree")
        amy.get_by_text("Conversations", exact=True).click()
        amy.locator("#conversation-pick input").click()
        amy.get_by_role("option", name=re.compile("What does error E-104 mean")).click()
        amy.locator("#open-conversation").click()
        expect(amy.locator("#chat")).to_contain_text("encoders of a joint disagree", timeout=30_000)
        expect(amy.locator("#chat")).to_contain_text("What does error E-104 mean?")
        expect(amy.locator("#sources")).to_contain_text("arm-manual.pdf")
        bob.get_by_text("Conversations", exact=True).click()
        bob.locator("#conversation-pick input").click()
        expect(bob.get_by_role("option", name=re.compile("E-104"))).to_have_count(0)
        SHOTS.mkdir(parents=True, exist_ok=True)
        amy.screenshot(path=str(SHOTS / "reopened-conversation.png"), full_page=True)
        browser.close()
