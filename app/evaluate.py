"""`askdocs eval`: retrieval quality and latency per mode on BEIR sets and PDF question sets."""

from __future__ import annotations

import hashlib
import json
import logging
import statistics
import time
from dataclasses import replace
from pathlib import Path

from app.settings import Settings
from ingest.pipeline import SourceFile
from ingest.types import LoadedDocument, Page
from retrieval.hybrid import MODES, HybridRetriever
from retrieval.metrics import hit_at_k, mrr_at_k, ndcg_at_k, percentile, recall_at_k, unique_in_order

logger = logging.getLogger(__name__)

BEIR_DEPTH = 100  # documents ranked per query (Recall@100)
CHUNK_DEPTH = 300  # chunks fetched per retriever to rank that many documents
HIT_KS = (1, 3, 5, 10)


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def read_qrels(path: Path) -> dict[str, dict[str, float]]:
    qrels: dict[str, dict[str, float]] = {}
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            parts = line.strip().split("\t")
            if len(parts) < 3 or (n == 0 and not parts[2].lstrip("-").isdigit()):
                continue  # header or blank
            qrels.setdefault(parts[0], {})[parts[1]] = float(parts[2])
    return qrels


def eval_settings(settings: Settings, set_path: Path) -> Settings:
    """A store of its own per evaluation set (and chunking), reused across runs: unchanged docs are skipped."""
    key = hashlib.sha1(f"{set_path.resolve()}|{settings.embedding_model}|{settings.chunk_tokens}|"
                       f"{settings.chunk_overlap_tokens}".encode()).hexdigest()[:10]
    return settings.model_copy(update={
        "chroma_url": None, "data_dir": settings.data_dir / "eval" / f"{set_path.name}-{key}", "collection": "eval",
        "model_dir": settings.models_path})


def _run_modes(retriever: HybridRetriever, queries: list[tuple[str, str]], modes: list[str], depth: int):
    """{mode: [(query id, ranked results, ms)]}"""
    runs = {}
    for mode in modes:
        rows = []
        for qid, text in queries:
            started = time.perf_counter()
            found = retriever.retrieve(text, depth, mode)
            rows.append((qid, found, 1000 * (time.perf_counter() - started)))
        runs[mode] = rows
        logger.info("%s: %d queries", mode, len(rows))
    return runs


def _latency(rows) -> dict:
    ms = [r[2] for r in rows]
    return {"latency_p50_ms": round(percentile(ms, 50), 2), "latency_p95_ms": round(percentile(ms, 95), 2)}


def _build(settings: Settings):
    from app.wiring import make_embedder, make_ingestor, open_store

    embedder = make_embedder(settings)
    store = open_store(settings, embedder)
    return embedder, store, make_ingestor(settings, embedder, store)


def _retriever(settings: Settings, embedder, store, modes: list[str], depth: int) -> tuple[HybridRetriever, str]:
    from app.wiring import make_retriever

    retriever = make_retriever(settings, embedder, store, load_reranker="rerank" in modes)
    # Deeper candidate lists so that enough distinct documents are ranked for Recall@100.
    retriever.config = replace(retriever.config, bm25_candidates=max(depth, retriever.config.bm25_candidates),
                               vector_candidates=max(depth, retriever.config.vector_candidates))
    return retriever, retriever.reranker_problem or ""


