"""`askdocs train-reranker`: mine hard negatives, fine-tune the cross-encoder, evaluate, save a model folder."""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import time
from pathlib import Path

from app.settings import Settings

logger = logging.getLogger(__name__)


def add_parser(sub) -> None:
    p = sub.add_parser("train-reranker", help="fine-tune the cross-encoder reranker (see README)",
                       description="Fine-tune a cross-encoder on licence-clean question/passage material. "
                                   "Use the result with ASKDOCS_RERANK_MODEL=OUT.")
    p.add_argument("--out", type=Path, default=None, help="model folder to write (default DATA_DIR/reranker)")
    p.add_argument("--base", default="all-MiniLM-L6-v2",
                   help="start from: the packaged all-MiniLM-L6-v2 (new head), or a reranker folder such as "
                        "models/reranker to continue training it")
    # Self-supervised pairs from the user's collection (retrieval/training/selfsup.py) are not offered here: a CPU
    # fine-tune of models/reranker on SciFact-corpus pairs did not help SciFact test (nDCG@10 0.7170 -> 0.7082 after
    # 186 steps, 0.7149 after 11).
    src = p.add_argument_group("training material (at least one)")
    src.add_argument("--covid-qa", type=Path, help="covidQA.json (Apache-2.0)")
    src.add_argument("--tat-qa", type=Path, help="tatqa_dataset_dev.json or _train.json (CC BY 4.0)")
    src.add_argument("--pubmedqa", type=Path, help="PubMedQA-L folder in BEIR layout (MIT)")
    src.add_argument("--debian", type=Path, action="append", default=[],
                     help="a Debian Translation-en file, plain or .lz4 (repeatable)")
    src.add_argument("--pairs", type=Path, action="append", default=[],
                     help='your own pairs: JSON lines of {"query": ..., "passage": ...} (repeatable)')
    p.add_argument("--max-per-source", type=int, default=2000, help="training queries kept per source")
    p.add_argument("--holdout", type=int, default=200, help="queries held out for the evaluation at the end")
    p.add_argument("--negatives", type=int, default=7, help="hard negatives per query per step")
    p.add_argument("--mine", type=int, default=15, help="BM25 negatives mined per query (sampled from)")
    p.add_argument("--batch", type=int, default=8, help="queries per step")
    p.add_argument("--lr", type=float, default=3e-5)
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--max-steps", type=int, default=None, help="pin the number of steps (to repeat a run)")
    p.add_argument("--max-minutes", type=float, default=None,
                   help="training time limit (default ASKDOCS_RERANK_TRAIN_MINUTES)")
    p.add_argument("--max-length", type=int, default=256, help="tokens per (query, passage) pair")
    p.add_argument("--layers", type=int, default=None,
                   help="keep this many of the base's layers, spread evenly (fewer = faster reranking)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    p.add_argument("--seed", type=int, default=13)
    p.set_defaults(handler=cmd_train_reranker)


def _say(text: str) -> None:
    print(text, flush=True)


def cmd_train_reranker(args: argparse.Namespace, settings: Settings, extra_sources: tuple = ()) -> int:
    """The command; `extra_sources` (retrieval.training.types.Source) are trained on beside the flags' material."""
    from ingest.embedding import resolve_model
    from retrieval.training.mining import MiningConfig, mine
    from retrieval.training.sources import (covidqa_source, debian_source, pairs_source, pubmedqa_source,
                                            tatqa_source)
    from retrieval.training.trainer import TrainConfig, evaluate, load_cross_encoder, save, split_holdout, train

    if not (args.covid_qa or args.tat_qa or args.pubmedqa or args.debian or args.pairs or extra_sources):
        raise ValueError("no training material: pass --pairs, --covid-qa, --tat-qa, --pubmedqa and/or --debian")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    out = args.out or settings.data_dir / "reranker"
    minutes = args.max_minutes if args.max_minutes is not None else settings.rerank_train_minutes
    config = TrainConfig(negatives=args.negatives, batch_queries=args.batch, learning_rate=args.lr, epochs=args.epochs,
                         max_steps=args.max_steps, max_minutes=minutes, max_length=args.max_length, seed=args.seed)
    mining = MiningConfig(negatives=max(args.mine, args.negatives), depth=max(args.mine, args.negatives) + 30)
    started = time.perf_counter()
    rng = random.Random(args.seed)
    cap = args.max_per_source
    sources = []
    if args.debian:
        sources.append(debian_source(args.debian, rng, cap))
    if args.pubmedqa:
        sources.append(pubmedqa_source(args.pubmedqa, rng, max_groups=cap))
    if args.covid_qa:
        sources.append(covidqa_source(args.covid_qa, rng, max_groups=cap))
    if args.tat_qa:
        sources.append(tatqa_source(args.tat_qa, rng, max_groups=cap))
    for path in args.pairs:
        sources.append(pairs_source(path, rng, max_groups=cap))
    sources += extra_sources
    examples = []
    for source in sources:
        mined = mine(source, mining, rng)
        _say(f"{source.name}: {len(mined)} queries over {source.pool} passages "
             f"({sum(len(e.negatives) for e in mined) / max(1, len(mined)):.1f} BM25 negatives each)")
        examples += mined
    training, held = split_holdout(examples, args.holdout, args.seed)
    _say(f"{len(training)} training queries, {len(held)} held out; data ready in {time.perf_counter() - started:.0f} s")

    base = resolve_model(args.base)
    ce = load_cross_encoder(base, args.max_length, args.seed, layers=args.layers)
    before = evaluate(ce, held, args.negatives, args.max_length)
    _say(f"held-out before: MRR {before.mrr:.4f}, positive first {before.accuracy:.1%} "
         f"(1 positive vs {args.negatives} BM25 negatives, {before.queries} queries)")

    def progress(event: dict) -> None:
        if event["event"] == "probe":
            _say(f"speed: {event['seconds_per_step']:.2f} s/step -> {event['total_steps']} steps within "
                 f"{minutes:g} min")
        else:
            _say(f"step {event['step']}/{event['total_steps']}  loss {event['loss']:.4f}  lr {event['lr']:.2e}  "
                 f"{event['seconds']:.0f} s")

    result = train(ce, training, config, progress)
    after = evaluate(ce, held, args.negatives, args.max_length)
    _say(f"held-out after:  MRR {after.mrr:.4f}, positive first {after.accuracy:.1%} "
         f"({result.steps} steps in {result.seconds:.0f} s, stopped by {result.stopped_by})")
    info = {"base": args.base, "layers": args.layers, "config": config.__dict__, "mining": mining.__dict__,
            "seed": args.seed, "sources": {s.name: len(s.groups) for s in sources}, "training_queries": len(training),
            "held_out": {"before": before.to_dict(), "after": after.to_dict()}, "steps": result.steps,
            "seconds": result.seconds, "stopped_by": result.stopped_by,
            "loss_first_last": [result.losses[:10], result.losses[-10:]]}
    save(ce, out, info)
    _say(f"saved {out}; use it with ASKDOCS_RERANK_MODEL={out} (askdocs eval ... --modes hybrid,rerank to compare)")
    print(json.dumps({k: info[k] for k in ("held_out", "steps", "seconds", "stopped_by")}), file=sys.stderr)
    return 0
