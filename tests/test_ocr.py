"""OCR of scans and images (real Tesseract), and PDFs that trip pypdf's safety limits."""

import pytest
from PIL import ImageStat

from app.pages import render_image, render_page, word_lines
from ingest.errors import LoadError
from ingest.loaders import load_file
from ingest.ocr import OcrOptions, ocr_image
from ingest.pipeline import Ingestor, Limits
from tests.files import PAGES, render_pages, write_limit_pdf, write_scanned_pdf

OFF = OcrOptions(enabled=False)


def _words(page, phrase: str):
    start = page.text.index(phrase)
    return [w for w in page.words if w.start < start + len(phrase) and w.end > start]


def test_scanned_pdf_is_read_by_ocr_with_word_boxes(tmp_path):
    path = write_scanned_pdf(tmp_path / "scan.pdf")
    progress = []
    doc = load_file(path, on_page=lambda done, total: progress.append((done, total)))
    assert doc.ocr_pages == [1, 2, 3] and progress[-1] == (3, 3)
    assert "payload of twelve kilograms" in doc.pages[0].text
    assert "E-104" in doc.pages[1].text and "thirty-six months" in doc.pages[2].text
    page = doc.pages[0]
    for w in page.words:  # each box names its word's span, inside the page
        assert 0 <= w.left < w.right <= 1 and 0 <= w.top < w.bottom <= 1
        assert page.text[w.start:w.end].strip() == page.text[w.start:w.end]
    # "Alpha" is the first word of the first line: top-left of the text block
    alpha = _words(page, "Alpha")[0]
    kilograms = _words(page, "kilograms")[0]
    assert alpha.left < 0.2 and alpha.top < 0.1 and kilograms.top >= alpha.top - 0.005


def test_ocr_switched_off_says_so(tmp_path):
    path = write_scanned_pdf(tmp_path / "scan.pdf")
    with pytest.raises(LoadError, match="switched off"):
        load_file(path, ocr=OFF)
    missing = OcrOptions(binary="no-such-tesseract")
    with pytest.raises(LoadError, match="not installed"):
        load_file(path, ocr=missing)


def test_a_blank_page_is_read_again_once_ocr_can_run_and_not_after(tmp_path, store, embedder, chunker):
    from tests.pdfgen import make_pdf

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "report.pdf").write_bytes(make_pdf(["Net revenue was $812 million in fiscal 2022.", ""]))
    without = Ingestor(store, embedder, chunker, Limits(parse_timeout_s=60, ocr=OcrOptions(binary="no-such-tesseract")))
    [first] = without.ingest([folder])
    assert first.status == "added" and any("have no text (OCR needs Tesseract" in w for w in first.warnings)
    assert [r.status for r in without.ingest([folder])] == ["unchanged"]
    able = Ingestor(store, embedder, chunker, Limits(parse_timeout_s=60))
    [again] = able.ingest([folder])
    assert again.status == "updated" and again.warnings == ["1 of 2 pages have no text"], "OCR read it: blank"
    assert [r.status for r in able.ingest([folder])] == ["unchanged"], "a page OCR found blank is not read again"


def test_text_pdfs_are_not_ocrd(tmp_path):
    from tests.files import write_pdf

    doc = load_file(write_pdf(tmp_path / "text.pdf"), ocr=OcrOptions(binary="no-such-tesseract"))
    assert doc.ocr_pages == [] and not doc.warnings and "twelve kilograms" in doc.pages[0].text


def test_image_files_and_a_sideways_scan(tmp_path):
    image = render_pages([PAGES[1]], dpi=200)[0]
    image.save(tmp_path / "photo.png")
    image.rotate(90, expand=True).save(tmp_path / "sideways.jpg", quality=90)
    frames = render_pages(PAGES[:2], dpi=200)
    frames[0].save(tmp_path / "fax.tif", save_all=True, append_images=frames[1:])
    assert "encoders of a joint disagree" in load_file(tmp_path / "photo.png").pages[0].text
    sideways = load_file(tmp_path / "sideways.jpg")
    assert sideways.kind == "image" and "encoders of a joint disagree" in sideways.pages[0].text
    fax = load_file(tmp_path / "fax.tif")
    assert [p.number for p in fax.pages] == [1, 2] and "twelve kilograms" in fax.pages[0].text
    with pytest.raises(LoadError, match="OCR"):
        load_file(tmp_path / "photo.png", ocr=OFF)


