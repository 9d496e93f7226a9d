"""Choose the rerank blend weight (ASKDOCS_RERANK_WEIGHT) on tuning data: SciFact train, never a test split.

The hybrid candidates and their cross-encoder logits are computed once per query (cached in --cache), then every
weight w is replayed offline: the head of 20 is ordered by retrieval.rerank.blend_scores, as
CrossEncoderReranker.rerank does, and scored by nDCG@10 over documents.
usage: ASKDOCS_RERANK_MODEL=models/reranker python benchmarks/tune_rerank_weight.py ../shared/eval/beir/scifact
           [--split train] [--limit 400] [--start 0] [--cache FILE]
Run `askdocs eval beir PATH --modes hybrid` first (it builds the evaluation store that this reads).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WEIGHTS = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]


def collect(path: Path, split: str, limit: int, start: int = 0) -> list[dict]:
    from app.evaluate import CHUNK_DEPTH, _build, _retriever, eval_settings, read_jsonl, read_qrels
    from app.settings import Settings

    settings = eval_settings(Settings(), path)
    if not settings.rerank_model:
        raise SystemExit("set ASKDOCS_RERANK_MODEL (e.g. models/reranker)")
    qrels = read_qrels(path / "qrels" / f"{split}.tsv")
    queries = [(q["_id"], q["text"]) for q in read_jsonl(path / "queries.jsonl") if q["_id"] in qrels]
    embedder, store, _ = _build(settings)
    rows = []
    with store:
        retriever, problem = _retriever(settings, embedder, store, ["hybrid", "rerank"], CHUNK_DEPTH)
        if retriever.reranker is None:
            raise SystemExit(problem)
        head = retriever.config.rerank_candidates
        for qid, text in queries[start:][: limit or None]:
            found = retriever.retrieve(text, CHUNK_DEPTH, "hybrid").results
            logits = retriever.reranker.logits(text, [c.context_text for c in found[:head]])
            rows.append({"qid": qid, "relevant": qrels[qid], "docs": [c.chunk.doc_id for c in found],
                         "hybrid": [c.score for c in found[:head]], "logits": logits.tolist()})
    return rows


def ndcg_for(rows: list[dict], weight: float) -> float:
    import numpy as np

    from retrieval.metrics import ndcg_at_k, unique_in_order
    from retrieval.rerank import blend_scores

    values = []
    for row in rows:
        n = len(row["logits"])
        blend = blend_scores(np.array(row["logits"]), np.array(row["hybrid"]), weight)
        order = sorted(range(n), key=lambda i: -blend[i])
        docs = [row["docs"][i] for i in order] + row["docs"][n:]
        values.append(ndcg_at_k(unique_in_order(docs), row["relevant"], 10))
    return statistics.fmean(values)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    parser.add_argument("--split", default="train")
    parser.add_argument("--limit", type=int, default=400, help="first N queries (0: all)")
    parser.add_argument("--start", type=int, default=0, help="skip the first N queries (e.g. to confirm a choice "
                        "made on the first 400 on the rest of the split)")
    parser.add_argument("--cache", help="JSON file of the candidates and logits (written, or read when present)")
    args = parser.parse_args()
    cache = Path(args.cache) if args.cache else None
    if cache and cache.exists():
        rows = json.loads(cache.read_text())
    else:
        rows = collect(Path(args.path), args.split, args.limit, args.start)
        if cache:
            cache.write_text(json.dumps(rows))
    print(f"{len(rows)} queries of {args.split}; nDCG@10 by weight (0 = hybrid order, 1 = cross-encoder alone)")
    for weight in WEIGHTS:
        print(f"  w = {weight:.1f}: {ndcg_for(rows, weight):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
