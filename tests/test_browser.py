"""A real browser (Debian's Chromium through Playwright) uploads a PDF, asks about it, sees a cited answer and
opens the source's page. Screenshots land in artifacts/screenshots/."""

import shutil
import threading
import time
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from app.server import build_app
from app.service import AskDocs
from app.settings import Settings
from tests.conftest import _free_port
from tests.files import write_pdf

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"


@pytest.fixture
def server(tmp_path, embedder):
    import uvicorn

    settings = Settings(data_dir=tmp_path / "data", chroma_url=None, llm_backend="none", top_k=3, _env_file=None)
    llm = FakeListChatModel(responses=["Error E-104 means the two encoders of a joint disagree [1]."] * 5)
    service = AskDocs(settings, llm=llm, embedder=embedder)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(build_app(service), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    service.close()


def test_upload_ask_cite_open_page(server, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium (.ci/run does)")
    from playwright.sync_api import expect, sync_playwright

    pdf = write_pdf(tmp_path / "arm-manual.pdf")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
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
