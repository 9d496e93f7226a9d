"""Records that flow between the training stages."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Group:
    """A query, the index of its positive passage, and passages that must never be its negatives."""

    query: str
    positive: int
    exclude: frozenset[int] = frozenset()  # twins, neighbouring chunks, the passage a pseudo-query came from


@dataclass
class Source:
    """One body of training material: passages and query groups over them.

    Only `docs[:pool]` are candidate negatives: passages after it are positives made for one query (a chunk with
    a sentence cut out) and would be near-duplicates of a pool passage for every other query.
    """

    name: str
    docs: list[str]
    groups: list[Group]
    pool: int | None = None

    def __post_init__(self):
        if self.pool is None:
            self.pool = len(self.docs)
        if not 0 <= self.pool <= len(self.docs):
            raise ValueError(f"pool must be within 0..{len(self.docs)}, got {self.pool}")
        for g in self.groups:
            if not 0 <= g.positive < len(self.docs):
                raise ValueError(f"{self.name}: positive {g.positive} out of range")


@dataclass(frozen=True)
class Example:
    """A training (or held-out) query with its positive passage and mined hard negatives, best-mined first."""

    query: str
    positive: str
    negatives: tuple[str, ...]
    source: str = ""
