"""Show a source where it came from: a PDF page as an image with the chunk highlighted, or the text around it."""

from __future__ import annotations

import html
import logging
import re
from pathlib import Path

logger = logging.getLogger(__name__)

_WORD = re.compile(r"\w+")


def page_count(pdf_path: str | Path) -> int:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(pdf_path))
    try:
        return len(pdf)
    finally:
        pdf.close()


def render_page(pdf_path: str | Path, page: int, highlight: str | None = None, scale: float = 1.5):
    """(PIL image of 1-based `page`, whether `highlight` was found and marked)."""
    import pypdfium2 as pdfium
    from PIL import ImageDraw

    pdf = pdfium.PdfDocument(str(pdf_path))
    try:
        if not 1 <= page <= len(pdf):
            raise ValueError(f"{Path(pdf_path).name} has {len(pdf)} pages; page {page} does not exist")
        pdf_page = pdf[page - 1]
        image = pdf_page.render(scale=scale).to_pil().convert("RGB")
        boxes = _highlight_boxes(pdf_page, highlight) if highlight else []
        if boxes:
            _, height = pdf_page.get_size()
            overlay = image.copy()
            draw = ImageDraw.Draw(overlay)
            for left, bottom, right, top in boxes:
                draw.rectangle([left * scale, (height - top) * scale, right * scale, (height - bottom) * scale],
                               fill=(255, 225, 0))
            from PIL import Image

            image = Image.blend(image, overlay, 0.35)
        return image, bool(boxes)
    finally:
        pdf.close()


def _highlight_boxes(pdf_page, text: str) -> list[tuple[float, float, float, float]]:
    """Character boxes of `text` on the page, matched word by word (pdfium and pypdf space text differently)."""
    textpage = pdf_page.get_textpage()
    full = textpage.get_text_range()
    words = [(m.start(), m.end(), m.group().lower()) for m in _WORD.finditer(full)]
    target = [w.lower() for w in _WORD.findall(text)]
    if not words or not target:
        return []
    start = _find(words, target[:8]) if len(target) >= 3 else None
    end = _find(words, target[-8:], start or 0) if start is not None else None
    if start is None:
        return []
    end = end + min(8, len(target)) - 1 if end is not None else min(len(words) - 1, start + len(target) - 1)
    first, last = words[start][0], words[end][1]
    boxes = []
    for i in range(first, min(last, textpage.count_chars())):
        box = textpage.get_charbox(i)
        if box[2] > box[0]:
            boxes.append(box)
    return _merge_lines(boxes)


def _find(words, needle: list[str], from_index: int = 0) -> int | None:
    tokens = [w[2] for w in words]
    n = len(needle)
    for i in range(from_index, len(tokens) - n + 1):
        if tokens[i : i + n] == needle:
            return i
    return None


def _merge_lines(boxes):
    """One rectangle per run of characters on the same line."""
    merged = []
    for left, bottom, right, top in boxes:
        if merged and abs(merged[-1][1] - bottom) < 2 and left >= merged[-1][0] - 1:
            l, b, r, t = merged[-1]
            merged[-1] = (l, min(b, bottom), max(r, right), max(t, top))
        else:
            merged.append((left, bottom, right, top))
    return merged


def context_html(page_text: str, start: int, end: int, margin: int = 600) -> str:
    """The chunk inside its surrounding text, marked; everything escaped (document text is never markup)."""
    lo, hi = max(0, start - margin), min(len(page_text), end + margin)
    before, chunk, after = page_text[lo:start], page_text[start:end], page_text[end:hi]
    return ('<div class="askdocs-context">' + ("…" if lo else "") + html.escape(before)
            + f"<mark>{html.escape(chunk)}</mark>" + html.escape(after) + ("…" if hi < len(page_text) else "")
            + "</div>")


def highlight_terms(text: str, terms: list[str]) -> str:
    """Escaped `text` with the query's words marked."""
    escaped = html.escape(text)
    words = sorted({t for t in terms if len(t) > 2}, key=len, reverse=True)
    if not words:
        return escaped
    pattern = re.compile(r"\b(" + "|".join(re.escape(html.escape(w)) for w in words) + r")", re.IGNORECASE)
    return pattern.sub(r"<mark>\1</mark>", escaped)
