"""Slides and spreadsheets: .pptx (one page per slide, notes included), .xlsx and .csv (one page per sheet).

A sheet row is written as one line that names its columns ("Region: EMEA | Revenue: 1,200"): the chunker splits
on line ends, so a row is never cut in half, and every chunk keeps the column names of its values.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import zipfile
from collections.abc import Iterable
from pathlib import Path

from ingest.errors import LoadError
from ingest.normalize import normalize_text
from ingest.types import LoadedDocument, Page

logger = logging.getLogger(__name__)

MAX_CELLS = 2_000_000  # per workbook; a larger sheet is data, not a document to ask questions of


def load_pptx(path: Path) -> LoadedDocument:
    from pptx import Presentation
    from pptx.exc import PackageNotFoundError

    try:
        deck = Presentation(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise LoadError(path, f"corrupt PowerPoint file ({type(exc).__name__})") from None
    pages = []
    for number, slide in enumerate(deck.slides, 1):
        lines = []
        for shape in _shapes(slide.shapes):
            if getattr(shape, "has_text_frame", False) and shape.has_text_frame:
                lines.extend(p.text for p in shape.text_frame.paragraphs if p.text.strip())
            if getattr(shape, "has_table", False) and shape.has_table:
                lines.extend(" | ".join(cell.text.strip() for cell in row.cells) for row in shape.table.rows)
        if slide.has_notes_slide:
            notes = slide.notes_slide.notes_text_frame.text.strip() if slide.notes_slide.notes_text_frame else ""
            if notes:
                lines += ["", f"Notes: {notes}"]
        pages.append(Page(number, normalize_text("\n".join(lines))))
    if not pages:
        raise LoadError(path, "the presentation has no slides")
    title = (deck.core_properties.title or "").strip() or None
    return _checked(LoadedDocument(path=str(path), kind="pptx", title=title, pages=pages), "no text found on any slide")


def _shapes(shapes) -> Iterable:
    """Shapes in reading order (top to bottom, left to right), groups opened."""
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    ordered = sorted(shapes, key=lambda s: ((s.top or 0) // 100_000, s.left or 0))
    for shape in ordered:
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            yield from _shapes(shape.shapes)
        else:
            yield shape


def load_xlsx(path: Path) -> LoadedDocument:
    import openpyxl

    try:
        book = openpyxl.load_workbook(str(path), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise LoadError(path, f"corrupt Excel file ({type(exc).__name__})") from None
    except Exception as exc:  # openpyxl raises its own types on broken workbooks
        raise LoadError(path, f"unreadable Excel file ({type(exc).__name__}: {str(exc)[:100]})") from None
    pages, cells = [], 0
    try:
        for number, sheet in enumerate(book.worksheets, 1):
            rows = []
            for row in sheet.iter_rows(values_only=True):
                cells += len(row)
                if cells > MAX_CELLS:
                    raise LoadError(path, f"workbook has over {MAX_CELLS:,} cells")
                rows.append([_cell(v) for v in row])
            pages.append(Page(number, table_text(sheet.title, rows)))
        props = book.properties
        title = ((props.title or "").strip() if props else "") or None
    finally:
        book.close()
    if not pages:
        raise LoadError(path, "the workbook has no sheets")
    return _checked(LoadedDocument(path=str(path), kind="xlsx", title=title, pages=pages), "every sheet is empty")


def load_csv(path: Path, raw: str) -> LoadedDocument:
    sample = raw[:20_000]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows = []
    try:
        for row in csv.reader(io.StringIO(raw), dialect):
            rows.append([c.strip() for c in row])
            if len(rows) * max(1, len(row)) > MAX_CELLS:
                raise LoadError(path, f"file has over {MAX_CELLS:,} cells")
    except csv.Error as exc:
        raise LoadError(path, f"malformed CSV ({exc})") from None
    page = Page(1, table_text(None, rows))
    return _checked(LoadedDocument(path=str(path), kind="csv", title=None, pages=[page]), "no values found")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def table_text(name: str | None, rows: list[list[str]]) -> str:
    """A sheet as text: its name, its column names, then one line per row naming the column of each value.
    The header is the first row with at least two values; rows above it are kept as plain lines."""
    rows = [r for r in rows if any(c for c in r)]
    if not rows:
        return ""
    header_at = next((i for i, r in enumerate(rows) if sum(1 for c in r if c) >= 2), None)
    lines = [f"Sheet: {name}"] if name else []
    if header_at is None:
        return normalize_text("\n".join(lines + [" | ".join(c for c in r if c) for r in rows]))
    header = [c or f"Column {i + 1}" for i, c in enumerate(rows[header_at])]
    lines += [" | ".join(c for c in r if c) for r in rows[:header_at]]
    lines.append("Columns: " + " | ".join(header))
    for row in rows[header_at + 1 :]:
        cells = [f"{header[i] if i < len(header) else f'Column {i + 1}'}: {c}" for i, c in enumerate(row) if c]
        lines.append(" | ".join(cells))
    return normalize_text("\n".join(lines))


def _checked(doc: LoadedDocument, empty_reason: str) -> LoadedDocument:
    if doc.text_pages == 0:
        raise LoadError(doc.path, empty_reason)
    return doc
