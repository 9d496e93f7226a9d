"""Cross-encoder reranking of the fused candidates (sentence-transformers CrossEncoder)."""

from __future__ import annotations

import logging
import time

import numpy as np

from retrieval.types import ScoredChunk

logger = logging.getLogger(__name__)

DTYPES = ("auto", "float32", "bfloat16", "int8")


class CrossEncoderReranker:
    """Scores (query, chunk) pairs with a cross-encoder loaded from a name or a local path.

    `dtype`: auto (bfloat16 where the CPU has native bf16 arithmetic, else float32), float32, bfloat16, or int8
    (torch dynamic quantisation of the linear layers). `threads`: torch threads while scoring (None: leave as is).
    `weight`: how the new order is made: weight * z(cross-encoder logit) + (1 - weight) * z(fused hybrid score),
    z-scored over the candidates; 1 orders by the cross-encoder alone, 0 keeps the hybrid order.
    """

    def __init__(self, model: str, *, device: str = "cpu", batch_size: int = 16, max_length: int = 256,
                 dtype: str = "auto", threads: int | None = None, weight: float = 1.0):
        if batch_size <= 0:
            raise ValueError(f"batch_size must be > 0, got {batch_size}")
        if not 0.0 <= weight <= 1.0:
            raise ValueError(f"weight must be between 0 and 1, got {weight}")
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
        if threads is not None and threads <= 0:
            raise ValueError(f"threads must be > 0, got {threads}")
        import torch
        from sentence_transformers import CrossEncoder

        from ingest.embedding import fast_dtype

        if dtype == "auto":
            dtype = fast_dtype(torch, device)
        self.model_name = model
        self.batch_size = batch_size
        self.dtype = dtype
        self.threads = threads
        self.weight = weight
        torch_dtype = torch.bfloat16 if dtype == "bfloat16" else torch.float32
        self._model = CrossEncoder(model, device=device, max_length=max_length,
                                   model_kwargs={"dtype": torch_dtype})
        if dtype == "int8":
            torch.ao.quantization.quantize_dynamic(self._model.model, {torch.nn.Linear}, dtype=torch.qint8,
                                                   inplace=True)
        logger.info("loaded reranker %s (%s, max %d tokens)", model, dtype, max_length)

    def score(self, query: str, texts: list[str]) -> np.ndarray:
        """One relevance score per text (the model's activation applied: sigmoid of the logit by default)."""
        return self._activate(self.logits(query, texts))

    def _activate(self, logits: np.ndarray) -> np.ndarray:
        import torch

        return self._model.activation_fn(torch.from_numpy(logits)).numpy().astype(np.float32)

    def logits(self, query: str, texts: list[str]) -> np.ndarray:
        """One raw relevance logit per text, in float32."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
        import torch

        previous = torch.get_num_threads()
        if self.threads:
            torch.set_num_threads(self.threads)
        try:
            # Raw logits, activated in float32: a sigmoid in bfloat16 would round near-certain scores into ties.
            logits = self._model.predict([(query, t) for t in texts], batch_size=self.batch_size,
                                         show_progress_bar=False, convert_to_tensor=True,
                                         activation_fn=torch.nn.Identity())
        finally:
            torch.set_num_threads(previous)
        return logits.float().cpu().reshape(len(texts), -1)[:, -1].numpy().astype(np.float32)

    def rerank(self, query: str, candidates: list[ScoredChunk]) -> list[ScoredChunk]:
        """`candidates` in their new order; each gets `breakdown.rerank_score` (the activated cross-encoder
        score) and `score` (that score, or the blend with the hybrid score when weight < 1)."""
        started = time.perf_counter()
        logits = self.logits(query, [c.context_text for c in candidates])
        scores = self._activate(logits)
        if self.weight < 1.0:
            blended = blend_scores(logits, np.array([c.score for c in candidates]), self.weight)
        else:
            blended = scores
        for candidate, value, order_key in zip(candidates, scores, blended):
            candidate.breakdown.rerank_score = float(value)
            candidate.score = float(order_key)
        logger.debug("reranked %d candidates in %.0f ms", len(candidates), 1000 * (time.perf_counter() - started))
        return sorted(candidates, key=lambda c: -c.score)


def blend_scores(logits: np.ndarray, hybrid: np.ndarray, weight: float) -> np.ndarray:
    """The rerank order key: weight * z(cross-encoder logits) + (1 - weight) * z(hybrid scores)."""
    return weight * zscore(logits) + (1.0 - weight) * zscore(hybrid)


def zscore(values: np.ndarray) -> np.ndarray:
    """Standard scores; all zeros when the values are all equal (nothing to tell them apart)."""
    values = np.asarray(values, dtype=np.float64)
    spread = values.std()
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)
