"""Efficiency score: workload CPU time relative to the task's reference, combined with radon complexity.

``efficiency = time_weight * time_score + (1 - time_weight) * radon_score`` where

- ``time_score = 10 / (1 + r)`` with ``r = t_candidate / t_reference`` (median CPU seconds per workload pass):
  scale-free (depends only on the ratio), bounded in (0, 10), monotone, and 5 for code as fast as the
  reference, so both faster and slower code move the score;
- ``radon_score = complexity_weight * cc_score + (1 - complexity_weight) * mi_score`` (default weight 0.5) with
  ``cc_score = 10 / (1 + max(cc_mean - 1, 0) / cc_scale)`` (mean cyclomatic complexity of the functions, 1 =
  straight-line code; ``cc_scale`` default 5) and ``mi_score = MI / 10`` (radon's maintainability index, 0..100).

``time_weight``, ``cc_scale`` and ``complexity_weight`` come from ``[scoring]`` (:class:`llmsde.config.ScoringConfig`).
"""

from __future__ import annotations

import statistics
from typing import Any

__all__ = ["CC_SCALE", "efficiency_score", "radon_metrics", "radon_score", "time_score"]

CC_SCALE = 5.0
"""Default mean cyclomatic complexity above 1 at which ``cc_score`` has halved (``[scoring] cc_scale``)."""


def radon_metrics(source: str) -> dict[str, Any]:
    """Cyclomatic complexity (mean, max, per block) and maintainability index; raises ValueError if radon
    fails."""
    from radon.complexity import cc_visit
    from radon.metrics import mi_visit

    try:
        blocks = cc_visit(source)
        mi = float(mi_visit(source, multi=True))
    except (Exception, RecursionError) as err:
        raise ValueError(f"radon failed: {type(err).__name__}") from None
    values = [int(b.complexity) for b in blocks]
    return {
        "cc_mean": statistics.fmean(values) if values else 1.0,
        "cc_max": max(values) if values else 1,
        "blocks": [{"name": b.name, "cc": int(b.complexity), "line": int(b.lineno)} for b in blocks][:200],
        "mi": mi,
    }


def radon_score(metrics: dict[str, Any], cc_scale: float = CC_SCALE, complexity_weight: float = 0.5) -> float:
    """Weighted mean of the complexity score and the maintainability score, in [0, 10]."""
    cc_score = 10.0 / (1.0 + max(float(metrics["cc_mean"]) - 1.0, 0.0) / cc_scale)
    mi_score = min(max(float(metrics["mi"]), 0.0), 100.0) / 10.0
    return complexity_weight * cc_score + (1.0 - complexity_weight) * mi_score


def time_score(candidate_s: float, reference_s: float) -> float:
    """``10 / (1 + candidate/reference)``; a candidate too fast to measure (0 s) gets 10."""
    if reference_s <= 0.0:
        reference_s = 1e-9
    return 10.0 / (1.0 + max(candidate_s, 0.0) / reference_s)


def efficiency_score(
    candidate_s: float,
    reference_s: float,
    metrics: dict[str, Any],
    time_weight: float,
    cc_scale: float = CC_SCALE,
    complexity_weight: float = 0.5,
) -> float:
    """Weighted combination of :func:`time_score` and :func:`radon_score`."""
    radon = radon_score(metrics, cc_scale, complexity_weight)
    return time_weight * time_score(candidate_s, reference_s) + (1.0 - time_weight) * radon
