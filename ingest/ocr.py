"""Optical character recognition of page images with Tesseract (the Debian `tesseract-ocr` package).

Chosen by `benchmarks/ocr.py` over RapidOCR (PP-OCR models, pip-only): on generated 300 dpi pages Tesseract read
with a character error rate under 1% against 16% (RapidOCR drops and merges words in English prose) and was
faster. Tesseract runs as a subprocess, one thread each (OpenMP threads fight over 2 cores and made a page
6x slower), several pages at a time.
"""

from __future__ import annotations

import io
import logging
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ingest.normalize import normalize_text
from ingest.types import Page, WordBox

logger = logging.getLogger(__name__)

UNSURE = 60.0  # mean word confidence below which the page may lie on its side (upright text scores 85-95)
MAX_PIXELS = 40_000_000  # a page image above this is scaled down (an A0 poster at 300 dpi is 140 Mpx)


@dataclass(frozen=True)
class OcrOptions:
    """How pages without a text layer are read. `workers=0`: one Tesseract per CPU core."""

    enabled: bool = True
    languages: str = "eng"  # Tesseract language codes joined by "+", e.g. "eng+deu"
    # Resolution pages are read at: PDF pages are rendered at it, finer images scaled down to it. Measured by
    # benchmarks/ocr.py on 300 dpi scans: 225 reads as well as 300 (0.14% vs 0.17% CER) in 30% less time.
    dpi: int = 225
    min_chars: int = 20  # a PDF page with fewer letters or digits than this is read by OCR
    page_timeout_s: float = 60.0
    workers: int = 0
    binary: str = "tesseract"


class OcrUnavailableError(RuntimeError):
    """OCR was needed but is switched off or Tesseract is not installed; the message says which, and starts with
    "OCR" (ingest.pdf.stored_without_ocr reads it back from a document's warnings)."""


def tesseract_path(options: OcrOptions) -> str | None:
    return shutil.which(options.binary)


def check_available(options: OcrOptions) -> str:
    """The Tesseract executable, or OcrUnavailableError with the reason."""
    if not options.enabled:
        raise OcrUnavailableError("OCR is switched off (ASKDOCS_OCR=false)")
    binary = tesseract_path(options)
    if binary is None:
        raise OcrUnavailableError(f"OCR needs Tesseract, which is not installed ('{options.binary}' not found; "
                                  "install the tesseract-ocr package)")
    return binary


def needs_ocr(text: str, options: OcrOptions) -> bool:
    return sum(ch.isalnum() for ch in text) < options.min_chars


def ocr_images(images: Sequence[tuple[int, Callable[[], object]]], options: OcrOptions,
               on_page: Callable[[int, int], None] | None = None) -> dict[int, Page]:
    """{page number: Page} for each (page number, function returning a PIL image) — rendered lazily, so only
    `workers` page images are in memory at once. A page that fails or times out is left out (logged)."""
    binary = check_available(options)
    workers = options.workers or os.cpu_count() or 1
    pages: dict[int, Page] = {}
    done = 0

    def one(item):
        number, render = item
        try:
            return number, ocr_image(render(), options, binary, number)
        except (subprocess.TimeoutExpired, OSError, RuntimeError, ValueError) as exc:
            logger.warning("OCR of page %d failed: %s", number, exc)
            return number, None

    with ThreadPoolExecutor(max_workers=min(workers, max(1, len(images)))) as pool:
        for number, page in pool.map(one, images):
            done += 1
            if page is not None:
                pages[number] = page
            if on_page:
                on_page(done, len(images))
    return pages


def ocr_image(image, options: OcrOptions, binary: str | None = None, number: int = 1) -> Page:
    """The text of one page image with the box of every word (fractions of the image); turned upright first
    when the words came out unsure and Tesseract's orientation detection says the page lies on its side.
    The image's resolution is read from `image.info["dpi"]` where the file states it."""
    binary = binary or check_available(options)
    image, dpi = _prepared(image, options.dpi)
    page, confidence = _recognise(image, options, binary, number, dpi)
    if confidence < UNSURE:
        angle = _orientation(image, options, binary, dpi)
        if angle:
            turned, turned_confidence = _recognise(image.rotate(-angle, expand=True), options, binary, number, dpi)
            if turned_confidence > confidence:
                return turned
    return page


