"""The retrieval seam the UI, the CLI and the evaluation all call: bm25, vector, hybrid or rerank."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from retrieval.fusion import convex_combination, reciprocal_rank_fusion
from retrieval.keyword import BM25Retriever
from retrieval.rerank import CrossEncoderReranker
from retrieval.types import ScoredChunk
from retrieval.vector import VectorRetriever

logger = logging.getLogger(__name__)

MODES = ("bm25", "vector", "hybrid", "rerank")


@dataclass(frozen=True)
class FusionConfig:
    method: str = "convex"  # convex (weighted min-max scores) or rrf
    rrf_k: float = 60.0
    bm25_weight: float = 0.5
    vector_weight: float = 0.5
    bm25_candidates: int = 50
    vector_candidates: int = 50
    rerank_candidates: int = 20

    def __post_init__(self):
        if self.method not in ("rrf", "convex"):
            raise ValueError(f"fusion method must be rrf or convex, got {self.method!r}")
        for name in ("bm25_candidates", "vector_candidates", "rerank_candidates"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")


@dataclass
class Retrieval:
    """Ranked chunks, the mode that produced them, and anything the user should know (e.g. no reranker)."""

    query: str
    mode: str
    results: list[ScoredChunk]
    notes: list[str] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    # Absolute relevance signals for an abstention gate (fused scores are relative to the query).
    best_cosine: float | None = None
    best_rerank: float | None = None


class HybridRetriever:
    def __init__(self, vector: VectorRetriever, bm25: BM25Retriever, config: FusionConfig = FusionConfig(),
                 reranker: CrossEncoderReranker | None = None, reranker_problem: str | None = None):
        self.vector = vector
        self.bm25 = bm25
        self.config = config
        self.reranker = reranker
        # Why there is no reranker (not configured, failed to load), shown with every rerank request.
        self.reranker_problem = reranker_problem or (None if reranker else "no reranker is configured")

    def retrieve(self, query: str, k: int = 10, mode: str = "hybrid", doc_ids: list[str] | None = None) -> Retrieval:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if k <= 0:
            raise ValueError(f"k must be > 0, got {k}")
        timings: dict[str, float] = {}
        notes: list[str] = []
        if mode == "bm25":
            results = self._timed(timings, "bm25", lambda: self.bm25.retrieve(query, k, doc_ids))
            return Retrieval(query, mode, results, notes, timings)
        if mode == "vector":
            results = self._timed(timings, "vector", lambda: self.vector.retrieve(query, k, doc_ids))
            return Retrieval(query, mode, results, notes, timings, _best_cosine(results))

        cfg = self.config
        keyword = self._timed(timings, "bm25", lambda: self.bm25.retrieve(query, cfg.bm25_candidates, doc_ids))
        semantic = self._timed(timings, "vector", lambda: self.vector.retrieve(query, cfg.vector_candidates, doc_ids))
        fused = self._timed(timings, "fusion", lambda: self.fuse(keyword, semantic))
        cosine = _best_cosine(semantic)
        if mode == "hybrid":
            return Retrieval(query, mode, fused[:k], notes, timings, cosine)

        if self.reranker is None:
            notes.append(f"reranking unavailable ({self.reranker_problem}): results are in hybrid order")
            return Retrieval(query, "hybrid", fused[:k], notes, timings, cosine)
        candidates = fused[: max(k, cfg.rerank_candidates)]
        try:
            reranked = self._timed(timings, "rerank", lambda: self.reranker.rerank(query, candidates))
        except Exception as exc:  # a broken reranker must not take search down with it
            logger.exception("reranking failed")
            notes.append(f"reranking failed ({type(exc).__name__}: {exc}): results are in hybrid order")
            return Retrieval(query, "hybrid", fused[:k], notes, timings, cosine)
        best = reranked[0].breakdown.rerank_score if reranked else None
        return Retrieval(query, mode, reranked[:k], notes, timings, cosine, best)

    def fuse(self, keyword: list[ScoredChunk], semantic: list[ScoredChunk]) -> list[ScoredChunk]:
        cfg = self.config
        by_id: dict[str, ScoredChunk] = {}
        for item in keyword + semantic:
            kept = by_id.setdefault(item.id, ScoredChunk(item.id, item.chunk, 0.0, heading=item.heading))
            for name, value in vars(item.breakdown).items():
                if value is not None:
                    setattr(kept.breakdown, name, value)
        weights = [cfg.bm25_weight, cfg.vector_weight]
        if cfg.method == "rrf":
            scores = reciprocal_rank_fusion([[c.id for c in keyword], [c.id for c in semantic]], cfg.rrf_k, weights)
        else:
            scores = convex_combination([{c.id: c.score for c in keyword}, {c.id: c.score for c in semantic}],
                                        weights)
        for item_id, item in by_id.items():
            item.score = item.breakdown.fused_score = scores[item_id]
        return sorted(by_id.values(), key=lambda c: (-c.score, c.id))

    @staticmethod
    def _timed(timings: dict[str, float], name: str, fn):
        started = time.perf_counter()
        value = fn()
        timings[name] = round(1000 * (time.perf_counter() - started), 2)
        return value


def _best_cosine(results: list[ScoredChunk]) -> float | None:
    values = [r.breakdown.vector_cosine for r in results if r.breakdown.vector_cosine is not None]
    return max(values) if values else None
