"""How exact Chroma's top 100 is, and what it costs, at each HNSW ef_search (ingest.store.EF_SEARCH).

For each ef_search, a fresh process opens the store with it (a loaded index keeps the value it was opened with),
times the top-100 search of SciFact's queries and compares it with the exact top 100 (numpy over all vectors).
usage: python benchmarks/vector_recall.py [--ef 100,500] [--queries 60]
       python benchmarks/vector_recall.py --data-dir DIR --collection bench   # e.g. a retrieval_scale --keep store
Without --data-dir it reads the SciFact evaluation store (`askdocs eval beir ../shared/eval/beir/scifact` builds it).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SCIFACT = ROOT.parent / "shared" / "eval" / "beir" / "scifact"


def _store_location(args) -> tuple[Path, str]:
    if args.data_dir:
        return Path(args.data_dir), args.collection
    from app.evaluate import eval_settings
    from app.settings import Settings

    settings = eval_settings(Settings(), SCIFACT)
    return settings.data_dir, settings.collection


def _queries(n: int) -> list[str]:
    from app.evaluate import read_jsonl

    return [q["text"] for q in read_jsonl(SCIFACT / "queries.jsonl")][:n]


def _open(args, **options):
    """(store, embedder): the store of `args`, opened to read; `options` go to ChunkStore.open."""
    from app.settings import Settings
    from app.wiring import make_embedder
    from ingest.store import ChunkStore

    embedder = make_embedder(Settings())
    folder, collection = _store_location(args)
    store = ChunkStore.open(data_dir=folder, collection=collection, model_id=embedder.model_id,
                            dimension=embedder.dimension, writer=False, **options)
    return store, embedder


def one(args) -> None:
    """In its own process: search with one ef_search; print the ids found and the times as JSON."""
    store, embedder = _open(args, ef_search=args.one)
    vectors = [embedder.embed_query(q) for q in _queries(args.queries)]
    store.query_ids(vectors[0], 100)  # the index is loaded on the first search
    found, times = [], []
    for v in vectors:
        started = time.perf_counter()
        found.append([cid for cid, _ in store.query_ids(v, 100)])
        times.append(1000 * (time.perf_counter() - started))
    store.close()
    print(json.dumps({"found": found, "ms": times}))


def exact(args) -> list[set[str]]:
    """The exact top 100 of each query, by numpy over every vector of the store."""
    store, embedder = _open(args)
    ids, blocks, offset = [], [], 0
    while True:
        got = store.chunks.get(include=["embeddings"], limit=5000, offset=offset)
        if not got["ids"]:
            break
        ids += got["ids"]
        blocks.append(np.asarray(got["embeddings"], dtype=np.float32))
        offset += len(got["ids"])
    store.close()
    matrix = np.vstack(blocks)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    ids_array = np.array(ids)
    queries = np.asarray([embedder.embed_query(q) for q in _queries(args.queries)], dtype=np.float32)
    print(f"{len(ids)} chunks, {len(queries)} queries")
    return [set(ids_array[np.argsort(-(matrix @ q))[:100]]) for q in queries]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ef", default="100,500")
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--data-dir")
    parser.add_argument("--collection", default="bench")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(args)
        return 0
    truth = exact(args)
    for ef in (int(e) for e in args.ef.split(",")):
        command = [sys.executable, __file__, "--one", str(ef), "--queries", str(args.queries),
                   "--collection", args.collection] + (["--data-dir", args.data_dir] if args.data_dir else [])
        runs = [json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
                for _ in range(2)]
        recall = statistics.fmean(len(set(f) & t) / 100 for f, t in zip(runs[0]["found"], truth))
        moved = sum(set(a) != set(b) for a, b in zip(runs[0]["found"], runs[1]["found"]))
        print(f"ef_search {ef:>4}: recall@100 against the exact top 100 {recall:.4f}; search p50 "
              f"{statistics.median(runs[0]['ms']):.2f} ms; top 100 differs between two processes for {moved} "
              f"of {len(truth)} queries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
