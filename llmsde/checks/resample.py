"""Session-bootstrap draws of named metrics for one run, by refitting resampled panels with the public
estimator.

``compare`` needs draws, not just CIs: the CI of a difference between two runs comes from differences of draws
bootstrapped independently in each run. Refitting with :class:`~llmsde.dynamics.LinearSdeEstimator` (no inner
bootstrap, no model comparison) keeps every figure defined exactly as ``llmsde fit`` defines it, at a cost
of a few
milliseconds per resample. Resamples are stratified (each strategy keeps its session count), as in ``fit``.

Two runs compared must be resampled by independent streams (:func:`independent_streams`): with one seed for
both, run and copy draw the same session indices and their differences are exactly 0 in every resample.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from llmsde.checks.metrics import read_metric
from llmsde.errors import FitInputError, LlmsdeWarning

__all__ = ["MetricDraws", "bootstrap_metrics", "independent_streams"]

Array = NDArray[np.float64]


class MetricDraws(NamedTuple):
    """Point values on the full panel and bootstrap draws, per strategy and metric."""

    point: dict[str, dict[str, float]]
    """strategy -> metric -> value on the full panel."""
    draws: dict[str, dict[str, Array]]
    """strategy -> metric -> ndarray of shape (n_valid,): values over the valid resamples."""
    n_valid: int
    """Resamples whose refit succeeded (a resample can repeat sessions until the design is singular)."""
    n_total: int


def independent_streams(seed: int, n: int) -> list[np.random.SeedSequence]:
    """``n`` statistically independent seed sequences spawned from ``seed`` (one per compared run)."""
    return list(np.random.SeedSequence(seed).spawn(n))


def _fit_points(
    x: Array, labels: Sequence[str], metrics: Sequence[str], method: str, model: str, folds: int, seed: int
) -> tuple[dict[str, dict[str, float]], dict[str, frozenset[str]]]:
    """Metric values per fitted strategy, and each one's held objectives (skipped strategies are absent)."""
    from llmsde.dynamics import LinearSdeEstimator

    est = LinearSdeEstimator(
        n_bootstrap=0, folds=folds, method=method, model=model, random_state=seed, compare_models=False
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LlmsdeWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = est.fit(x, list(labels))
    values = {s: {m: read_metric(f, m).value for m in metrics} for s, f in fit.strategies.items()}
    return values, {s: frozenset(f.held) for s, f in fit.strategies.items()}


def bootstrap_metrics(
    x: Array,
    labels: Sequence[str],
    metrics: Sequence[str],
    n_bootstrap: int = 200,
    seed: int | np.random.SeedSequence = 0,
    method: str = "em",
    model: str = "full",
) -> MetricDraws:
    """Point values and ``n_bootstrap`` stratified session-bootstrap draws of ``metrics`` for every strategy.

    The full-panel fit's FitInputError (meaningless input) propagates; a resample whose refit fits nothing is
    skipped and counted, so ``n_valid`` tells how many draws the CIs rest on. ``seed``: an int or a
    :class:`numpy.random.SeedSequence` (give each compared run its own, :func:`independent_streams`).
    """
    labs = np.asarray(list(labels))
    folds = 2
    rng = np.random.default_rng(seed)
    fold_seeds = rng.integers(0, 2**31, size=n_bootstrap + 1)
    point, held = _fit_points(x, labels, metrics, method, model, folds, int(fold_seeds[0]))
    strata = [np.flatnonzero(labs == s) for s in dict.fromkeys(labels)]
    collected: dict[str, dict[str, list[float]]] = {s: {m: [] for m in metrics} for s in point}
    n_valid = 0
    for b in range(n_bootstrap):
        idx = np.concatenate([rng.choice(s, size=len(s), replace=True) for s in strata])
        try:
            values, held_b = _fit_points(
                x[idx], labs[idx].tolist(), metrics, method, model, folds, int(fold_seeds[b + 1])
            )
        except FitInputError:
            continue
        if not values:
            continue
        n_valid += 1
        for s, per in values.items():
            if s not in collected or held_b[s] != held[s]:
                continue  # skipped on the full panel, or a moving objective happens to be constant here
            for m, v in per.items():
                collected[s][m].append(v)
    draws = {s: {m: np.asarray(v, dtype=np.float64) for m, v in per.items()} for s, per in collected.items()}
    return MetricDraws(point, draws, n_valid, n_bootstrap)
