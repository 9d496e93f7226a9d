"""Build real test files of every kind, good and bad."""

from __future__ import annotations

import io
from pathlib import Path

import pypdf

from tests.pdfgen import make_pdf

PAGES = [
    "Alpha page. The SK-220 arm carries a payload of twelve kilograms.\n\nIts reach is 1,300 millimetres.",
    "Beta page. Error E-104 means the two encoders of a joint disagree.",
    "Gamma page. The warranty lasts thirty-six months from delivery.",
]


def write_pdf(path: Path, pages: list[str] = PAGES, title: str | None = "Test Manual") -> Path:
    path.write_bytes(make_pdf(pages, title=title))
    return path


def write_encrypted_pdf(path: Path, password: str = "secret") -> Path:
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(make_pdf(PAGES)))
    writer.encrypt(user_password=password, owner_password=password, algorithm="AES-128")
    with path.open("wb") as fh:
        writer.write(fh)
    return path


def write_textless_pdf(path: Path, pages: int = 2) -> Path:
    """Pages with nothing but a drawn rectangle, as a scanned page looks to a text extractor."""
    writer = pypdf.PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(612, 792)
    buf = io.BytesIO()
    writer.write(buf)
    path.write_bytes(buf.getvalue())
    return path


def write_corrupt_pdf(path: Path) -> Path:
    data = make_pdf(PAGES)
    path.write_bytes(data[:40] + b"\x00garbage" * 50)
    return path


def write_slow_pdf(path: Path, operations: int = 400_000) -> Path:
    """One page whose content stream has so many text operations that extraction takes seconds."""
    path.write_bytes(make_pdf(["word " * operations], width=6))
    return path


def write_docx(path: Path, paragraphs: list[str], table: list[list[str]] | None = None,
               title: str | None = None) -> Path:
    import docx

    document = docx.Document()
    if title:
        document.core_properties.title = title
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        t = document.add_table(rows=len(table), cols=len(table[0]))
        for row, values in zip(t.rows, table):
            for cell, value in zip(row.cells, values):
                cell.text = value
    document.save(str(path))
    return path


def render_pages(pages: list[str], dpi: int = 200) -> list:
    """The pages of a generated text PDF as greyscale images, as a scanner would give them."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(make_pdf(pages))
    try:
        return [pdf[i].render(scale=dpi / 72, grayscale=True).to_pil().convert("L") for i in range(len(pdf))]
    finally:
        pdf.close()


def write_scanned_pdf(path: Path, pages: list[str] = PAGES, dpi: int = 200) -> Path:
    """A PDF of page images only (no text layer): what a scanner produces."""
    images = render_pages(pages, dpi)
    images[0].save(path, "PDF", resolution=dpi, save_all=True, append_images=images[1:])
    return path


def write_limit_pdf(path: Path, limit: str = "array", pages: list[str] = PAGES) -> Path:
    """A valid PDF that trips one of pypdf's safety limits: a page dictionary holding an array of 100,001
    numbers, or a dictionary of 100,001 entries (viewers open both)."""
    extra = {
        "array": "/PieceInfo << /Big [" + "0 " * 100_001 + "] >> ",
        "dict": "/PieceInfo << " + "".join(f"/K{i} 0 " for i in range(100_001)) + ">> ",
    }[limit]
    path.write_bytes(make_pdf(pages, page_extra=extra))
    return path


def write_pptx(path: Path, slides: list[tuple[str, str, str]], title: str | None = None) -> Path:
    """One slide per (title, body, speaker notes)."""
    from pptx import Presentation

    deck = Presentation()
    if title:
        deck.core_properties.title = title
    for heading, body, notes in slides:
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = heading
        slide.placeholders[1].text = body
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
    deck.save(str(path))
    return path


def write_xlsx(path: Path, sheets: dict[str, list[list]]) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(str(path))
    return path
