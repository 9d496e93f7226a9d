"""`askdocs` command line: ingest, sync, docs, remove, search, ask, serve, eval, train-reranker."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections import Counter

from pydantic import ValidationError

from app.settings import Settings
from app.render import ocr_summary
from ingest.errors import IngestError
from ingest.profile import DocumentProfile

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
    p.add_argument("--collection", default="", help="put them in this collection (a user's '~NAME' or a shared "
                                                     "one; default: 'shared', which every user reads)")
    p.add_argument("--sync", action="store_true", help="also remove documents whose files left these folders")
    p.add_argument("--json", action="store_true", help="print a machine-readable result")
    p.set_defaults(handler=cmd_ingest)

    p = sub.add_parser("sync", help="make the store match these folders: add, update and remove")
    p.add_argument("paths", nargs="+")
    p.add_argument("--collection", default="", help="as for ingest")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_ingest, sync=True)

    p = sub.add_parser("docs", help="list ingested documents")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_docs)

    p = sub.add_parser("profile", help="correct what a document is (organisation, period, type, title): "
                                       "questions naming an organisation are searched in its documents")
    p.add_argument("doc_id", metavar="DOC")
    for name in ("title", "organisation", "period", "doc_type"):
        p.add_argument(f"--{name.replace('_', '-')}", dest=name)
    p.set_defaults(handler=cmd_profile)

    p = sub.add_parser("remove", help="remove documents by name (as `askdocs docs` lists them)")
    p.add_argument("doc_ids", nargs="+", metavar="DOC")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_remove)

    p = sub.add_parser("search", help="show the chunks that best match a query, with their score breakdown")
    p.add_argument("query")
    p.add_argument("-k", type=int, default=None, help="how many chunks (default ASKDOCS_TOP_K)")
    p.add_argument("--mode", choices=["bm25", "vector", "hybrid", "rerank"], default=None,
                   help="default ASKDOCS_RETRIEVAL_MODE")
    p.add_argument("--doc", action="append", dest="doc_ids", help="search only this document (repeatable)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_search)

    p = sub.add_parser("check", help="check that the BM25 index and Chroma agree")
    p.add_argument("--rebuild", action="store_true", help="rebuild the BM25 index from Chroma")
    p.set_defaults(handler=cmd_check)

    p = sub.add_parser("ask", help="answer a question from the documents, citing file and page")
    p.add_argument("question")
    p.add_argument("-k", type=int, default=None, help="sources handed to the model (default ASKDOCS_TOP_K)")
    p.add_argument("--mode", choices=["bm25", "vector", "hybrid", "rerank"], default=None)
    p.add_argument("--doc", action="append", dest="doc_ids", help="only from this document (repeatable)")
    p.add_argument("--json", action="store_true", help="print the whole Answer as JSON instead of streaming")
    p.set_defaults(handler=cmd_ask)

    p = sub.add_parser("serve", help="start the chat UI and the HTTP API (ASKDOCS_HOST, ASKDOCS_PORT)")
    p.add_argument("--ingest", nargs="*", default=[], metavar="PATH", help="ingest these first")
    p.set_defaults(handler=cmd_serve)

    p = sub.add_parser("eval", help="measure retrieval per mode on a BEIR set or a PDF question set, or answers "
                                    "on a question file")
    p.add_argument("kind", choices=["beir", "pdfqa", "answers"])
    p.add_argument("path", help="the set's folder; for answers a question file (.jsonl) or a PDF question set")
    p.add_argument("--split", default=None, help="BEIR qrels split (default test); answers: dev, test or all "
                                                 "(default all)")
    p.add_argument("--docs", help="answers: the folder of documents the question file is about")
    p.add_argument("--modes", default="bm25,vector,hybrid,rerank", help="comma-separated subset")
    p.add_argument("--limit", type=int, default=None,
                   help="only N queries (retrieval: the first N; --answers: N spread evenly over the set)")
    p.add_argument("--json", dest="json_out", metavar="OUT", help="write the report to this file")
    p.add_argument("--answers", action="store_true",
                   help="pdfqa: also answer with the configured LLM (correctness, citations, abstention, TTFT)")
    p.add_argument("--absent", type=int, default=10,
                   help="with --answers: ask this many questions of the other documents only (answer absent)")
    p.set_defaults(handler=cmd_eval)

    from app.accounts.cli import add_parsers as add_account_parsers
    from app.train_reranker import add_parser as add_train_reranker

    add_train_reranker(sub)
    add_account_parsers(sub)
    return parser


def _open(settings: Settings):
    from app.wiring import make_embedder, open_store

    embedder = make_embedder(settings)
    return embedder, open_store(settings, embedder)


def cmd_ingest(args, settings: Settings) -> int:
    from tqdm import tqdm

    from app.wiring import make_bm25, make_ingestor

    embedder, store = _open(settings)
    with store:
        ingestor = make_ingestor(settings, embedder, store)
        started = time.perf_counter()
        bar = tqdm(desc="ingest", unit="file", file=sys.stderr, disable=args.json or None, leave=False)

        def progress(doc_id: str, stage: str, fraction: float) -> None:
            if stage == "done":
                bar.update(1)
            elif stage == "ocr":
                bar.set_postfix_str(f"OCR {100 * fraction:.0f}% {doc_id[-40:]}")
            else:
                bar.set_postfix_str(f"{stage} {doc_id[-40:]}")

        collection = "" if args.collection in ("", "shared") else args.collection
        reports = ingestor.ingest(args.paths, sync=args.sync, on_progress=progress, collection=collection)
        bar.set_postfix_str("updating the BM25 index")
        make_bm25(settings, store)
        bar.close()
        elapsed = time.perf_counter() - started
    if args.json:
        print(json.dumps({"files": [r.to_dict() for r in reports], "seconds": round(elapsed, 3)}, indent=2))
        return 0
    for r in reports:
        print(_report_line(r))
        for warning in r.warnings:
            print(f"{'':<9} warning: {warning}")
    counts = Counter(r.status for r in reports)
    pages = sum(r.pages for r in reports if r.status in ("added", "updated"))
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    print(f"{len(reports)} files: {summary or 'none found'} ({elapsed:.1f} s"
          + (f", {pages / elapsed:.1f} pages/s)" if pages else ")"))
    return 0


def _report_line(r) -> str:
    detail = r.reason if r.status == "failed" else f"{r.pages} pages, {r.chunks} chunks"
    if r.ocr_pages:
        detail += f", OCR on {ocr_summary(r.ocr_pages)}"
    return f"{r.status:<9} {r.doc_id}  {detail}"


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
        print(f"{r.doc_id}  {r.pages} pages, {r.chunks} chunks, {r.size_bytes / 1024:.0f} KiB, {when}, "
              f"collection {r.collection or 'shared'}")
        profile = DocumentProfile.from_dict(r.profile)
        if profile.describe():
            print(f"    {profile.describe()}")
        if r.ocr_pages:
            print(f"    read by OCR: {ocr_summary(r.ocr_pages)}")
    return 0


def cmd_profile(args, settings: Settings) -> int:
    _, store = _open(settings)
    with store:
        record = store.document(args.doc_id)
        if record is None:
            print(f"askdocs: no document {args.doc_id!r} (see `askdocs docs`)", file=sys.stderr)
            return 1
        profile = DocumentProfile.from_dict(record.profile).to_dict()
        changes = {k: getattr(args, k) for k in profile if getattr(args, k) is not None}
        if changes:
            profile = store.edit_profile(args.doc_id, changes)
    print(json.dumps(profile, indent=2))
    return 0


def cmd_remove(args, settings: Settings) -> int:
    from app.wiring import make_bm25, make_ingestor

    embedder, store = _open(settings)
    with store:
        reports = make_ingestor(settings, embedder, store).remove(args.doc_ids)
        make_bm25(settings, store)
    if args.json:
        print(json.dumps({"files": [r.to_dict() for r in reports]}, indent=2))
    else:
        for r in reports:
            print(f"{r.status:<9} {r.doc_id}" + (f"  {r.reason}" if r.reason else ""))
    return 0 if all(r.status == "removed" for r in reports) else 1


def cmd_search(args, settings: Settings) -> int:
    from app.wiring import make_retriever

    mode = args.mode or settings.retrieval_mode
    embedder, store = _open(settings)
    with store:
        retriever = make_retriever(settings, embedder, store, load_reranker=mode == "rerank")
        found = retriever.retrieve(args.query, args.k or settings.top_k, mode, args.doc_ids)
    if args.json:
        print(json.dumps({"query": found.query, "mode": found.mode, "notes": found.notes,
                          "timings_ms": found.timings_ms, "results": [r.to_dict() for r in found.results]},
                         indent=2))
        return 0
    for note in found.notes:
        print(f"note: {note}")
    if not found.results:
        print("no results (is anything ingested? `askdocs docs`)")
    for rank, r in enumerate(found.results, 1):
        text = " ".join(r.chunk.text.split())
        print(f"[{rank}] {r.chunk.source} p.{r.chunk.page}  score {r.score:.4f}  {_breakdown(r.breakdown)}")
        print(f"    {text[:300]}{'…' if len(text) > 300 else ''}")
    print(f"({found.mode}, {sum(found.timings_ms.values()):.0f} ms)")
    return 0


def cmd_check(args, settings: Settings) -> int:
    from app.wiring import make_bm25

    _, store = _open(settings)
    with store:
        bm25 = make_bm25(settings, store, sync=False)
        problems = bm25.check()
        for problem in problems:
            print(f"mismatch: {problem}")
        if args.rebuild:
            result = bm25.rebuild()
            print(f"rebuilt the BM25 index from Chroma: {result.added} documents ({result.seconds:.1f} s)")
            problems = bm25.check()
        print("BM25 and Chroma agree" if not problems else f"{len(problems)} mismatches"
              + ("" if args.rebuild else " (askdocs check --rebuild repairs them)"))
    return 0 if not problems else 1


def cmd_ask(args, settings: Settings) -> int:
    from app.service import AskDocs

    service = AskDocs(settings)
    try:
        if service.llm is None:
            print(f"note: {service.llm_problem}", file=sys.stderr)
        answer = None
        for event in service.ask_stream(args.question, top_k=args.k, mode=args.mode, doc_ids=args.doc_ids):
            if event.kind == "status" and not args.json:
                print(f"[{event.text}]", file=sys.stderr, flush=True)
            elif event.kind == "token" and not args.json:
                print(event.text, end="", flush=True)
            elif event.kind == "done":
                answer = event.answer
    finally:
        service.close()
    if args.json:
        print(json.dumps(answer.to_dict(), indent=2))
        return 0
    if not answer.timings.get("first_token_ms"):
        print(answer.answer, end="")
    print()
    shown = [s for s in answer.sources if s.cited] or answer.sources
    print("\nSources:" if shown else "")
    for s in shown:
        print(f"  [{s.number}] {s.file}, page {s.page}")
    for check in answer.citations:
        if not check.supported:
            print(f"  ! not supported by its source: {check.sentence[:120]}")
    for removed in answer.removed:
        print(f"  ✗ removed from the answer: {removed[:200]}")
    for note in answer.notes:
        print(f"note: {note}", file=sys.stderr)
    return 0


def cmd_serve(args, settings: Settings) -> int:
    from app.server import serve
    from app.service import AskDocs

    service = AskDocs(settings)
    try:
        if args.ingest:
            for r in service.ingest(args.ingest):
                print(_report_line(r))
        if service.llm is None:
            print(f"note: {service.llm_problem}", file=sys.stderr)
        import threading

        threading.Thread(target=service.warm_up, name="warm-up", daemon=True).start()
        serve(service)
    finally:
        service.close()
    return 0


def cmd_eval(args, settings: Settings) -> int:
    from pathlib import Path

    from app.evaluate import evaluate_beir, evaluate_pdfqa, format_table
    from retrieval.hybrid import MODES

    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise ValueError(f"unknown mode(s) {', '.join(unknown)}; choose from {', '.join(MODES)}")
    path = Path(args.path)
    if not path.is_dir() and not (args.kind == "answers" and path.is_file()):
        raise ValueError(f"no such evaluation set: {path}")
    if args.kind == "answers":
        return _eval_answers(args, settings)
    if args.kind == "beir":
        report = evaluate_beir(settings, path, args.split or "test", modes, args.limit)
    else:
        report = evaluate_pdfqa(settings, path, modes, args.limit)
        if args.answers:
            from app.evaluate_answers import evaluate_answers

            rows_path = Path(args.json_out + ".rows.jsonl") if args.json_out else None
            report["answers"] = evaluate_answers(settings, path, args.limit or 20, args.absent, rows_path)
            print(json.dumps({k: v for k, v in report["answers"].items() if k != "examples"}))
    print(format_table(report))
    summary = {k: v for k, v in report.items() if k not in ("modes", "failed")}
    print(json.dumps(summary))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=2))
    return 0


def _eval_answers(args, settings: Settings) -> int:
    from pathlib import Path

    from app.evaluate_answers import evaluate_answers, evaluate_question_file, format_answers_table

    path = Path(args.path)
    rows_path = Path(args.json_out + ".rows.jsonl") if args.json_out else None
    if path.is_file():
        if not args.docs or not Path(args.docs).is_dir():
            raise ValueError("eval answers FILE needs --docs FOLDER, the documents the questions are about")
        report = evaluate_question_file(settings, path, Path(args.docs), args.split or "all", args.limit, rows_path)
    else:
        report = evaluate_answers(settings, path, args.limit or 20, args.absent, rows_path)
    print(format_answers_table(report))
    print(json.dumps({k: v for k, v in report.items() if k != "examples"}))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=2))
    return 0


def _breakdown(b) -> str:
    parts = []
    if b.bm25_rank is not None:
        parts.append(f"bm25 #{b.bm25_rank} {b.bm25_score:.2f}")
    if b.vector_rank is not None:
        parts.append(f"vector #{b.vector_rank} cos {b.vector_cosine:.3f}")
    if b.fused_score is not None:
        parts.append(f"fused {b.fused_score:.4f}")
    if b.phrase_share:
        parts.append(f"phrase {b.phrase_share:.2f}")
    if b.rerank_score is not None:
        parts.append(f"rerank {b.rerank_score:.3f}")
    return " | ".join(parts)


if __name__ == "__main__":
    sys.exit(main())
