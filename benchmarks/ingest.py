"""Ingest a folder of PDFs end to end with the default settings and print throughput and peak memory.

usage: python benchmarks/ingest.py [FOLDER] [--limit N] [--dtype auto|float32|bfloat16] [--threads N]
                                  [--chunk-tokens N] [--overlap N]
Default folder: ../shared/eval/financebench-dev/pdfs. The store goes to a temporary folder.
Besides wall-clock rates it prints the CPU seconds spent per page (main process + parser workers): on a busy
machine wall time says little, while 2 / cpu_s_per_page bounds what 2 idle cores could reach.
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


def cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children (the parser workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", nargs="?", default=str(ROOT.parent / "shared/eval/financebench-dev/pdfs"))
    parser.add_argument("--limit", type=int, default=0, help="only the first N files")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--threads", type=int, default=0, help="torch threads for embedding (0: torch's default)")
    parser.add_argument("--chunk-tokens", type=int, default=0, help="override the chunk size (tokens)")
    parser.add_argument("--overlap", type=int, default=-1, help="override the chunk overlap (tokens)")
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
        overrides = {}
        if args.chunk_tokens:
            overrides["chunk_tokens"] = args.chunk_tokens
        if args.overlap >= 0:
            overrides["chunk_overlap_tokens"] = args.overlap
        settings = Settings(data_dir=Path(tmp), chroma_url=None, embedding_dtype=args.dtype, **overrides)
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        t0 = time.perf_counter()
        embedder = make_embedder(settings)
        load_s = time.perf_counter() - t0
        with open_store(settings, embedder) as store:
            ingestor = make_ingestor(settings, embedder, store)
            cpu_before = cpu_seconds()
            started = time.perf_counter()
            reports = ingestor.ingest(files)
            elapsed = time.perf_counter() - started
            cpu = cpu_seconds() - cpu_before
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
        "cpu_s_per_page": round(cpu / pages, 4) if pages else None,
        "bound_2_cores_pages_per_s": round(2 * pages / cpu, 2) if cpu else None,
        "model_load_s": round(load_s, 1),
        "embedding_dtype": embedder.dtype,
        "chunk_tokens": settings.chunk_tokens,
        "chunk_overlap": settings.chunk_overlap_tokens,
        "torch_threads": torch_threads(),
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
