"""Fine-tune a sentence-transformers CrossEncoder (one relevance logit) with a listwise softmax loss.

Each step takes `batch_queries` queries, each with its positive and `negatives` hard negatives sampled from the
mined ones, and minimises the cross-entropy of the softmax over that group with the positive as the target.
Seeded (the data order, the negative samples and the new classifier head); bounded by `max_minutes` through a
speed probe that fixes the number of steps early so the learning-rate schedule still decays to zero.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from retrieval.training.types import Example

logger = logging.getLogger(__name__)

PROBE_STEPS = 6  # steps timed before the run length is fixed under max_minutes


@dataclass(frozen=True)
class TrainConfig:
    negatives: int = 7  # per query per step: softmax groups of 1 + negatives
    batch_queries: int = 8
    learning_rate: float = 3e-5
    weight_decay: float = 0.01
    warmup: float = 0.05  # fraction of the steps
    epochs: float = 1.0
    max_steps: int | None = None
    max_minutes: float | None = None
    max_length: int = 256
    seed: int = 13
    bf16_autocast: bool | None = None  # None: where the CPU has native bf16 arithmetic
    log_every: int = 10

    def __post_init__(self):
        if self.negatives <= 0 or self.batch_queries <= 0 or self.max_length <= 8:
            raise ValueError("negatives, batch_queries must be > 0 and max_length > 8")
        if self.max_minutes is not None and self.max_minutes <= 0:
            raise ValueError(f"max_minutes must be > 0, got {self.max_minutes}")


@dataclass
class TrainResult:
    steps: int
    seconds: float
    losses: list[float] = field(default_factory=list)
    stopped_by: str = "epochs"  # epochs, max_steps or max_minutes


@dataclass(frozen=True)
class RankingScores:
    queries: int
    mrr: float  # of the positive among itself and the negatives
    accuracy: float  # positive ranked first

    def to_dict(self) -> dict:
        return asdict(self)


def load_cross_encoder(model: str, max_length: int, seed: int = 13, device: str = "cpu", layers: int | None = None):
    """A float32 CrossEncoder with one output; a base without a classifier head gets a seeded new one.

    `layers` keeps that many transformer layers, spread evenly from first to last (a faster model to train; on
    our GPU runs 4 of MiniLM's 6 reranked 20 candidates in 0.29 s instead of 0.45 s, see models/reranker/README.md).
    """
    import torch
    from sentence_transformers import CrossEncoder

    torch.manual_seed(seed)
    ce = CrossEncoder(model, num_labels=1, max_length=max_length, device=device,
                      model_kwargs={"dtype": torch.float32})
    if layers is not None:
        encoder = getattr(ce.model.base_model, "encoder", None)
        if not hasattr(encoder, "layer"):
            raise ValueError(f"cannot cut layers of {model}: only BERT-style encoders (encoder.layer) are supported")
        have = len(encoder.layer)
        if not 1 <= layers <= have:
            raise ValueError(f"layers must be between 1 and {have} for {model}, got {layers}")
        keep = [round(i * (have - 1) / (layers - 1)) for i in range(layers)] if layers > 1 else [0]
        encoder.layer = torch.nn.ModuleList([encoder.layer[i] for i in keep])
        ce.model.config.num_hidden_layers = layers
        logger.info("kept layers %s of %d", keep, have)
    return ce


def split_holdout(examples: list[Example], n: int, seed: int) -> tuple[list[Example], list[Example]]:
    """(training, held out): `n` examples drawn with `seed`, the rest kept in order."""
    rng = random.Random(seed)
    held = set(rng.sample(range(len(examples)), min(n, max(0, len(examples) - 1))))
    return [e for i, e in enumerate(examples) if i not in held], [e for i, e in enumerate(examples) if i in held]


def group_passages(example: Example, negatives: int, rng: random.Random | None) -> list[str]:
    """[positive, negatives...]: a sample of the mined negatives (the first ones when rng is None), cycled if short."""
    pool = list(example.negatives)
    chosen = rng.sample(pool, min(negatives, len(pool))) if rng else pool[:negatives]
    while len(chosen) < negatives:
        chosen.append(pool[len(chosen) % len(pool)])
    return [example.positive, *chosen]


def _bf16_autocast(torch, device, wanted: bool | None) -> bool:
    from ingest.embedding import fast_dtype

    return wanted if wanted is not None else fast_dtype(torch, device.type) == "bfloat16"


def evaluate(ce, examples: list[Example], negatives: int, max_length: int, batch_pairs: int = 64,
             bf16_autocast: bool | None = None) -> RankingScores:
    """Rank each example's positive against its first `negatives` mined negatives."""
    import torch

    usable = [e for e in examples if e.negatives]
    if not usable:
        return RankingScores(0, 0.0, 0.0)
    pairs = [(e.query, p) for e in usable for p in group_passages(e, negatives, None)]
    model, tokenizer = ce.model, ce.tokenizer
    was_training = model.training
    model.eval()
    logits = []
    with torch.inference_mode():
        for i in range(0, len(pairs), batch_pairs):
            part = pairs[i:i + batch_pairs]
            enc = tokenizer([q for q, _ in part], [p for _, p in part], truncation=True, max_length=max_length,
                            padding=True, return_tensors="pt").to(model.device)
            with torch.autocast(device_type=model.device.type, dtype=torch.bfloat16,
                                enabled=_bf16_autocast(torch, model.device, bf16_autocast)):
                logits.append(model(**enc).logits.float().view(-1))
    model.train(was_training)
    scores = torch.cat(logits).view(len(usable), negatives + 1)
    rank = (scores[:, 1:] >= scores[:, :1]).sum(1) + 1  # ties count against the positive
    return RankingScores(len(usable), round(float((1.0 / rank).mean()), 4), round(float((rank == 1).float().mean()), 4))


def _batches(examples: list[Example], size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of one source each (similar lengths, less padding); the last of a source may be short."""
    by_source: dict[str, list[int]] = {}
    for i, e in enumerate(examples):
        by_source.setdefault(e.source, []).append(i)
    batches = []
    for source in sorted(by_source):
        ids = by_source[source]
        rng.shuffle(ids)
        batches += [ids[j:j + size] for j in range(0, len(ids), size)]
    rng.shuffle(batches)
    return batches


def train(ce, examples: list[Example], config: TrainConfig,
          on_progress: Callable[[dict], None] | None = None) -> TrainResult:
    """Fine-tune `ce` (a CrossEncoder) in place on `examples`."""
    import torch
    import torch.nn.functional as F

    examples = [e for e in examples if e.negatives]
    if not examples:
        raise ValueError("no training examples with negatives")
    torch.manual_seed(config.seed)
    model, tokenizer = ce.model, ce.tokenizer
    device = model.device
    autocast = _bf16_autocast(torch, device, config.bf16_autocast)
    order_rng = random.Random(config.seed)
    steps_per_epoch = math.ceil(len(examples) / config.batch_queries)
    total = max(1, math.ceil(config.epochs * steps_per_epoch))
    stopped_by = "epochs"
    if config.max_steps and config.max_steps < total:
        total, stopped_by = config.max_steps, "max_steps"
    budget_s = 60 * config.max_minutes if config.max_minutes else None
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)

    def lr_at(step: int) -> float:
        warm = max(1, int(config.warmup * total))
        if step < warm:
            return config.learning_rate * (step + 1) / warm
        return config.learning_rate * max(0.0, (total - step) / max(1, total - warm))

    model.train()
    started = time.perf_counter()
    probe_started = None
    losses: list[float] = []
    step, epoch = 0, 0
    while step < total:
        batches = _batches(examples, config.batch_queries, order_rng)
        for batch in batches:
            if step == 1:
                probe_started = time.perf_counter()  # the first step pays one-off costs
            if budget_s and step == 1 + PROBE_STEPS:
                per_step = (time.perf_counter() - probe_started) / PROBE_STEPS
                affordable = step + int((budget_s - (time.perf_counter() - started)) / per_step)
                if affordable < total:
                    total, stopped_by = max(step + 1, affordable), "max_minutes"
                logger.info("speed probe: %.2f s/step -> %d steps", per_step, total)
                if on_progress:
                    on_progress({"event": "probe", "seconds_per_step": round(per_step, 3), "total_steps": total})
            sample_rng = random.Random(config.seed * 1_000_003 + epoch * 100_003 + step)
            groups = [(examples[i].query, group_passages(examples[i], config.negatives, sample_rng)) for i in batch]
            enc = tokenizer([q for q, ps in groups for _ in ps], [p for _, ps in groups for p in ps],
                            truncation=True, max_length=config.max_length, padding=True,
                            return_tensors="pt").to(device)
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step)
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=autocast):
                logits = model(**enc).logits.float().view(len(groups), config.negatives + 1)
            loss = F.cross_entropy(logits, torch.zeros(len(groups), dtype=torch.long, device=device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            losses.append(float(loss.detach()))
            step += 1
            if on_progress and (step % config.log_every == 0 or step == 1 or step == total):
                on_progress({"event": "step", "step": step, "total_steps": total, "epoch": epoch,
                             "loss": round(sum(losses[-config.log_every:]) / len(losses[-config.log_every:]), 4),
                             "lr": lr_at(step), "seconds": round(time.perf_counter() - started, 1)})
            if step >= total:
                break
            if budget_s and time.perf_counter() - started > budget_s:  # slower than probed: stop on time
                stopped_by = "max_minutes"
                total = step
                break
        epoch += 1
    model.eval()
    return TrainResult(step, round(time.perf_counter() - started, 1), losses, stopped_by)


def save(ce, folder: str | Path, info: dict | None = None, half: bool = True) -> Path:
    """A CrossEncoder folder; `half` stores fp16 weights (half the size) that load as float32."""
    folder = Path(folder)
    card = folder / "README.md"
    kept_card = card.read_text() if card.exists() else None  # a hand-written model card survives retraining
    # Written beside the target and swapped in whole: a crash never leaves a half-written model folder.
    staging = folder.with_name(f".{folder.name}.saving-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    model = ce.model
    if half:
        model.half()
    try:
        ce.save(str(staging))
    finally:
        model.float()
    if kept_card is not None:
        (staging / "README.md").write_text(kept_card)
    config_path = staging / "config.json"
    config = json.loads(config_path.read_text())
    config["dtype"] = "float32"  # loaded (and trained further) as float32 unless asked otherwise
    config.pop("torch_dtype", None)
    config_path.write_text(json.dumps(config, indent=2))
    if info is not None:
        (staging / "training.json").write_text(json.dumps(info, indent=2, default=str))
    old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
    if folder.exists():
        folder.rename(old)
    staging.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
    return folder
