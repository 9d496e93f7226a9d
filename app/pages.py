"""Show a source where it came from: a PDF page as an image with the chunk highlighted, or the text around it."""

from __future__ import annotations

import html
import logging
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path

from ingest.types import WordBox
from retrieval.tokenize import STOPWORDS

logger = logging.getLogger(__name__)

_WORD = re.compile(r"\w+")


def page_count(pdf_path: str | Path) -> int:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(pdf_path))
    try:
        return len(pdf)
    finally:
        pdf.close()


def render_page(pdf_path: str | Path, page: int, highlight: str | None = None, scale: float = 1.5,
                words: Sequence[WordBox] | None = None):
    """(PIL image of 1-based `page`, whether the passage was found and marked). The passage is `highlight` found
    in the page's text layer, or, for a page read by OCR, the boxes of its `words`."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(pdf_path))
    try:
        if not 1 <= page <= len(pdf):
            raise ValueError(f"{Path(pdf_path).name} has {len(pdf)} pages; page {page} does not exist")
        pdf_page = pdf[page - 1]
        image = pdf_page.render(scale=scale).to_pil().convert("RGB")
        width, height = pdf_page.get_size()
        if words:
            rects = [(l * image.width, t * image.height, r * image.width, b * image.height)
                     for l, t, r, b in word_lines(words)]
        elif highlight:
            rects = [(left * scale, (height - top) * scale, right * scale, (height - bottom) * scale)
                     for left, bottom, right, top in _highlight_boxes(pdf_page, highlight)]
        else:
            rects = []
        return _marked(image, rects), bool(rects)
    finally:
        pdf.close()


def render_image(path: str | Path, page: int, words: Sequence[WordBox] | None = None, max_side: int = 1600):
    """(PIL image of frame `page` of an image file, scaled to at most `max_side` pixels, whether `words` were
    marked)."""
    from PIL import Image, ImageSequence

    with Image.open(path) as source:
        frames = getattr(source, "n_frames", 1)
        if not 1 <= page <= frames:
            raise ValueError(f"{Path(path).name} has {frames} pages; page {page} does not exist")
        image = next(f for i, f in enumerate(ImageSequence.Iterator(source), 1) if i == page).convert("RGB")
    image.thumbnail((max_side, max_side))
    rects = [(l * image.width, t * image.height, r * image.width, b * image.height)
             for l, t, r, b in word_lines(words or [])]
    return _marked(image, rects), bool(rects)


def word_lines(words: Sequence[WordBox]) -> list[tuple[float, float, float, float]]:
    """One (left, top, right, bottom) box per run of words on the same line, as fractions of the page."""
    lines: list[list[float]] = []
    for w in words:
        last = lines[-1] if lines else None
        middle = (w.top + w.bottom) / 2
        if last and last[1] <= middle <= last[3] and w.left >= last[0]:
            last[1], last[2], last[3] = min(last[1], w.top), max(last[2], w.right), max(last[3], w.bottom)
        else:
            lines.append([w.left, w.top, w.right, w.bottom])
    return [tuple(line) for line in lines]


def _marked(image, rects):
    """`image` with translucent yellow over each (left, top, right, bottom) pixel rectangle."""
    if not rects:
        return image
    from PIL import Image, ImageDraw

    overlay = image.copy()
    draw = ImageDraw.Draw(overlay)
    for left, top, right, bottom in rects:
        draw.rectangle([left, top, right, bottom], fill=(255, 225, 0))
    return Image.blend(image, overlay, 0.35)


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


# A query word as written: letters/digits, joined by - _ . / : ' into codes like E-104, SK-220 or v2.1.
_QUERY_TOKEN = re.compile(r"[^\W_]+(?:[-_./:'’][^\W_]+)*")
_JOINERS = re.compile(r"[-_./:'’]")
_DASHES = "-‐‑–"  # PDFs print a code's hyphen as any of these
_DASH_CLASS = "[" + re.escape(_DASHES) + "]"
_ENTITY = r"&(?:[a-zA-Z]+|#[0-9]+|#[xX][0-9a-fA-F]+);"


def _has_digit(word: str) -> bool:
    return any(ch.isdigit() for ch in word)


def _highlightable(term: str) -> bool:
    """Not a stop word, and 3+ characters unless a code with a digit (E1, 7B, 42)."""
    return bool(term) and term not in STOPWORDS and (len(term) > 2 or _has_digit(term))


def query_terms(query: str) -> list[str]:
    """The query's words worth marking in a source: case-folded, stop words and 1-2 letter words dropped, codes
    (E-104, SK-220) kept whole, a hyphenated word also by its parts; in order, without repeats."""
    out: list[str] = []
    for match in _QUERY_TOKEN.finditer(unicodedata.normalize("NFKC", query).casefold()):
        token = match.group()
        if token.endswith(("'s", "’s")):
            token = token[:-2]
        if _has_digit(token) or not _JOINERS.search(token):
            candidates = [token]
        elif "-" in token:  # follow-up: the word as written and its parts
            candidates = [token, *token.split("-")]
        else:  # and/or, harborlane.example, don't: the parts
            candidates = [p for p in _JOINERS.split(token) if p]
        for term in candidates:
            if _highlightable(term) and term not in out:
                out.append(term)
    return out


def _word_forms(term: str) -> set[str]:
    """`term` and its simple inflections (days: day, days; closed: close, closes, closing), for whole-word matching.
    Codes and words with digits match only as written."""
    if _has_digit(term):
        return {term}
    bases = {term}
    n = len(term)
    if term.endswith("ies") and n > 4:
        bases.add(term[:-3] + "y")
    elif term.endswith("es") and n > 4:
        bases |= {term[:-2], term[:-1]}
    elif term.endswith("s") and not term.endswith(("ss", "us", "is")) and n > 3:
        bases.add(term[:-1])
    if term.endswith("ied") and n > 4:
        bases.add(term[:-3] + "y")
    elif term.endswith("ed") and n > 4:
        bases |= {term[:-2], term[:-1]}
    if term.endswith("ing") and n > 5:
        bases |= {term[:-3], term[:-3] + "e"}
    for base in list(bases):  # stopped -> stopp -> stop, running -> runn -> run
        if base != term and len(base) > 3 and base[-1] == base[-2] and base[-1] in "bdgmnprt":
            bases.add(base[:-1])
    forms: set[str] = {term}
    for base in bases:
        if len(base) < 3 or base in STOPWORDS:
            continue
        forms |= {base, base + "s", base + "ed", base + "ing"}
        if base.endswith(("s", "x", "z", "ch", "sh", "o")):
            forms.add(base + "es")
        if base.endswith("e"):
            forms |= {base + "d", base[:-1] + "ing"}
        if base.endswith("y") and base[-2] not in "aeiou":
            forms |= {base[:-1] + "ies", base[:-1] + "ied"}
    return forms


def _form_pattern(form: str) -> str:
    """Regex for `form` inside already-escaped text: each character escaped as html.escape would, any dash for -."""
    return "".join(_DASH_CLASS if ch in _DASHES else re.escape(html.escape(ch)) for ch in form)


def highlight_terms(text: str, terms: list[str]) -> str:
    """Escaped `text` with the query's words marked: whole words only (case-insensitive, simple plurals and
    inflections), never stop words, 1-2 letter words only if they have a digit. Marks never split an entity."""
    escaped = html.escape(text)
    forms: set[str] = set()
    for term in terms:
        term = unicodedata.normalize("NFKC", term).casefold()
        if _highlightable(term):
            forms |= _word_forms(term)
    if not forms:
        return escaped
    alternatives = "|".join(_form_pattern(f) for f in sorted(forms, key=lambda f: (-len(f), f)))
    # Entities are matched first and copied through, so a term like "amp" or "x27" can never mark inside one.
    pattern = re.compile(rf"(?P<entity>{_ENTITY})|(?<!\w)(?P<term>{alternatives})(?!\w)", re.IGNORECASE)
    return pattern.sub(lambda m: m.group("entity") or f"<mark>{m.group('term')}</mark>", escaped)


# A line that starts a list item or a table row keeps its line break before it.
_BLOCK_START = re.compile(r"\s*(?:[-*+–]\s|[•▪◦‣·]|\d+(?:\.\d+)*[.)](?:\s|$)|\|)")


def reflow(text: str) -> str:
    """`text` with PDF line wrapping undone, for reading: a line break inside a paragraph becomes a space, a word
    hyphenated at line end is joined ("exam-\\nple" -> "example") when the next line starts lower-case; blank lines
    (paragraph breaks), list items ("-", "•", "*", "1.") and table rows ("|") keep their own lines. Display only:
    chunk text, spans and page highlights are computed on the original."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out = lines[0] if lines else ""
    for prev, line in zip(lines, lines[1:]):
        if (not prev.strip() or not line.strip() or _BLOCK_START.match(line)
                or prev.lstrip().startswith("|") or prev.rstrip().endswith("|")):
            out += "\n" + line
            continue
        head, tail = out.rstrip(), line.lstrip()
        if re.search(r"[^\W\d_]-$", head) and tail[0].islower():  # exam-\nple -> example
            out = head[:-1] + tail
        elif re.search(r"\w-$", head) and not tail[0].isspace():  # SK-\n220, Jean-\nPierre: keep the hyphen
            out = head + tail
        else:
            out = head + " " + tail
    return out
