"""Read a PDF: pypdf's text layer, pdfium where pypdf gives up, OCR for pages without text; and image files."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from ingest.errors import LoadError
from ingest.normalize import normalize_text
from ingest.ocr import MAX_PIXELS, OcrOptions, OcrUnavailableError, check_available, needs_ocr, ocr_images
from ingest.types import LoadedDocument, Page

logger = logging.getLogger(__name__)

# Decompression caps: a page's text never needs 30 MB streams; a zip bomb fails fast instead.
PDF_LIMITS = {
    "zlib_maximum_output_length": 30_000_000,
    "lzw_maximum_output_length": 30_000_000,
    "run_length_maximum_output_length": 30_000_000,
    "maximum_declared_stream_length": 30_000_000,
    "array_based_stream_maximum_output_length": 30_000_000,
}
_PDFIUM = threading.Lock()  # pdfium is not thread-safe; OCR threads render pages one at a time

# on_page(done, total): OCR progress within one file.
PageProgress = Callable[[int, int], None]


def load_pdf(path: Path, max_pages: int, ocr: OcrOptions, on_page: PageProgress | None = None) -> LoadedDocument:
    """pypdf first (its text keeps reading order best); when it refuses the file or a page, pdfium, which reads
    what browsers open; then OCR for pages that still have no text."""
    import pypdf

    refused = ""  # why pypdf could not read the file, when pdfium did
    with pypdf.apply_configuration(**PDF_LIMITS):
        try:
            pages, title, failed = _pypdf_pages(path, max_pages)
        except LoadError as exc:
            if exc.reason.startswith("too many pages"):
                raise
            try:
                pages, title, failed = _pdfium_pages(path, max_pages)
            except LoadError as also:
                raise (also if also.reason.startswith(("encrypted", "too many pages")) else exc) from None
            refused = exc.reason
            logger.info("%s: pypdf refused it (%s); read with pdfium", path, refused)
    warnings = []
    retry = [p.number for p in pages if needs_ocr(p.text, ocr)]
    if retry and not refused:  # pages pypdf failed on or found (almost) empty: pdfium may read their text
        pages = _pdfium_fill(path, pages, retry)
        failed = [n for n in failed if not pages[n - 1].text]
    pages, ocr_note = _ocr_empty_pages(path, pages, ocr, on_page)
    doc = LoadedDocument(path=str(path), kind="pdf", title=title, pages=pages, warnings=warnings)
    if doc.text_pages == 0:
        raise LoadError(path, "no text found: scanned or image-only PDF" + (f" ({ocr_note})" if ocr_note else ""))
    if refused:
        warnings.append(f"read with pdfium (pypdf refused the file: {refused})")
    if failed:
        warnings.append(f"text extraction failed on {len(failed)} page(s): {ranges(failed)}")
    empty = len(pages) - doc.text_pages - len(failed)
    if empty:
        warnings.append(f"{empty} of {len(pages)} {NO_TEXT}" + (f" ({ocr_note})" if ocr_note else ""))
    return doc


NO_TEXT = "pages have no text"  # the warning; when OCR could not run, followed by its reason in brackets


def stored_without_ocr(warnings: list[str]) -> bool:
    """Warnings of a PDF stored with pages of no text because OCR could not run (OcrUnavailableError: switched off,
    no Tesseract), which reading it again may change. Not pages OCR read as blank or could not render."""
    return any(f"{NO_TEXT} (OCR " in w for w in warnings)


def _pypdf_pages(path: Path, max_pages: int) -> tuple[list[Page], str | None, list[int]]:
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
        raise LoadError(path, f"corrupt PDF ({short(exc)})") from None
    except Exception as exc:  # pypdf raises many types on fuzzed files and on its own safety limits
        raise LoadError(path, f"unreadable PDF ({type(exc).__name__}: {short(exc)})") from None
    _check_count(path, page_count, max_pages)
    pages, failed = [], []
    for number in range(1, page_count + 1):
        try:
            text = reader.pages[number - 1].extract_text() or ""
        except Exception as exc:  # one broken page must not lose the others
            logger.debug("%s page %d: %s", path, number, exc)
            failed.append(number)
            text = ""
        pages.append(Page(number, normalize_text(text)))
    return pages, _pypdf_title(reader), failed


def _check_count(path: Path, page_count: int, max_pages: int) -> None:
    if page_count == 0:
        raise LoadError(path, "PDF has no pages")
    if page_count > max_pages:
        raise LoadError(path, f"too many pages ({page_count}; the limit is {max_pages})")


def _open_pdfium(path: Path):
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(str(path))  # tries the empty password, as viewers do
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise LoadError(path, "encrypted: a password is required") from None
        raise LoadError(path, f"corrupt PDF (pdfium: {short(exc)})") from None


def _pdfium_text(pdf, index: int) -> str:
    page = pdf[index]
    textpage = page.get_textpage()
    try:
        return normalize_text(textpage.get_text_range())
    finally:
        textpage.close()
        page.close()


def _pdfium_pages(path: Path, max_pages: int) -> tuple[list[Page], str | None, list[int]]:
    with _PDFIUM:
        pdf = _open_pdfium(path)
        try:
            _check_count(path, len(pdf), max_pages)
            pages, failed = [], []
            for index in range(len(pdf)):
                try:
                    text = _pdfium_text(pdf, index)
                except Exception as exc:
                    logger.debug("%s page %d (pdfium): %s", path, index + 1, exc)
                    failed.append(index + 1)
                    text = ""
                pages.append(Page(index + 1, text))
            title = normalize_text(str(pdf.get_metadata_dict().get("Title") or "")) or None
            return pages, title, failed
        finally:
            pdf.close()


def _pdfium_fill(path: Path, pages: list[Page], numbers: list[int]) -> list[Page]:
    """The given pages read by pdfium where it finds more text than pypdf did."""
    pages = list(pages)
    try:
        with _PDFIUM:
            pdf = _open_pdfium(path)
            try:
                for number in numbers:
                    try:
                        text = _pdfium_text(pdf, number - 1)
                        if len(text) > len(pages[number - 1].text):
                            pages[number - 1] = Page(number, text)
                    except Exception as exc:
                        logger.debug("%s page %d (pdfium): %s", path, number, exc)
            finally:
                pdf.close()
    except LoadError as exc:
        logger.debug("%s: pdfium cannot open it either: %s", path, exc.reason)
    return pages


def _ocr_empty_pages(path: Path, pages: list[Page], ocr: OcrOptions,
                     on_page: PageProgress | None) -> tuple[list[Page], str]:
    """Pages without usable text replaced by their OCR'd text; and a note when OCR could not run."""
    todo = [p.number for p in pages if needs_ocr(p.text, ocr)]
    if not todo:
        return pages, ""
    try:
        check_available(ocr)
    except OcrUnavailableError as exc:
        return pages, str(exc)
    try:
        with _PDFIUM:
            pdf = _open_pdfium(path)
    except LoadError as exc:  # pypdf read the text layer, but the pages cannot be rendered
        return pages, f"cannot render its pages for OCR: {exc.reason}"
    try:
        read = ocr_images([(n, _renderer(pdf, n, ocr.dpi)) for n in todo], ocr, on_page)
    finally:
        with _PDFIUM:
            pdf.close()
    out = list(pages)
    for number, page in read.items():
        if sum(c.isalnum() for c in page.text) > sum(c.isalnum() for c in out[number - 1].text):
            out[number - 1] = page
    return out, ""