def evaluate_beir(settings: Settings, path: Path, split: str = "test", modes: list[str] | None = None,
                  limit: int | None = None) -> dict:
    modes = modes or list(MODES)
    settings = eval_settings(settings, path)
    qrels = read_qrels(path / "qrels" / f"{split}.tsv")
    queries = [(q["_id"], q["text"]) for q in read_jsonl(path / "queries.jsonl") if q["_id"] in qrels]
    if limit:
        queries = queries[:limit]
    embedder, store, ingestor = _build(settings)
    with store:
        started = time.perf_counter()
        corpus = read_jsonl(path / "corpus.jsonl")
        items = ((SourceFile(Path(str(d["_id"])), path, str(d["_id"])),
                  LoadedDocument(str(d["_id"]), "text", (d.get("title") or "").strip() or None,
                                 [Page(1, d.get("text") or "")]))
                 for d in corpus if (d.get("text") or d.get("title")))
        reports = ingestor.ingest_loaded(items)
        ingest_s = time.perf_counter() - started
        retriever, problem = _retriever(settings, embedder, store, modes, CHUNK_DEPTH)
        runs = _run_modes(retriever, queries, modes, CHUNK_DEPTH)
    results = {}
    for mode, rows in runs.items():
        per_query = {"ndcg@10": [], "recall@10": [], "recall@100": [], "mrr@10": []}
        for qid, found, _ in rows:
            ranked = unique_in_order([r.chunk.doc_id for r in found.results])[:BEIR_DEPTH]
            rel = qrels[qid]
            per_query["ndcg@10"].append(ndcg_at_k(ranked, rel, 10))
            per_query["recall@10"].append(recall_at_k(ranked, rel, 10))
            per_query["recall@100"].append(recall_at_k(ranked, rel, 100))
            per_query["mrr@10"].append(mrr_at_k(ranked, rel, 10))
        results[mode] = {k: round(statistics.fmean(v), 4) for k, v in per_query.items()} | _latency(rows)
        if mode == "rerank" and rows and rows[0][1].mode != "rerank":
            results[mode]["note"] = problem
    return {"set": str(path), "split": split, "queries": len(queries), "documents": len(reports),
            "chunks": sum(r.chunks for r in reports), "ingest_s": round(ingest_s, 1), "modes": results}


def evaluate_pdfqa(settings: Settings, path: Path, modes: list[str] | None = None, limit: int | None = None) -> dict:
    modes = modes or list(MODES)
    settings = eval_settings(settings, path)
    questions = read_jsonl(path / "questions.jsonl")
    if limit:
        questions = questions[:limit]
    embedder, store, ingestor = _build(settings)
    with store:
        started = time.perf_counter()
        reports = ingestor.ingest([path / "pdfs"])
        ingest_s = time.perf_counter() - started
        failed = [f"{r.doc_id}: {r.reason}" for r in reports if r.status == "failed"]
        retriever, problem = _retriever(settings, embedder, store, modes, max(HIT_KS))
        runs = _run_modes(retriever, [(q["id"], q["question"]) for q in questions], modes, max(HIT_KS))
    by_id = {q["id"]: q for q in questions}
    results = {}
    for mode, rows in runs.items():
        metrics: dict[str, list[float]] = {}
        for qid, found, _ in rows:
            q = by_id[qid]
            docs = [r.chunk.doc_id for r in found.results]
            pages = [(r.chunk.doc_id, r.chunk.page) for r in found.results]
            gold_docs = set(q.get("docs") or []) | {e["doc"] for e in q.get("evidence") or []}
            gold_pages = {(e["doc"], int(e["page"])) for e in q.get("evidence") or [] if e.get("page")}
            for k in HIT_KS:
                if gold_docs:
                    metrics.setdefault(f"doc_hit@{k}", []).append(hit_at_k(docs, gold_docs, k))
                if gold_pages:
                    metrics.setdefault(f"page_hit@{k}", []).append(hit_at_k(pages, gold_pages, k))
                    # k distinct pages, as a reader paging through the results sees them
                    metrics.setdefault(f"pages_hit@{k}", []).append(
                        hit_at_k(unique_in_order(pages), gold_pages, k))
        results[mode] = {k: round(statistics.fmean(v), 4) for k, v in sorted(metrics.items())} | _latency(rows)
        if mode == "rerank" and rows and rows[0][1].mode != "rerank":
            results[mode]["note"] = problem
    return {"set": str(path), "questions": len(questions), "documents": len(reports), "failed": failed,
            "pages": sum(r.pages for r in reports), "chunks": sum(r.chunks for r in reports), "ingest_s": round(ingest_s, 1),
            "modes": results}


def format_table(report: dict) -> str:
    modes = report["modes"]
    keys = [k for k in next(iter(modes.values())) if k != "note"] if modes else []
    lines = ["mode     " + "".join(f"{k:>16}" for k in keys)]
    for mode, metrics in modes.items():
        lines.append(f"{mode:<9}" + "".join(f"{metrics.get(k, float('nan')):>16.4f}" if isinstance(
            metrics.get(k), float) else f"{metrics.get(k, '-'):>16}" for k in keys))
        if metrics.get("note"):
            lines.append(f"         note: {metrics['note']}")
    return "\n".join(lines)