def _prepared(image, target_dpi: int) -> tuple[object, int | None]:
    """(greyscale image at no more than `target_dpi` and MAX_PIXELS, its resolution when known)."""
    from PIL import Image

    try:
        dpi = int(round(float(image.info.get("dpi", (0, 0))[0]))) or None
    except (TypeError, ValueError, IndexError):
        dpi = None
    image = image.convert("L")
    scale = min(1.0, (MAX_PIXELS / (image.width * image.height)) ** 0.5, target_dpi / dpi if dpi else 1.0)
    if scale < 0.98:
        image = image.resize((max(1, int(image.width * scale)), max(1, int(image.height * scale))), Image.LANCZOS)
        dpi = int(dpi * scale) if dpi else None
    return image, dpi


def _run(args: list[str], image, options: OcrOptions) -> str:
    buffer = io.BytesIO()
    image.save(buffer, "PPM")  # uncompressed: 50 ms against 1 s for PNG
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    done = subprocess.run(args, input=buffer.getvalue(), capture_output=True, timeout=options.page_timeout_s,
                          env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"tesseract exited with {done.returncode}: {done.stderr.decode(errors='replace')[:200]}")
    return done.stdout.decode("utf-8", errors="replace")


def _recognise(image, options: OcrOptions, binary: str, number: int, dpi: int | None) -> tuple[Page, float]:
    """(page, mean word confidence 0..100; 0 without words)."""
    # tessedit_do_invert=0: no second pass for white-on-black text (-16% time; scans are dark on light)
    tsv = _run([binary, "stdin", "stdout", "-l", options.languages, *_dpi_args(dpi), "--psm", "3",
                "-c", "tessedit_do_invert=0", "tsv"], image, options)
    page = page_from_tsv(tsv, image.width, image.height, number)
    scores = [float(cols[10]) for cols in (row.split("\t") for row in tsv.splitlines()[1:])
              if len(cols) >= 12 and cols[0] == "5" and cols[11].strip()]
    return page, sum(scores) / len(scores) if scores else 0.0


_ROTATE = re.compile(r"Rotate:\s*(\d+)")


def _dpi_args(dpi: int | None) -> list[str]:
    return ["--dpi", str(dpi)] if dpi else []  # unknown: Tesseract estimates it from the text size


def _orientation(image, options: OcrOptions, binary: str, dpi: int | None) -> int:
    """Degrees to turn the image clockwise so its text stands upright (0 when unsure)."""
    try:
        out = _run([binary, "stdin", "stdout", *_dpi_args(dpi), "--psm", "0"], image, options)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:  # too little text to tell: keep the page as it is
        logger.debug("orientation detection failed: %s", exc)
        return 0
    match = _ROTATE.search(out)
    return int(match.group(1)) % 360 if match else 0


def page_from_tsv(tsv: str, width: int, height: int, number: int = 1) -> Page:
    """Page text from Tesseract's TSV: words of a line joined by spaces, lines by newlines, paragraphs by a blank
    line; each word keeps its character span and its box as fractions of the image."""
    parts: list[str] = []
    words: list[WordBox] = []
    length = 0
    previous = None  # (block, paragraph, line) of the last word
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5":
            continue
        word = normalize_text(cols[11])
        if not word or " " in word or "\n" in word:
            continue
        block, par, line = cols[2], cols[3], cols[4]
        left, top, w, h = (int(c) for c in cols[6:10])
        if previous is not None:
            sep = " " if previous == (block, par, line) else "\n" if previous[:2] == (block, par) else "\n\n"
            parts.append(sep)
            length += len(sep)
        previous = (block, par, line)
        parts.append(word)
        words.append(WordBox(length, length + len(word), left / width, top / height, (left + w) / width,
                             (top + h) / height))
        length += len(word)
    return Page(number, "".join(parts), tuple(words), ocr=True)