def test_blank_image_has_no_text(tmp_path):
    from PIL import Image

    Image.new("L", (1700, 2200), 255).save(tmp_path / "blank.png")
    with pytest.raises(LoadError, match="no text found"):
        load_file(tmp_path / "blank.png")


def test_highlight_box_lies_on_the_word(tmp_path):
    """The viewer's mark for a passage of an OCR'd page covers the pixels of that passage's words."""
    image = render_pages([PAGES[0]], dpi=200)[0]
    page = ocr_image(image, OcrOptions())
    words = _words(page, "twelve kilograms")
    (left, top, right, bottom), = word_lines(words)
    box = (int(left * image.width), int(top * image.height), int(right * image.width), int(bottom * image.height))
    crop = image.crop(box)
    assert crop.width > 50 and crop.getextrema()[0] < 100  # ink inside the box
    marked, found = render_image(_save(image, tmp_path / "p.png"), 1, words)
    assert found
    box = (int(left * marked.width), int(top * marked.height), int(right * marked.width), int(bottom * marked.height))
    red, _, blue = ImageStat.Stat(marked.crop(box)).mean
    assert blue < red - 40  # tinted yellow where the words are
    elsewhere = (box[0], box[3] + 30, box[2], box[3] + 60)  # a band below: not marked
    assert ImageStat.Stat(marked.crop(elsewhere)).mean[2] > ImageStat.Stat(marked.crop(elsewhere)).mean[0] - 5


def _save(image, path):
    image.save(path)
    return path


def test_scanned_pdf_is_searchable_and_its_page_highlights(store, embedder, chunker, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    write_scanned_pdf(folder / "scan.pdf")
    pages = []
    report, = Ingestor(store, embedder, chunker).ingest(
        [folder], on_progress=lambda doc, stage, f: pages.append(f) if stage == "ocr" else None)
    assert report.status == "added" and report.ocr_pages == [1, 2, 3] and pages[-1] == 1.0
    assert store.document("scan.pdf").ocr_pages == [1, 2, 3]
    hit = store.query(embedder.embed_query("what does error E-104 mean"), k=1)[0]
    assert hit.chunk.page == 2 and "encoders" in hit.chunk.text
    words = store.word_boxes("scan.pdf", 2, hit.chunk.start, hit.chunk.end)
    assert words and all(hit.chunk.start <= w.start < hit.chunk.end for w in words)
    image, found = render_page(folder / "scan.pdf", 2, hit.chunk.text, words=words)
    assert found
    assert store.word_boxes("scan.pdf", 2, 0, 0) == []


@pytest.mark.parametrize("limit", ["array", "dict"])
def test_pdfs_tripping_pypdf_limits_get_in(tmp_path, limit):
    path = write_limit_pdf(tmp_path / f"{limit}.pdf", limit)
    import pypdf
    from pypdf.errors import LimitReachedError

    with pytest.raises(LimitReachedError):
        len(pypdf.PdfReader(str(path)).pages)
    doc = load_file(path, ocr=OFF)
    assert [p.number for p in doc.pages] == [1, 2, 3]
    assert "twelve kilograms" in doc.pages[0].text and "E-104" in doc.pages[1].text
    assert any("pdfium" in w for w in doc.warnings)


def test_empty_password_pdf_opens(tmp_path):
    import io

    from pypdf import PdfWriter

    from tests.pdfgen import make_pdf

    writer = PdfWriter(clone_from=io.BytesIO(make_pdf(PAGES)))
    writer.encrypt(user_password="", owner_password="owner-secret", algorithm="AES-256")
    path = tmp_path / "no-user-password.pdf"
    with path.open("wb") as fh:
        writer.write(fh)
    assert "twelve kilograms" in load_file(path, ocr=OFF).pages[0].text
