"""Hard negatives mined with askdocs' own BM25 (retrieval/bm25.py, retrieval/tokenize.py).

A candidate is never used as a negative when it is the positive, in the group's `exclude` set (twins, neighbouring
chunks), outside the source's pool, or a near-twin of the positive (word Jaccard above `twin_jaccard`).
"""

from __future__ import annotations

import logging
import random
import re
from dataclasses import dataclass

from retrieval.bm25 import BM25Index
from retrieval.training.types import Example, Source

logger = logging.getLogger(__name__)

_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class MiningConfig:
    negatives: int = 15  # mined per query (training samples from these)
    depth: int = 45  # BM25 candidates read per query
    twin_jaccard: float = 0.6
    pad_random: bool = True  # fill up with random pool passages when BM25 finds too few

    def __post_init__(self):
        if self.negatives <= 0 or self.depth < self.negatives:
            raise ValueError(f"need 0 < negatives <= depth, got {self.negatives}, {self.depth}")


def words(text: str) -> frozenset[str]:
    return frozenset(w.lower() for w in _WORD.findall(text))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / max(1, len(a | b))


def build_index(docs: list[str]) -> BM25Index:
    """An in-memory BM25 index over passages; each passage is a document whose id is its position."""
    index = BM25Index()
    index.add_documents([(str(i), "1", [str(i)], [text]) for i, text in enumerate(docs)])
    return index


def mine(source: Source, config: MiningConfig, rng: random.Random) -> list[Example]:
    """One Example per group of `source`, negatives best-BM25 first."""
    index = build_index(source.docs[: source.pool])
    shapes: dict[int, frozenset[str]] = {}

    def shape(i: int) -> frozenset[str]:
        if i not in shapes:
            shapes[i] = words(source.docs[i])
        return shapes[i]

    examples, twins, padded = [], 0, 0
    for group in source.groups:
        banned = set(group.exclude) | {group.positive}
        negatives: list[int] = []
        for hit in index.search(group.query, config.depth):
            d = int(hit.chunk_id)
            if d in banned:
                continue
            if config.twin_jaccard < 1 and jaccard(shape(group.positive), shape(d)) > config.twin_jaccard:
                twins += 1
                banned.add(d)
                continue
            negatives.append(d)
            if len(negatives) >= config.negatives:
                break
        if config.pad_random and len(negatives) < config.negatives:
            free = source.pool - len(banned | set(negatives))
            while len(negatives) < config.negatives and free > 0:
                d = rng.randrange(source.pool)
                if d not in banned and d not in negatives and \
                        jaccard(shape(group.positive), shape(d)) <= config.twin_jaccard:
                    negatives.append(d)
                    padded += 1
                    free -= 1
                elif d not in banned and d not in negatives:
                    banned.add(d)
                    free -= 1
        examples.append(Example(group.query, source.docs[group.positive],
                                tuple(source.docs[d] for d in negatives), source.name))
    logger.info("%s: mined %d queries, %d near-twins skipped, %d random negatives padded", source.name,
                len(examples), twins, padded)
    return examples
