"""What retrievers return: a chunk with how it got its place."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ingest.types import Chunk


@dataclass
class ScoreBreakdown:
    """Each field stays None when that stage did not see the chunk."""

    bm25_rank: int | None = None
    bm25_score: float | None = None
    vector_rank: int | None = None
    vector_cosine: float | None = None
    fused_score: float | None = None
    phrase_share: float | None = None  # share of the query's adjacent term pairs the chunk holds (retrieval.phrases)
    rerank_score: float | None = None
    routed: bool | None = None  # True: found among the documents of the organisation the question names

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class ScoredChunk:
    id: str
    chunk: Chunk
    score: float
    breakdown: ScoreBreakdown = field(default_factory=ScoreBreakdown)
    heading: str = ""  # the document context indexed with the chunk (file name, title)

    @property
    def context_text(self) -> str:
        """What the indexes and the reranker see: heading, then chunk text."""
        return f"{self.heading}\n{self.chunk.text}" if self.heading else self.chunk.text

    def to_dict(self) -> dict:
        return {"id": self.id, "score": self.score, **self.chunk.to_dict(), "breakdown": self.breakdown.to_dict()}