def _renderer(pdf, number: int, dpi: int):
    def render():
        with _PDFIUM:
            page = pdf[number - 1]
            try:
                width, height = page.get_size()
                scale = min(dpi / 72, (MAX_PIXELS / max(1.0, width * height)) ** 0.5)
                image = page.render(scale=scale, grayscale=True).to_pil()
                image.info["dpi"] = (72 * scale, 72 * scale)
                return image
            finally:
                page.close()
    return render


IMAGE_LIMIT_PIXELS = 200_000_000  # larger images are refused (PIL's decompression-bomb guard)


def load_image(path: Path, max_pages: int, ocr: OcrOptions, on_page: PageProgress | None = None) -> LoadedDocument:
    """An image file (one page per frame of a multi-page TIFF), read by OCR."""
    from PIL import Image, UnidentifiedImageError

    try:
        check_available(ocr)
    except OcrUnavailableError as exc:
        raise LoadError(path, f"an image can only be read by OCR: {exc}") from None
    Image.MAX_IMAGE_PIXELS = IMAGE_LIMIT_PIXELS
    try:
        with Image.open(path) as image:
            frames = getattr(image, "n_frames", 1)
            image.load()  # a truncated or corrupt file fails here, not in an OCR thread
    except Image.DecompressionBombError:
        raise LoadError(path, f"image is over {IMAGE_LIMIT_PIXELS // 1_000_000} megapixels") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise LoadError(path, f"not a readable image ({short(exc)})") from None
    if frames > max_pages:
        raise LoadError(path, f"too many pages ({frames}; the limit is {max_pages})")
    read = ocr_images([(n, _frame_reader(path, n)) for n in range(1, frames + 1)], ocr, on_page)
    pages = [read.get(n, Page(n, "")) for n in range(1, frames + 1)]
    doc = LoadedDocument(path=str(path), kind="image", title=None, pages=pages)
    if doc.text_pages == 0:
        raise LoadError(path, "no text found in the image")
    return doc


def _frame_reader(path: Path, number: int):
    """Reads frame `number` (1-based) when called: only the frames being read are in memory."""
    def read():
        from PIL import Image

        with Image.open(path) as image:
            image.seek(number - 1)
            frame = image.convert("L")
            frame.info["dpi"] = image.info.get("dpi", (0, 0))
            return frame
    return read


def _pypdf_title(reader) -> str | None:
    try:
        title = reader.metadata.title if reader.metadata else None
    except Exception:
        return None
    title = normalize_text(str(title)) if title else ""
    return title or None


def short(exc: Exception, limit: int = 120) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:limit]


def ranges(numbers: list[int]) -> str:
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
