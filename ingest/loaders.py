"""Read one file into normalised pages: PDF (pypdf), text, Markdown, HTML and Word."""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

from ingest.errors import LoadError
from ingest.normalize import normalize_text
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
}
SUPPORTED_EXTENSIONS = tuple(sorted(KINDS))
PDF_LIMITS = {
    "zlib_maximum_output_length": 30_000_000,
    "lzw_maximum_output_length": 30_000_000,
    "run_length_maximum_output_length": 30_000_000,
    "maximum_declared_stream_length": 30_000_000,
    "array_based_stream_maximum_output_length": 30_000_000,
}


def kind_of(path: Path) -> str | None:
    return KINDS.get(path.suffix.lower())


def load_file(path: str | Path, max_pages: int = 5000) -> LoadedDocument:
    """Load `path`; every failure is a `LoadError` whose reason names what is wrong."""
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
        import pypdf

        # Decompression caps: a page's text never needs 75 MB streams; a zip bomb fails fast instead.
        with pypdf.apply_configuration(**PDF_LIMITS):
            return _load_pdf(path, max_pages)
    if kind == "docx":
        return _load_docx(path)
    raw = _decode(path, path.read_bytes())
    if kind == "html":
        return _load_html(path, raw)
    return _single_page(path, kind, None, raw)


def _check_content_type(path: Path, kind: str, head: bytes) -> None:
    """Trust the bytes, not the extension."""
    if kind == "pdf" and b"%PDF-" not in head[:1024]:
        raise LoadError(path, "not a PDF (no %PDF header); is the extension wrong?")
    if kind == "docx" and not head.startswith(b"PK"):
        raise LoadError(path, "not a Word .docx file (not a zip container)")
    if kind in ("text", "markdown", "html") and b"\x00" in head:
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


def _load_pdf(path: Path, max_pages: int) -> LoadedDocument:
    import pypdf
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    try:
        reader = pypdf.PdfReader(str(path), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError(path, "encrypted: a password is required")
        page_count = len(reader.pages)
    except LoadError:
        raise
    except FileNotDecryptedError:
        raise LoadError(path, "encrypted: a password is required") from None
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise LoadError(path, f"corrupt PDF ({_short(exc)})") from None
    except Exception as exc:  # pypdf raises many types on fuzzed files
        raise LoadError(path, f"unreadable PDF ({type(exc).__name__}: {_short(exc)})") from None
    if page_count == 0:
        raise LoadError(path, "PDF has no pages")
    if page_count > max_pages:
        raise LoadError(path, f"too many pages ({page_count}; the limit is {max_pages})")

    pages, failed = [], []
    for number in range(1, page_count + 1):
        try:
            text = reader.pages[number - 1].extract_text() or ""
        except Exception as exc:  # one broken page must not lose the others
            logger.debug("%s page %d: %s", path, number, exc)
            failed.append(number)
            text = ""
        pages.append(Page(number, normalize_text(text)))

    doc = LoadedDocument(path=str(path), kind="pdf", title=_pdf_title(reader), pages=pages)
    if doc.text_pages == 0:
        raise LoadError(path, "no text found: scanned or image-only PDF (OCR is not supported)")
    if failed:
        doc.warnings.append(f"text extraction failed on {len(failed)} page(s): {_ranges(failed)}")
    empty = page_count - doc.text_pages - len(failed)
    if empty:
        doc.warnings.append(f"{empty} of {page_count} pages have no text (scanned?)")
    return doc


def _pdf_title(reader) -> str | None:
    try:
        title = reader.metadata.title if reader.metadata else None
    except Exception:
        return None
    title = normalize_text(str(title)) if title else ""
    return title or None


def _short(exc: Exception, limit: int = 120) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:limit]


def _ranges(numbers: list[int]) -> str:
    """[1, 2, 3, 7] -> '1-3, 7'."""
    out, start, prev = [], numbers[0], numbers[0]
    for n in numbers[1:] + [None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        out.append(str(start) if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return ", ".join(out)
