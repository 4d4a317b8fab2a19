"""Simulation of the censored process for many parameter draws at once: bound shares, long-run behaviour and
first passage below a threshold.

One step, for every draw d and path p: x_{k+1} = clip(x_k + A_d x_k + b_d + L_d z, 0, 10), the rule the
censored fit assumes (and that ``simulate`` applies to a censored fit). Paths start at the observed starting
states (each session's first working state, repeated). One run of ``long_horizon`` steps gives:

- bound shares over the panel's own iterations (only where the data have a state, so data and model are
  compared on the same cells);
- first passage: P(x_j <= threshold at some iteration 0..k) for k = 1..horizon, and the expected first
  iteration tau (0 when the start is already there), truncated at ``long_horizon`` (with P(tau <= long_horizon)
  beside it, so a truncated mean is visibly a lower bound);
- the long-run ("stationary") shares on the bounds and the mean score: those of the last step.

Draws are the bootstrap parameter sets, so each summary gets a percentile CI like every other figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from llmsde.dynamics.censored_results import Breakage, CensoredFit
from llmsde.dynamics.simulate import SimulationResult
from llmsde.errors import FitInputError

Array = NDArray[np.float64]
_NAMES = ("security", "efficiency", "functionality")
LONG_HORIZON = 100
"""Steps simulated for the long-run figures and the expected first-passage time."""


class PathSummary(NamedTuple):
    """Summaries per parameter draw (leading axis D)."""

    design_share: Array
    """(D, 3, 2): shares on (lower, upper) over the cells where ``observed`` is True (k >= 1)."""
    passage_by_k: Array
    """(D, 3, horizon): P(reached threshold by k), k = 1..horizon."""
    expected_tau: Array
    """(D, 3): E[min(tau, long_horizon)]."""
    reached: Array
    """(D, 3): P(tau <= long_horizon)."""
    final_share: Array
    """(D, 3, 2): shares on (lower, upper) at the last step."""
    final_mean: Array
    """(D, 3): mean score at the last step."""


def _roots(sigma: Array) -> Array:
    """Symmetric PSD square roots of a batch (D, 3, 3)."""
    sym = 0.5 * (sigma + np.swapaxes(sigma, -1, -2))
    w, v = np.linalg.eigh(sym)
    return np.asarray((v * np.sqrt(np.clip(w, 0.0, None))[..., None, :]) @ np.swapaxes(v, -1, -2))


def summarise_paths(
    a: Array,
    b: Array,
    sigma: Array,
    starts: Array,
    observed: NDArray[np.bool_],
    thresholds: Array,
    horizon: int,
    reps: int,
    rng: np.random.Generator,
    bounds: tuple[float, float] = (0.0, 10.0),
    long_horizon: int = LONG_HORIZON,
) -> PathSummary:
    """Simulate ``reps`` paths per start for each draw of (a (D,3,3), b (D,3), sigma (D,3,3)).

    ``starts`` (D, S, 3) are the first working states of each draw's sessions (a bootstrap draw uses its own
    resample of sessions, so the CIs include the sampling of starting states); ``observed`` (D, S, T) marks the
    data's cells (the design shares count simulated states at those cells, k >= 1); ``thresholds`` (3,).
    """
    lower, upper = bounds
    n_d, _, n_t = observed.shape
    steps = max(long_horizon, horizon, n_t - 1)
    root = _roots(sigma)
    x = np.repeat(starts, reps, axis=1).astype(np.float64)
    cells = np.repeat(observed, reps, axis=1)
    count = np.maximum(cells[:, :, 1:].sum(axis=(1, 2)), 1)[:, None, None]
    design = np.zeros((n_d, 3, 2))
    thr = np.asarray(thresholds, dtype=np.float64)
    hit = x <= thr
    tau = np.where(hit, 0.0, np.nan)
    by_k = np.zeros((n_d, 3, horizon))
    at = np.swapaxes(a, -1, -2)
    rt = np.swapaxes(root, -1, -2)
    for k in range(1, steps + 1):
        z = rng.standard_normal(x.shape)
        x = np.clip(x + x @ at + b[:, None, :] + z @ rt, lower, upper)
        if k < n_t:
            w = cells[:, :, k][..., None]
            design[..., 0] += (w & (x <= lower)).sum(axis=1)
            design[..., 1] += (w & (x >= upper)).sum(axis=1)
        new = (x <= thr) & ~hit
        tau = np.where(new, float(k), tau)
        hit |= new
        if k <= horizon:
            by_k[..., k - 1] = hit.mean(axis=1)
    reached = hit.mean(axis=1)
    expected = np.where(np.isnan(tau), float(steps), tau).mean(axis=1)
    final = np.stack([(x <= lower).mean(axis=1), (x >= upper).mean(axis=1)], axis=-1)
    return PathSummary(design / count, by_k, expected, reached, final, x.mean(axis=1))


def data_shares(x: Array, bounds: tuple[float, float] = (0.0, 10.0)) -> Array:
    """(3, 2): shares of observed states k >= 1 on (lower, upper) per objective; x (S, T, 3) with NaN gaps."""
    lower, upper = bounds
    obs = x[:, 1:]
    fin = np.isfinite(obs)
    n = np.maximum(fin.sum(axis=(0, 1)), 1)
    with np.errstate(invalid="ignore"):
        low = (fin & (obs <= lower + 1e-9)).sum(axis=(0, 1)) / n
        up = (fin & (obs >= upper - 1e-9)).sum(axis=(0, 1)) / n
    return np.stack([low, up], axis=-1)


def simulate_censored(
    fit: CensoredFit,
    x0: Sequence[float] | None = None,
    steps: int = 10,
    paths: int = 1000,
    seed: int | None = 0,
    breakage: Breakage | None = None,
) -> SimulationResult:
    """Paths of a censored fit, clipped by the rule it was fitted with; with ``breakage``, each step a working
    path breaks with probability ``break_rate`` (its scores are NaN while broken) and a broken one is repaired
    with probability ``repair_rate``, continuing from its last working state."""
    from llmsde.dynamics.simulate import QUANTILES

    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise FitInputError(f"steps must be an integer >= 1; got {steps!r}", "e.g. --steps 10")
    if isinstance(paths, bool) or not isinstance(paths, int) or paths < 1:
        raise FitInputError(f"paths must be an integer >= 1; got {paths!r}", "e.g. --paths 1000")
    start = np.array(fit.x0_mean if x0 is None else x0, dtype=np.float64)
    held = {j: fit.held[name] for j, name in enumerate(_NAMES) if name in fit.held}
    if start.shape == (3,):
        for j, v in held.items():
            start[j] = 0.0 if v is None else v
    if start.shape != (3,) or not np.isfinite(start).all() or (start < 0).any() or (start > 10).any():
        raise FitInputError(
            f"the start state must be 3 scores in [0, 10] (security, efficiency, functionality); got {list(start)}",
            "e.g. --from 5,5,8",
        )
    rng = np.random.default_rng(seed)
    a, b, sig = (np.nan_to_num(e.value) for e in (fit.A, fit.b, fit.Sigma))
    root = _roots(sig[None])[0]
    p_break = 0.0 if breakage is None else float(np.nan_to_num(breakage.break_rate.value))
    p_repair = 1.0 if breakage is None else float(np.nan_to_num(breakage.repair_rate.value, nan=1.0))
    xs = np.empty((paths, steps + 1, 3))
    xs[:, 0] = start
    last = np.broadcast_to(start, (paths, 3)).copy()
    down = np.zeros(paths, dtype=bool)
    for k in range(1, steps + 1):
        nxt = np.clip(last + last @ a.T + b + rng.standard_normal((paths, 3)) @ root.T, 0.0, 10.0)
        u = rng.random(paths)
        down = np.where(down, u >= p_repair, u < p_break)
        last = np.where(down[:, None], last, nxt)
        xs[:, k] = np.where(down[:, None], np.nan, nxt)
    for j, v in held.items():
        xs[..., j] = np.nan if v is None else v
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(xs, axis=0) if np.isnan(xs).any() else xs.mean(axis=0)
        quant = np.nanquantile(xs, QUANTILES, axis=0)
    return SimulationResult(xs, mean, {q: quant[i] for i, q in enumerate(QUANTILES)}, 1.0, "censored")
