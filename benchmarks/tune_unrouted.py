"""Choose the fusion of questions that are not routed (ASKDOCS_UNROUTED_BM25_WEIGHT), the document spread
(ASKDOCS_CHUNKS_PER_DOCUMENT) and the phrase evidence (ASKDOCS_PHRASE_WEIGHT) on dev sets, never on a test split.

Replays settings through the real HybridRetriever (routing, page cap, document spread, phrase evidence) with each
retriever's candidates computed once per query, so a sweep over a set takes seconds after the first setting.
usage: python benchmarks/tune_unrouted.py pdfqa ../shared/eval/uda
       python benchmarks/tune_unrouted.py pdfqa ../shared/eval/financebench-dev --phrase 0,0.5,1
       python benchmarks/tune_unrouted.py beir ../shared/eval/beir/scifact --split train
Run `askdocs eval` on the set first (it builds the evaluation store that this reads).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def memoise_candidates(retriever) -> None:
    for name in ("bm25", "vector"):
        part = getattr(retriever, name)
        compute, cache = part.candidates, {}

        def candidates(query, n, doc_ids=None, compute=compute, cache=cache):
            key = (query, n, tuple(doc_ids) if doc_ids else None)
            if key not in cache:
                cache[key] = compute(query, n, doc_ids)
            return cache[key]
        part.candidates = candidates


def _values(text: str, kind=float) -> list:
    return [kind(x) for x in text.split(",") if x.strip()]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["beir", "pdfqa"])
    parser.add_argument("path")
    parser.add_argument("--split", default="train")
    parser.add_argument("--bm25", default="0.5,0.6", help="unrouted BM25 weights to try")
    parser.add_argument("--caps", default="0,1,2", help="chunks per document to try")
    parser.add_argument("--phrase", default="0,1", help="phrase weights to try")
    args = parser.parse_args()
    path = Path(args.path)

    from app.evaluate import CHUNK_DEPTH, eval_settings, read_jsonl, read_qrels
    from app.settings import Settings
    from app.wiring import make_embedder, make_retriever, open_store
    from retrieval.metrics import hit_at_k, ndcg_at_k, unique_in_order

    settings = eval_settings(Settings(), path)
    if args.kind == "beir":
        qrels = read_qrels(path / "qrels" / f"{args.split}.tsv")
        queries = [(q["_id"], q["text"]) for q in read_jsonl(path / "queries.jsonl") if q["_id"] in qrels]
        depth = CHUNK_DEPTH
    else:
        questions = {q["id"]: q for q in read_jsonl(path / "questions.jsonl")}
        queries = [(qid, q["question"]) for qid, q in questions.items()]
        depth = 10

    def scores(found, qid) -> dict[str, float]:
        if args.kind == "beir":
            return {"ndcg@10": ndcg_at_k(unique_in_order([r.chunk.doc_id for r in found.results]), qrels[qid], 10)}
        q = questions[qid]
        docs = [r.chunk.doc_id for r in found.results]
        gold_docs = set(q.get("docs") or []) | {e["doc"] for e in q.get("evidence") or []}
        gold_pages = {(e["doc"], int(e["page"])) for e in q.get("evidence") or [] if e.get("page")}
        out = {f"doc_hit@{k}": hit_at_k(docs, gold_docs, k) for k in (1, 3, 5, 10)}
        if gold_pages:
            out["page_hit@5"] = hit_at_k([(r.chunk.doc_id, r.chunk.page) for r in found.results], gold_pages, 5)
        return out

    embedder = make_embedder(settings)
    with open_store(settings, embedder) as store:
        retriever = make_retriever(settings, embedder, store, load_reranker=False)
        candidates = max(depth, retriever.config.bm25_candidates)
        base = replace(retriever.config, bm25_candidates=candidates, vector_candidates=candidates)
        memoise_candidates(retriever)
        caps = _values(args.caps, int)
        settings_to_try = [(f"{mode} alone, chunks/doc {cap}", replace(base, chunks_per_document=cap), mode)
                           for cap in caps for mode in ("bm25", "vector")]
        settings_to_try += [(f"unrouted bm25 {w} chunks/doc {cap} phrase {p}",
                             replace(base, unrouted_bm25_weight=w, chunks_per_document=cap, phrase_weight=p),
                             "hybrid")
                            for w in _values(args.bm25) for cap in caps for p in _values(args.phrase)]
        print(f"{len(queries)} queries")
        for name, config, mode in settings_to_try:
            retriever.config = config
            per_query: dict[str, list[float]] = {}
            for qid, text in queries:
                for metric, value in scores(retriever.retrieve(text, depth, mode), qid).items():
                    per_query.setdefault(metric, []).append(value)
            figures = "  ".join(f"{m} {statistics.fmean(v):.4f}" for m, v in per_query.items())
            print(f"{name:<48} {figures}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
