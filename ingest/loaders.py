"""Read one file into normalised pages: PDF and images (`ingest.pdf`), slides and sheets (`ingest.office`), text,
Markdown, HTML and Word."""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

from ingest.errors import LoadError
from ingest.normalize import normalize_text
from ingest.ocr import OcrOptions
from ingest.office import load_csv, load_pptx, load_xlsx
from ingest.pdf import PageProgress, load_image, load_pdf
from ingest.types import LoadedDocument, Page

logger = logging.getLogger(__name__)

KINDS = {
    ".pdf": "pdf",
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".docx": "docx",
    ".pptx": "pptx",
    ".xlsx": "xlsx",
    ".csv": "csv",
    ".png": "image",
    ".jpg": "image",
    ".jpeg": "image",
    ".tif": "image",
    ".tiff": "image",
}
SUPPORTED_EXTENSIONS = tuple(sorted(KINDS))
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*")


def kind_of(path: Path) -> str | None:
    return KINDS.get(path.suffix.lower())


def load_file(path: str | Path, max_pages: int = 5000, ocr: OcrOptions = OcrOptions(),
              on_page: PageProgress | None = None) -> LoadedDocument:
    """Load `path`; every failure is a `LoadError` whose reason names what is wrong. `on_page(done, total)` follows
    OCR page by page."""
    path = Path(path)
    kind = kind_of(path)
    if kind is None:
        raise LoadError(path, f"unsupported file type '{path.suffix or '(none)'}' "
                              f"(supported: {', '.join(SUPPORTED_EXTENSIONS)})")
    try:
        with path.open("rb") as fh:
            head = fh.read(2048)
    except PermissionError:
        raise LoadError(path, "cannot read the file: permission denied") from None
    except IsADirectoryError:
        raise LoadError(path, "is a folder, not a file") from None
    except OSError as exc:
        raise LoadError(path, f"cannot read the file: {exc.strerror or exc}") from None
    if not head:
        raise LoadError(path, "empty file")
    _check_content_type(path, kind, head)
    if kind == "pdf":
        return load_pdf(path, max_pages, ocr, on_page)
    if kind == "image":
        return load_image(path, max_pages, ocr, on_page)
    if kind == "docx":
        return _load_docx(path)
    if kind == "pptx":
        return load_pptx(path)
    if kind == "xlsx":
        return load_xlsx(path)
    raw = _decode(path, path.read_bytes())
    if kind == "html":
        return _load_html(path, raw)
    if kind == "csv":
        return load_csv(path, raw)
    return _single_page(path, kind, None, raw)


def _check_content_type(path: Path, kind: str, head: bytes) -> None:
    """Trust the bytes, not the extension."""
    if kind == "pdf" and b"%PDF-" not in head[:1024]:
        raise LoadError(path, "not a PDF (no %PDF header); is the extension wrong?")
    names = {"docx": "a Word .docx", "pptx": "a PowerPoint .pptx", "xlsx": "an Excel .xlsx"}
    if kind in names and not head.startswith(b"PK"):
        raise LoadError(path, f"not {names[kind]} file (not a zip container)")
    if kind == "image" and not head.startswith(_IMAGE_MAGIC):
        raise LoadError(path, "not a PNG, JPEG or TIFF image; is the extension wrong?")
    if kind in ("text", "markdown", "html", "csv") and b"\x00" in head:
        raise LoadError(path, "binary content in a text file")


def _decode(path: Path, data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    logger.warning("%s: not UTF-8 or Windows-1252; decoded as Latin-1", path)
    return data.decode("latin-1")


def _single_page(path: Path, kind: str, title: str | None, raw: str) -> LoadedDocument:
    text = normalize_text(raw)
    if not text:
        raise LoadError(path, "no text found")
    return LoadedDocument(path=str(path), kind=kind, title=title, pages=[Page(1, text)])


def _load_html(path: Path, raw: str) -> LoadedDocument:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(raw, "lxml")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    title = soup.title.get_text(strip=True) if soup.title else None
    return _single_page(path, "html", title or None, soup.get_text("\n"))


def _load_docx(path: Path) -> LoadedDocument:
    import docx

    try:
        document = docx.Document(str(path))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise LoadError(path, f"corrupt Word file ({type(exc).__name__})") from None
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text.strip() for cell in row.cells))
    title = (document.core_properties.title or "").strip() or None
    return _single_page(path, "docx", title, "\n".join(parts))
