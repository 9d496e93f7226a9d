"""Measure self-supervised adaptation of the reranker to a collection (issue 7): is it worth offering?

usage: ASKDOCS_DATA_DIR=STORE_DIR [ASKDOCS_COLLECTION=NAME] python benchmarks/selfsup_reranker.py
           [--max-groups 5000] [train-reranker options, e.g. --base models/reranker --max-minutes 40 --out DIR]
Pairs come from the chunks already in that store (`retrieval/training/selfsup.py`: a sentence of a chunk is the
query, the chunk without it the positive, BM25 negatives from the same collection), then `askdocs
train-reranker` trains on them. Compare afterwards with `ASKDOCS_RERANK_MODEL=DIR askdocs eval ... --modes
hybrid,rerank`. The command does not offer this material because it has not helped so far (models/reranker/README.md).
An evaluation store is at .askdocs/eval/<set>-<key> with ASKDOCS_COLLECTION=eval.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    from app.settings import Settings
    from app.train_reranker import add_parser, cmd_train_reranker
    from app.wiring import make_embedder, open_store
    from retrieval.training.selfsup import self_supervised_source

    own = argparse.ArgumentParser(add_help=False)
    own.add_argument("--max-groups", type=int, default=5000, help="self-supervised queries drawn from the store")
    known, rest = own.parse_known_args(argv)
    parser = argparse.ArgumentParser(prog="selfsup_reranker")
    add_parser(parser.add_subparsers())
    args = parser.parse_args(["train-reranker", *rest])
    settings = Settings()
    with open_store(settings, make_embedder(settings)) as store:
        chunks = list(store.iter_chunks())
    if not chunks:
        raise SystemExit(f"no documents in the store at {settings.chroma_url or settings.data_dir}")
    source = self_supervised_source(chunks, random.Random(args.seed), max_groups=known.max_groups)
    return cmd_train_reranker(args, settings, (source,))


if __name__ == "__main__":
    sys.exit(main())
