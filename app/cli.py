"""`askdocs` command line: ingest, sync, docs, remove, search."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections import Counter

from pydantic import ValidationError

from app.settings import Settings
from ingest.errors import IngestError

logger = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(f"ASKDOCS_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        print(f"askdocs: invalid settings: {problems}", file=sys.stderr)
        return 2
    logging.basicConfig(level=getattr(logging, settings.log_level.upper(), logging.WARNING),
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.handler(args, settings)
    except (IngestError, ValueError, ImportError) as exc:
        print(f"askdocs: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="askdocs", description="Chat with your documents, with citations.")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    p = sub.add_parser("ingest", help="add or update files and folders (recursive)")
    p.add_argument("paths", nargs="+")
    p.add_argument("--sync", action="store_true", help="also remove documents whose files left these folders")
    p.add_argument("--json", action="store_true", help="print a machine-readable result")
    p.set_defaults(handler=cmd_ingest)

    p = sub.add_parser("sync", help="make the store match these folders: add, update and remove")
    p.add_argument("paths", nargs="+")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_ingest, sync=True)

    p = sub.add_parser("docs", help="list ingested documents")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_docs)

    p = sub.add_parser("remove", help="remove documents by name (as `askdocs docs` lists them)")
    p.add_argument("doc_ids", nargs="+", metavar="DOC")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_remove)

    p = sub.add_parser("search", help="show the chunks that best match a query")
    p.add_argument("query")
    p.add_argument("-k", type=int, default=5)
    p.add_argument("--doc", action="append", dest="doc_ids", help="search only this document (repeatable)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_search)
    return parser


def _open(settings: Settings):
    from app.wiring import make_embedder, open_store

    embedder = make_embedder(settings)
    return embedder, open_store(settings, embedder)


def cmd_ingest(args, settings: Settings) -> int:
    from tqdm import tqdm

    from app.wiring import make_ingestor

    embedder, store = _open(settings)
    with store:
        ingestor = make_ingestor(settings, embedder, store)
        started = time.perf_counter()
        bar = tqdm(desc="ingest", unit="file", file=sys.stderr, disable=args.json or None, leave=False)

        def progress(doc_id: str, stage: str, fraction: float) -> None:
            if stage == "done":
                bar.update(1)
            else:
                bar.set_postfix_str(f"{stage} {doc_id[-40:]}")

        reports = ingestor.ingest(args.paths, sync=args.sync, on_progress=progress)
        bar.close()
        elapsed = time.perf_counter() - started
    if args.json:
        print(json.dumps({"files": [r.to_dict() for r in reports], "seconds": round(elapsed, 3)}, indent=2))
        return 0
    for r in reports:
        detail = r.reason if r.status == "failed" else f"{r.pages} pages, {r.chunks} chunks"
        print(f"{r.status:<9} {r.doc_id}  {detail}")
        for warning in r.warnings:
            print(f"{'':<9} warning: {warning}")
    counts = Counter(r.status for r in reports)
    pages = sum(r.pages for r in reports if r.status in ("added", "updated"))
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    print(f"{len(reports)} files: {summary or 'none found'} ({elapsed:.1f} s"
          + (f", {pages / elapsed:.1f} pages/s)" if pages else ")"))
    return 0


def cmd_docs(args, settings: Settings) -> int:
    _, store = _open(settings)
    with store:
        records = store.documents()
    if args.json:
        print(json.dumps([r.to_dict() for r in records], indent=2))
        return 0
    if not records:
        print("no documents yet: run `askdocs ingest PATH`")
        return 0
    for r in records:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.ingested_at))
        print(f"{r.doc_id}  {r.pages} pages, {r.chunks} chunks, {r.size_bytes / 1024:.0f} KiB, {when}")
    return 0


def cmd_remove(args, settings: Settings) -> int:
    from app.wiring import make_ingestor

    embedder, store = _open(settings)
    with store:
        reports = make_ingestor(settings, embedder, store).remove(args.doc_ids)
    if args.json:
        print(json.dumps({"files": [r.to_dict() for r in reports]}, indent=2))
    else:
        for r in reports:
            print(f"{r.status:<9} {r.doc_id}" + (f"  {r.reason}" if r.reason else ""))
    return 0 if all(r.status == "removed" for r in reports) else 1


def cmd_search(args, settings: Settings) -> int:
    from retrieval.vector import VectorRetriever

    embedder, store = _open(settings)
    with store:
        results = VectorRetriever(store, embedder).retrieve(args.query, args.k, args.doc_ids)
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2))
        return 0
    if not results:
        print("no results (is anything ingested? `askdocs docs`)")
    for rank, r in enumerate(results, 1):
        text = " ".join(r.chunk.text.split())
        print(f"[{rank}] {r.chunk.source} p.{r.chunk.page}  score {r.score:.3f}  {r.breakdown.to_dict()}")
        print(f"    {text[:300]}{'…' if len(text) > 300 else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
