"""Combine ranked lists: reciprocal rank fusion, or a convex combination of normalised scores."""

from __future__ import annotations

from collections.abc import Sequence


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], k: float = 60.0,
                           weights: Sequence[float] | None = None) -> dict[str, float]:
    """score(d) = sum_i w_i / (k + rank_i(d)), ranks from 1 (Cormack et al. 2009)."""
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    weights = weights or [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError(f"{len(weights)} weights for {len(rankings)} rankings")
    fused: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, item in enumerate(ranking, 1):
            fused[item] = fused.get(item, 0.0) + weight / (k + rank)
    return fused


def min_max(scores: dict[str, float]) -> dict[str, float]:
    """Scale to [0, 1]; a list whose scores are all equal maps to 1."""
    if not scores:
        return {}
    lo, hi = min(scores.values()), max(scores.values())
    if hi == lo:
        return {key: 1.0 for key in scores}
    return {key: (value - lo) / (hi - lo) for key, value in scores.items()}


def convex_combination(score_lists: Sequence[dict[str, float]], weights: Sequence[float]) -> dict[str, float]:
    """sum_i w_i * minmax_i(d), a chunk absent from a list scoring 0 there (Bruch et al. 2023)."""
    if len(weights) != len(score_lists):
        raise ValueError(f"{len(weights)} weights for {len(score_lists)} score lists")
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError(f"weights must be >= 0 and not all 0, got {list(weights)}")
    fused: dict[str, float] = {}
    for scores, weight in zip(score_lists, weights):
        for item, value in min_max(scores).items():
            fused[item] = fused.get(item, 0.0) + weight * value
    for scores in score_lists:
        for item in scores:
            fused.setdefault(item, 0.0)
    return fused
