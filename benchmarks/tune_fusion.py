"""Choose fusion defaults on tuning data (SciFact train split, FinanceBench-dev), never on a test split.

BM25 and vector rankings are computed once per query; fusion variants are then replayed offline.
usage: python benchmarks/tune_fusion.py beir ../shared/eval/beir/scifact --split train
       python benchmarks/tune_fusion.py pdfqa ../shared/eval/financebench-dev
Run `askdocs eval` on the set first (it builds the evaluation store that this reads).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEPTH = 200


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["beir", "pdfqa"])
    parser.add_argument("path")
    parser.add_argument("--split", default="train")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--json", help="write every setting's score to this file")
    args = parser.parse_args()
    path = Path(args.path)

    from app.evaluate import eval_settings, read_jsonl, read_qrels
    from app.settings import Settings
    from app.wiring import make_bm25, make_embedder, open_store
    from retrieval.fusion import convex_combination, reciprocal_rank_fusion
    from retrieval.metrics import hit_at_k, ndcg_at_k, unique_in_order
    from retrieval.vector import VectorRetriever

    settings = eval_settings(Settings(), path)
    if args.kind == "beir":
        qrels = read_qrels(path / "qrels" / f"{args.split}.tsv")
        queries = [(q["_id"], q["text"]) for q in read_jsonl(path / "queries.jsonl") if q["_id"] in qrels]
    else:
        qs = read_jsonl(path / "questions.jsonl")
        queries = [(q["id"], q["question"]) for q in qs]
        gold = {q["id"]: {(e["doc"], int(e["page"])) for e in q.get("evidence") or []} for q in qs}
        gold_docs = {q["id"]: set(q.get("docs") or []) for q in qs}
        by_page = any(gold.values())  # sets without evidence pages (UDA) are judged by document
    if args.limit:
        queries = queries[: args.limit]

    embedder = make_embedder(settings)
    with open_store(settings, embedder) as store:
        bm25 = make_bm25(settings, store)
        vector = VectorRetriever(store, embedder)
        runs = []
        for qid, text in queries:
            kw = bm25.retrieve(text, DEPTH)
            sem = vector.retrieve(text, DEPTH)
            runs.append((qid, kw, sem))

    def score(ranked_chunks, qid) -> float:
        if args.kind == "beir":
            return ndcg_at_k(unique_in_order([c.doc_id for c in ranked_chunks]), qrels[qid], 10)
        if by_page:
            return hit_at_k([(c.doc_id, c.page) for c in ranked_chunks], gold[qid], 5)
        return hit_at_k([c.doc_id for c in ranked_chunks], gold_docs[qid], 5)

    def evaluate(fuse) -> float:
        values = []
        for qid, kw, sem in runs:
            chunks = {r.id: r.chunk for r in kw + sem}
            fused = fuse(kw, sem)
            values.append(score([chunks[i] for i in sorted(fused, key=lambda i: -fused[i])[:50]], qid))
        return statistics.fmean(values)

    metric = "ndcg@10" if args.kind == "beir" else ("page_hit@5" if by_page else "doc_hit@5")
    print(f"{len(runs)} queries, metric {metric}")
    print(f"bm25 alone    {evaluate(lambda kw, sem: {r.id: r.score for r in kw}):.4f}")
    print(f"vector alone  {evaluate(lambda kw, sem: {r.id: r.score for r in sem}):.4f}")
    results = []
    for cands in (20, 50, 100, 200):
        for k in (10, 30, 60, 100):
            for wb in (0.5, 0.75, 1.0, 1.25, 1.5):
                value = evaluate(lambda kw, sem: reciprocal_rank_fusion(
                    [[r.id for r in kw[:cands]], [r.id for r in sem[:cands]]], k, [wb, 1.0]))
                results.append((value, f"rrf k={k} bm25_weight={wb} candidates={cands}"))
        for alpha in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7):
            value = evaluate(lambda kw, sem: convex_combination(
                [{r.id: r.score for r in kw[:cands]}, {r.id: r.score for r in sem[:cands]}], [alpha, 1 - alpha]))
            results.append((value, f"convex bm25_weight={alpha} vector_weight={1 - alpha:.1f} candidates={cands}"))
    for value, name in sorted(results, reverse=True)[:12]:
        print(f"{value:.4f}  {name}")
    for name in ("rrf k=60 bm25_weight=1.0 candidates=50", "convex bm25_weight=0.5 vector_weight=0.5 candidates=50"):
        print(f"{dict((n, v) for v, n in results)[name]:.4f}  ({name})")
    if args.json:
        import json

        Path(args.json).write_text(json.dumps({n: v for v, n in results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
