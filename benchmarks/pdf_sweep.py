"""Parse every PDF of ../shared/eval/pdf-robustness in the isolated parser, with OCR on and off, and print what
became of each file: text, text through OCR, no text, refused (and why); the time of each sweep.

usage: python benchmarks/pdf_sweep.py [FOLDER] [--timeout S] [--json OUT]
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingest.errors import LoadError  # noqa: E402
from ingest.ocr import OcrOptions  # noqa: E402
from ingest.worker import ParserWorker  # noqa: E402


def sweep(files: list[Path], ocr: OcrOptions, timeout: float) -> tuple[dict[str, dict], float]:
    results = {}
    started = time.perf_counter()
    with ParserWorker(timeout_s=timeout, ocr=ocr) as worker:
        for path in files:
            t = time.perf_counter()
            try:
                doc = worker.load(path)
                outcome = "text by OCR" if doc.ocr_pages else "text"
                results[str(path)] = {"outcome": outcome, "pages": len(doc.pages), "ocr_pages": len(doc.ocr_pages),
                                      "chars": sum(len(p.text) for p in doc.pages), "warnings": doc.warnings}
            except LoadError as exc:
                kind = "no text" if exc.reason.startswith("no text") else "refused"
                results[str(path)] = {"outcome": kind, "reason": exc.reason}
            results[str(path)]["seconds"] = round(time.perf_counter() - t, 2)
    return results, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", nargs="?", default=str(ROOT.parent / "shared/eval/pdf-robustness"))
    parser.add_argument("--timeout", type=float, default=120.0, help="parser time limit per file (s)")
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args()
    files = sorted(p for p in Path(args.folder).rglob("*") if p.suffix.lower() == ".pdf")
    off, off_s = sweep(files, OcrOptions(enabled=False), args.timeout)
    on, on_s = sweep(files, OcrOptions(), args.timeout)
    print(f"{len(files)} PDFs; sweep without OCR {off_s:.0f} s, with OCR {on_s:.0f} s")
    print("without OCR:", dict(collections.Counter(r["outcome"] for r in off.values()).most_common()))
    print("with OCR:   ", dict(collections.Counter(r["outcome"] for r in on.values()).most_common()))
    no_text = [p for p, r in off.items() if r["outcome"] == "no text"]
    became = collections.Counter(on[p]["outcome"] for p in no_text)
    print(f"of the {len(no_text)} files without text: {dict(became)}")
    slowest = sorted(on.items(), key=lambda kv: -kv[1]["seconds"])[:5]
    print("slowest with OCR:", ", ".join(f"{Path(p).name} {r['seconds']} s" for p, r in slowest))
    for path in no_text:
        r = on[path]
        detail = f"{r['ocr_pages']}/{r['pages']} pages OCR'd, {r['chars']} chars" if "chars" in r else r["reason"]
        print(f"  {Path(path).relative_to(args.folder)}: {r['outcome']} ({detail})")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"without_ocr": off, "with_ocr": on, "seconds": [off_s, on_s]},
                                                  indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
