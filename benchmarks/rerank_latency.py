"""Latency of the rerank stage: score 20 real candidates (tokenisation included), p50/p95 over N queries.

The candidates are what the rerank stage sees in `askdocs eval beir`: the hybrid top-20 chunks (heading + text)
of SciFact test queries, read from the evaluation store (run `askdocs eval beir ../shared/eval/beir/scifact
--modes hybrid` once to build it). They are cached in --candidates so later runs need no store.

usage: python benchmarks/rerank_latency.py [--model models/reranker] [--threads 1,2] [--max-length 256,192,128]
                                           [--dtypes float32,bfloat16,int8] [--queries 30] [--agreement]
--agreement also scores the candidates of --agreement-queries queries with each variant and reports the mean
Spearman correlation with float32 at 256 tokens (the reference), so speed is never bought with silent quality loss.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def load_candidates(set_path: Path, split: str, queries: int, cache: Path, k: int = 20) -> list[dict]:
    if cache.exists():
        rows = json.loads(cache.read_text())
        if len(rows) >= queries and all(len(r["texts"]) >= k for r in rows[:queries]):
            return [dict(r, texts=r["texts"][:k], docs=r["docs"][:k]) for r in rows[:queries]]
    from app.evaluate import eval_settings, read_jsonl, read_qrels
    from app.settings import Settings
    from app.wiring import make_embedder, make_retriever, open_store

    settings = eval_settings(Settings(), set_path)
    qrels = read_qrels(set_path / "qrels" / f"{split}.tsv")
    texts = [(q["_id"], q["text"]) for q in read_jsonl(set_path / "queries.jsonl") if q["_id"] in qrels][:queries]
    embedder = make_embedder(settings)
    rows = []
    with open_store(settings, embedder) as store:
        if not store.count():
            raise SystemExit(f"no evaluation store for {set_path}: run `askdocs eval beir {set_path} --modes hybrid`")
        retriever = make_retriever(settings, embedder, store, load_reranker=False)
        for qid, text in texts:
            found = retriever.retrieve(text, k, "hybrid")
            rows.append({"qid": qid, "query": text, "docs": [r.chunk.doc_id for r in found.results],
                         "relevant": qrels[qid],
                         "texts": [r.context_text for r in found.results]})
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(rows))
    return rows


def ndcg10(rows, scores) -> float:
    """nDCG@10 of the documents of the 20 candidates in reranked order (rerank-only quality)."""
    from retrieval.metrics import ndcg_at_k, unique_in_order

    values = []
    for row, s in zip(rows, scores):
        order = sorted(range(len(s)), key=lambda i: -s[i])
        values.append(ndcg_at_k(unique_in_order([row["docs"][i] for i in order]), row["relevant"], 10))
    return round(statistics.fmean(values), 4)


def spearman(a, b) -> float:
    from scipy.stats import spearmanr

    value = spearmanr(a, b).statistic
    return float(value) if value == value else 1.0  # constant scores: treat as agreeing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(ROOT / "models" / "reranker"))
    parser.add_argument("--set", default=str(ROOT.parent / "shared" / "eval" / "beir" / "scifact"))
    parser.add_argument("--split", default="test")
    parser.add_argument("--queries", type=int, default=30, help="timed queries (20 candidates each)")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--max-length", default="256,192,128")
    parser.add_argument("--dtypes", default="float32,bfloat16,int8")
    parser.add_argument("--variants", help="explicit DTYPE/LENGTH[/BATCH] list, e.g. float32/256,bfloat16/256/4 "
                                           "(instead of every --dtypes x --max-length; BATCH: --batch-size)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--agreement", action="store_true", help="also report Spearman vs float32 at 256 tokens")
    parser.add_argument("--agreement-queries", type=int, default=100)
    parser.add_argument("--candidates", default=str(ROOT / ".askdocs" / "bench" / "scifact_top20.json"))
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()

    import numpy as np
    import torch

    from retrieval.rerank import CrossEncoderReranker

    needed = max(args.queries, args.agreement_queries if args.agreement else 0)
    rows = load_candidates(Path(args.set), args.split, needed, Path(args.candidates))
    timed = rows[: args.queries]
    lengths = [int(x) for x in args.max_length.split(",")]
    threads = [int(x) for x in args.threads.split(",")]
    dtypes = args.dtypes.split(",")
    load = os.getloadavg()
    out = {"model": args.model, "candidates": len(timed[0]["texts"]), "queries": len(timed), "cpus": os.cpu_count(),
           "loadavg_before": [round(x, 2) for x in load], "torch": torch.__version__, "results": {}}
    print(f"{len(timed)} queries x {out['candidates']} candidates; load average {load[0]:.2f} {load[1]:.2f}",
          flush=True)
    variants = [(d, length, args.batch_size) for d in dtypes for length in lengths]
    if args.variants:
        variants = [(parts[0], int(parts[1]), int(parts[2]) if len(parts) > 2 else args.batch_size)
                    for parts in (v.split("/") for v in args.variants.split(","))]
    reference = None
    for dtype, length, batch in variants:
        reranker = CrossEncoderReranker(args.model, dtype=dtype, max_length=length, batch_size=batch)
        agree = quality = None
        if args.agreement:
            scores = [reranker.score(r["query"], r["texts"]) for r in rows[: args.agreement_queries]]
            if reference is None and dtype == "float32" and length == max(v[1] for v in variants):
                reference = scores
            if reference is not None:
                agree = round(statistics.fmean(spearman(a, b) for a, b in zip(reference, scores)), 4)
            quality = ndcg10(rows[: args.agreement_queries], scores)
        for n in threads:
            reranker.threads = n
            reranker.score(timed[0]["query"], timed[0]["texts"])  # warm-up
            ms = []
            for r in timed:
                started = time.perf_counter()
                reranker.score(r["query"], r["texts"])
                ms.append(1000 * (time.perf_counter() - started))
            key = f"{dtype}/L{length}/b{batch}/t{n}"
            out["results"][key] = {"p50_ms": round(float(np.percentile(ms, 50)), 1),
                                   "p95_ms": round(float(np.percentile(ms, 95)), 1), "spearman_vs_fp32": agree,
                                   "rerank_only_ndcg@10": quality}
            print(f"{key:<20} p50 {out['results'][key]['p50_ms']:>7.1f} ms  p95 "
                  f"{out['results'][key]['p95_ms']:>7.1f} ms  spearman {agree}  nDCG@10 {quality}  "
                  f"(load {os.getloadavg()[0]:.2f})", flush=True)
    out["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
