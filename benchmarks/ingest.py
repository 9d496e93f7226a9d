"""Ingest a folder of PDFs end to end with the default settings and print throughput and peak memory.

usage: python benchmarks/ingest.py [FOLDER] [--limit N] [--dtype auto|float32|bfloat16]
Default folder: ../shared/eval/financebench-dev/pdfs. The store goes to a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", nargs="?", default=str(ROOT.parent / "shared/eval/financebench-dev/pdfs"))
    parser.add_argument("--limit", type=int, default=0, help="only the first N files")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    folder = Path(args.folder)
    if not folder.is_dir():
        print(f"no such folder: {folder} (the evaluation material lives in ../shared)", file=sys.stderr)
        return 2

    from app.settings import Settings
    from app.wiring import make_embedder, make_ingestor, open_store

    with tempfile.TemporaryDirectory() as tmp:
        files = sorted(folder.glob("*.pdf"))
        if args.limit:
            files = files[: args.limit]
        settings = Settings(data_dir=Path(tmp), chroma_url=None, embedding_dtype=args.dtype)
        t0 = time.perf_counter()
        embedder = make_embedder(settings)
        load_s = time.perf_counter() - t0
        with open_store(settings, embedder) as store:
            ingestor = make_ingestor(settings, embedder, store)
            started = time.perf_counter()
            reports = ingestor.ingest(files)
            elapsed = time.perf_counter() - started
    pages = sum(r.pages for r in reports)
    chunks = sum(r.chunks for r in reports)
    figures = {
        "files": len(reports),
        "failed": sum(r.status == "failed" for r in reports),
        "pages": pages,
        "chunks": chunks,
        "seconds": round(elapsed, 1),
        "pages_per_s": round(pages / elapsed, 2),
        "chunks_per_s": round(chunks / elapsed, 2),
        "model_load_s": round(load_s, 1),
        "embedding_dtype": embedder.dtype,
        "chunk_tokens": settings.chunk_tokens,
        "peak_rss_mb_main": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "peak_rss_mb_parser": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
    }
    for key, value in figures.items():
        print(f"{key:>20}: {value}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
