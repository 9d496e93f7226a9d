"""Cross-encoder reranking of the fused candidates (sentence-transformers CrossEncoder)."""

from __future__ import annotations

import logging
import time

import numpy as np

from retrieval.types import ScoredChunk

logger = logging.getLogger(__name__)


class CrossEncoderReranker:
    """Scores (query, chunk) pairs with a cross-encoder loaded from a name or a local path."""

    def __init__(self, model: str, *, device: str = "cpu", batch_size: int = 16, max_length: int = 256):
        if batch_size <= 0:
            raise ValueError(f"batch_size must be > 0, got {batch_size}")
        from sentence_transformers import CrossEncoder

        self.model_name = model
        self.batch_size = batch_size
        self._model = CrossEncoder(model, device=device, max_length=max_length)

    def score(self, query: str, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros(0, dtype=np.float32)
        scores = self._model.predict([(query, t) for t in texts], batch_size=self.batch_size,
                                     show_progress_bar=False, convert_to_numpy=True)
        return np.asarray(scores, dtype=np.float32).reshape(len(texts), -1)[:, -1]

    def rerank(self, query: str, candidates: list[ScoredChunk]) -> list[ScoredChunk]:
        """`candidates` ordered by the cross-encoder; each gets `breakdown.rerank_score` and `score`."""
        started = time.perf_counter()
        scores = self.score(query, [c.context_text for c in candidates])
        for candidate, value in zip(candidates, scores):
            candidate.breakdown.rerank_score = float(value)
            candidate.score = float(value)
        logger.debug("reranked %d candidates in %.0f ms", len(candidates), 1000 * (time.perf_counter() - started))
        return sorted(candidates, key=lambda c: -c.score)
