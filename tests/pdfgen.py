"""A tiny PDF writer for tests and the sample data: real PDFs with known text on known pages."""

from __future__ import annotations

import textwrap


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


FONTS = ("Helvetica", "Times-Roman", "Courier", "Helvetica-Bold")  # standard fonts every viewer has


def make_pdf(pages: list[str], title: str | None = None, width: int = 90, page_extra: str = "",
             font: str = "Helvetica", size: float = 11) -> bytes:
    """One PDF page per string; paragraphs (blank-line separated) are wrapped at `width` characters.
    `page_extra` is added to every page dictionary (e.g. a huge array to trip a parser's safety limits)."""
    streams = []
    for text in pages:
        lines: list[str] = []
        for para in text.split("\n\n"):
            lines.extend(textwrap.wrap(" ".join(para.split()), width) or [""])
            lines.append("")
        ops = ["BT", f"/F{FONTS.index(font) + 1} {size:g} Tf", f"{size * 1.3:g} TL", "72 760 Td"]
        ops += [f"({_escape(line)}) Tj T*" for line in lines]
        ops.append("ET")
        streams.append("\n".join(ops))
    return make_pdf_streams(streams, title, page_extra)


def text_at(x: float, y: float, text: str, font: str = "Helvetica", size: float = 11) -> str:
    """Content-stream operators that print `text` with its baseline starting at (x, y) points."""
    return f"BT /F{FONTS.index(font) + 1} {size:g} Tf {x:g} {y:g} Td ({_escape(text)}) Tj ET"


def make_pdf_streams(streams: list[str], title: str | None = None, page_extra: str = "") -> bytes:
    """A PDF with one Letter page per content stream; fonts F1..F4 are FONTS."""
    objects: list[bytes] = []

    def add(body: str | bytes) -> int:
        objects.append(body.encode("latin-1") if isinstance(body, str) else body)
        return len(objects)

    catalog = add("")  # placeholders filled below
    pages_obj = add("")
    fonts = [add(f"<< /Type /Font /Subtype /Type1 /BaseFont /{name} /Encoding /WinAnsiEncoding >>")
             for name in FONTS]
    resources = " ".join(f"/F{i} {ref} 0 R" for i, ref in enumerate(fonts, 1))
    kids = []
    for ops in streams:
        stream = ops.encode("latin-1", "replace")
        content = add(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        kids.append(add(f"<< /Type /Page /Parent {pages_obj} 0 R /MediaBox [0 0 612 792] "
                        f"/Resources << /Font << {resources} >> >> /Contents {content} 0 R {page_extra}>>"))
    objects[catalog - 1] = f"<< /Type /Catalog /Pages {pages_obj} 0 R >>".encode()
    objects[pages_obj - 1] = (f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] "
                              f"/Count {len(kids)} >>").encode()
    info = add(f"<< /Title ({_escape(title)}) /Producer (askdocs tests) >>" if title else "<< >>")

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root {catalog} 0 R /Info {info} 0 R >>\n"
            f"startxref\n{xref}\n%%EOF\n").encode()
    return bytes(out)
