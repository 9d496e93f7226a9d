import os
import signal
import time
from pathlib import Path

import pytest

from ingest.errors import LoadError
from ingest.loaders import load_file
from ingest.worker import ParserWorker
from tests.files import (
    PAGES,
    write_corrupt_pdf,
    write_docx,
    write_encrypted_pdf,
    write_pdf,
    write_slow_pdf,
    write_textless_pdf,
)


def test_pdf_has_one_page_record_per_page_with_title(tmp_path):
    doc = load_file(write_pdf(tmp_path / "manual.pdf"))
    assert doc.kind == "pdf"
    assert doc.title == "Test Manual"
    assert [p.number for p in doc.pages] == [1, 2, 3]
    assert "Error E-104" in doc.pages[1].text
    assert "E-104" not in doc.pages[0].text and "E-104" not in doc.pages[2].text


def test_text_markdown_html_docx(tmp_path):
    (tmp_path / "a.txt").write_text("plain   text\nwith a hyphen-\nated word")
    (tmp_path / "b.md").write_text("# Title\n\nSome *markdown*.")
    (tmp_path / "c.html").write_text("<html><head><title>Doc C</title><script>var x=1;</script></head>"
                                     "<body><p>Hello <b>world</b></p><style>p{}</style></body></html>")
    write_docx(tmp_path / "d.docx", ["First paragraph.", "Second paragraph."], [["k", "v"]], title="Doc D")
    a, b, c, d = (load_file(tmp_path / n) for n in ("a.txt", "b.md", "c.html", "d.docx"))
    assert a.pages[0].text == "plain text\nwith a hyphenated word" and a.kind == "text"
    assert b.kind == "markdown" and "Some *markdown*." in b.pages[0].text
    assert c.title == "Doc C" and "Hello" in c.pages[0].text and "var x" not in c.pages[0].text
    assert d.title == "Doc D" and "Second paragraph." in d.pages[0].text and "k | v" in d.pages[0].text


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "name, make, reason",
    [
        ("locked.pdf", write_encrypted_pdf, "encrypted"),
        ("broken.pdf", write_corrupt_pdf, "PDF"),
        ("scan.pdf", write_textless_pdf, "no text found"),
        ("empty.pdf", lambda p: _write(p, b""), "empty file"),
        ("fake.pdf", lambda p: _write(p, b"just text pretending"), "not a PDF"),
        ("image.png", lambda p: _write(p, b"\x89PNG...."), "not a PNG, JPEG or TIFF image"),
        ("photo.jpg", lambda p: _write(p, b"\xff\xd8\xff\xe0 cut short"), "not a readable image"),
        ("model.stl", lambda p: _write(p, b"solid x"), "unsupported file type"),
        ("fake.xlsx", lambda p: _write(p, b"not a zip"), "not an Excel"),
        ("fake.pptx", lambda p: _write(p, b"not a zip"), "not a PowerPoint"),
        ("binary.txt", lambda p: _write(p, b"\x00\x01\x02"), "binary"),
        ("fake.docx", lambda p: _write(p, b"not a zip"), "not a Word"),
    ],
)
def test_bad_input_gives_a_one_line_reason(tmp_path, name, make, reason):
    path = make(tmp_path / name)
    with pytest.raises(LoadError) as err:
        load_file(path)
    assert reason in err.value.reason
    assert "\n" not in err.value.reason
    assert str(path) in str(err.value)


def test_too_many_pages_is_refused(tmp_path):
    path = write_pdf(tmp_path / "long.pdf", pages=[f"page {i}" for i in range(12)])
    with pytest.raises(LoadError, match="too many pages"):
        load_file(path, max_pages=10)


def test_unreadable_file(tmp_path, monkeypatch):
    path = write_pdf(tmp_path / "secret.pdf")

    def denied(self, *a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "open", denied)
    with pytest.raises(LoadError, match="permission denied"):
        load_file(path)


def test_encrypted_pdf_with_empty_user_password_is_read(tmp_path):
    path = write_encrypted_pdf(tmp_path / "open.pdf", password="")
    assert "Alpha page" in load_file(path).pages[0].text


def test_worker_abandons_a_hanging_file_and_goes_on(tmp_path):
    slow = write_slow_pdf(tmp_path / "slow.pdf")
    good = write_pdf(tmp_path / "good.pdf")
    with ParserWorker(timeout_s=0.5) as worker:
        with pytest.raises(LoadError, match="longer than 0.5 s"):
            worker.load(slow)
        assert worker.load(good).pages[0].text.startswith("Alpha page")


def test_worker_reports_a_crash_and_restarts(tmp_path):
    slow = write_slow_pdf(tmp_path / "slow.pdf")
    good = write_pdf(tmp_path / "good.pdf")
    with ParserWorker(timeout_s=30) as worker:
        worker.submit(slow)
        time.sleep(0.5)
        os.kill(worker._process.pid, signal.SIGKILL)  # as the kernel's OOM killer would
        with pytest.raises(LoadError, match="crashed"):
            worker.result()
        assert worker.load(good).pages[1].text.startswith("Beta page")


def test_worker_returns_the_same_as_load_file(tmp_path):
    path = write_pdf(tmp_path / "m.pdf")
    with ParserWorker(timeout_s=30) as worker:
        assert worker.load(path) == load_file(path)
    assert [p.text for p in load_file(path).pages][2].startswith("Gamma page")
    assert len(PAGES) == 3
