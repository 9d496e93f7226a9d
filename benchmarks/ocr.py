"""OCR accuracy and speed on generated pages: render text PDFs to images as a scanner would, OCR them with the
product's path (ingest.ocr, one Tesseract per core), print character error rate (CER) and pages/s.

usage: python benchmarks/ocr.py [--dpi 150,300] [--pages N] [--json OUT]

Pages: prose in Helvetica 11 pt, Times 12 pt, Courier 10 pt, Helvetica 9 pt and Helvetica-Bold 14 pt, a table of
figures, a page scanned sideways (turned 90°) and one skewed 1.5°; each at every dpi, with a little noise
(grey-level jitter and specks). CER = edit distance / characters of the truth, whitespace collapsed.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingest.ocr import OcrOptions, ocr_images  # noqa: E402
from tests.pdfgen import make_pdf, make_pdf_streams, text_at  # noqa: E402

PROSE = (
    "Annual leave is 27 working days per calendar year for full-time employees; part-time staff receive a "
    "pro-rata share. Up to 5 unused days may be carried over until 31 March of the following year. Sick leave "
    "must be reported to your manager before 10:00 on the first day; from the fourth day a doctor's note is "
    "required. Travel expenses are reimbursed within 30 days of a complete claim: hotels up to EUR 180 per night "
    "in most cities (EUR 240 in London, Paris and Zurich), a per diem of EUR 42 for a full travel day and EUR 28 "
    "for a partial day. The SK-220 arm carries a payload of 12 kg at a reach of 1,300 mm; its repeatability is "
    "plus or minus 0.02 mm. Error E-104 means the two encoders of a joint disagree by more than 0.5 degrees. "
)
STYLES = [("Helvetica", 11, "prose-helvetica-11"), ("Times-Roman", 12, "prose-times-12"),
          ("Courier", 10, "prose-courier-10"), ("Helvetica", 9, "prose-helvetica-9"),
          ("Helvetica-Bold", 14, "prose-bold-14")]


def _prose(seed: int) -> str:
    rng = random.Random(seed)
    sentences = [s.strip() + "." for s in PROSE.split(". ") if s.strip()]
    rng.shuffle(sentences)
    return " ".join(s.rstrip(".") + "." for s in sentences * 2)


def _table() -> tuple[str, str]:
    """(content stream, truth) of a table of quarterly figures: a header row and 12 rows of 5 columns."""
    header = ["Region", "Q1 2026", "Q2 2026", "Q3 2026", "Change"]
    rng = random.Random(7)
    rows = [header] + [[name] + [f"{rng.randint(100, 9999):,}" for _ in range(3)] + [f"{rng.uniform(-9, 15):+.1f}%"]
                       for name in ("North America", "Latin America", "Western Europe", "Eastern Europe", "Nordics",
                                    "Middle East", "Africa", "India", "China", "Japan", "Korea", "Oceania")]
    ops, y = [text_at(72, 740, "Table 3: Revenue by region (EUR thousand)", "Helvetica-Bold", 12)], 710
    for row in rows:
        for x, cell in zip((72, 220, 310, 400, 490), row):
            ops.append(text_at(x, y, cell, "Helvetica-Bold" if row is header else "Helvetica", 10))
        y -= 22
    truth = "Table 3: Revenue by region (EUR thousand) " + " ".join(" ".join(r) for r in rows)
    return "\n".join(ops), truth


def _truth(pdf_bytes: bytes) -> list[str]:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(pdf_bytes)
    try:
        return [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
    finally:
        pdf.close()


def pages(count: int) -> list[tuple[str, bytes, str, int]]:
    """(name, one-page PDF, truth text, degrees the scan is turned / 10 x skew)."""
    out = []
    for i, (font, size, name) in enumerate(STYLES[:count]):
        per_char = 0.6 if font == "Courier" else 0.52  # average glyph width / font size
        pdf = make_pdf([_prose(i)], font=font, size=size, width=int(468 / (per_char * size)))  # 6.5 in of text
        out.append((name, pdf, _truth(pdf)[0], 0))
    stream, truth = _table()
    out.append(("table", make_pdf_streams([stream]), truth, 0))
    pdf = make_pdf([_prose(9)])
    out.append(("scanned-sideways", pdf, _truth(pdf)[0], 90))
    out.append(("skewed-1.5deg", pdf, _truth(pdf)[0], 15))
    return out


def scan(pdf_bytes: bytes, dpi: int, turn: int, seed: int):
    """The page as a noisy greyscale scan."""
    import pypdfium2 as pdfium
    from PIL import Image

    pdf = pdfium.PdfDocument(pdf_bytes)
    image = pdf[0].render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
    pdf.close()
    if turn == 90:
        image = image.rotate(90, expand=True)
    elif turn:
        image = image.rotate(turn / 10, expand=True, fillcolor=255, resample=Image.BICUBIC)
    rng = np.random.default_rng(seed)
    pixels = np.asarray(image, dtype=np.float32)
    pixels += rng.normal(0, 12, pixels.shape)  # sensor noise
    specks = rng.random(pixels.shape) < 0.0005  # dust
    pixels[specks] = 0
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    image.info["dpi"] = (dpi, dpi)  # as a scanner writes it into the file
    return image


def cer(truth: str, seen: str) -> float:
    """Levenshtein distance / len(truth), whitespace collapsed; one numpy row per character of `truth`."""
    a, b = " ".join(truth.split()), " ".join(seen.split())
    if not a:
        return float(bool(b))
    codes = np.frombuffer(b.encode("utf-32-le"), dtype=np.uint32)
    steps = np.arange(len(b) + 1)
    previous = steps.copy()
    for i, ch in enumerate(a, 1):
        substitute = previous[:-1] + (codes != ord(ch))
        current = np.empty_like(previous)
        current[0] = i
        current[1:] = np.minimum(previous[1:] + 1, substitute)
        current = np.minimum.accumulate(current - steps) + steps  # insertions, left to right
        previous = current
    return float(previous[-1]) / len(a)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dpi", default="150,300")
    parser.add_argument("--pages", type=int, default=len(STYLES), help="prose styles to use (1-5)")
    parser.add_argument("--ocr-dpi", type=int, help="resolution OCR reads at (default: the product's)")
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args()
    options = OcrOptions(**({"dpi": args.ocr_dpi} if args.ocr_dpi else {}))
    items = pages(args.pages)
    report = {"workers": options.workers or "one per core", "ocr_dpi": options.dpi, "dpi": {}}
    print(f"{'page':<20} " + " ".join(f"{d + ' dpi':>10}" for d in args.dpi.split(",")))
    rows = {name: [] for name, *_ in items}
    for dpi in (int(d) for d in args.dpi.split(",")):
        images = [scan(pdf, dpi, turn, seed) for seed, (_, pdf, _, turn) in enumerate(items)]
        started = time.perf_counter()
        read = ocr_images([(n, (lambda img=img: img)) for n, img in enumerate(images, 1)], options)
        elapsed = time.perf_counter() - started
        errors = {name: cer(truth, read[n].text if n in read else "")
                  for n, (name, _, truth, _) in enumerate(items, 1)}
        for name, value in errors.items():
            rows[name].append(value)
        total_chars = sum(len(" ".join(t.split())) for _, _, t, _ in items)
        pooled = sum(errors[name] * len(" ".join(t.split())) for name, _, t, _ in items) / total_chars
        report["dpi"][dpi] = {"cer": round(pooled, 4), "cer_median": round(statistics.median(errors.values()), 4),
                              "pages_per_s": round(len(items) / elapsed, 2), "seconds": round(elapsed, 1),
                              "pages": {k: round(v, 4) for k, v in errors.items()}}
    for name, values in rows.items():
        print(f"{name:<20} " + " ".join(f"{v:>10.2%}" for v in values))
    print(f"{'all (pooled CER)':<20} " + " ".join(f"{r['cer']:>10.2%}" for r in report["dpi"].values()))
    print(f"{'pages/s':<20} " + " ".join(f"{r['pages_per_s']:>10.2f}" for r in report["dpi"].values()))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
