"""Simulation of a fitted strategy with the model it was fitted as, and a documented rule for the [0, 10] range.

One step: x_{k+1} = Phi x_k + c + L z with z ~ N(0, I) and L L^T = Q (a symmetric square root, so a Q that is
only positive semi-definite still works), where (Phi, c, Q) is the step map of the fit's method
(:func:`llmsde.dynamics.exact.step_map`): Euler-Maruyama (``em``: Phi = I + A dt, c = b dt, Q = Sigma dt) or the
exact discretisation (``exact``: Phi = exp(A dt) and the implied c and innovation covariance). Scores are
bounded, the SDE is not; ``clip`` picks how a path is kept inside [lower, upper] after each step:

- ``"clip"`` (default): project onto the box (a score cannot exceed 10 or fall below 0; mass piles on the bound,
  as observed scores do: e.g. functionality sits at 10 once all tests pass);
- ``"reflect"``: mirror the overshoot back into the box (no pile-up on the bound);
- ``"none"``: the unbounded linear SDE (what the estimator assumes; used by ``calibrate``).

An objective the fit held (``StrategyFit.held``) does not move: a constant one stays at its constant whatever
``x0`` says, and a missing one (never observed) is NaN in every path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from llmsde.dynamics.exact import step_map
from llmsde.dynamics.results import OBJECTIVE_NAMES, StrategyFit
from llmsde.errors import FitInputError

Array = NDArray[np.float64]
CLIP_RULES = ("clip", "reflect", "none")
QUANTILES: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """Simulated paths and their summaries."""

    paths: Array
    """ndarray of shape (paths, steps + 1, 3); paths[:, 0] is the start state."""
    mean: Array
    """ndarray of shape (steps + 1, 3): mean over paths."""
    quantiles: dict[float, Array]
    """Quantile level -> ndarray of shape (steps + 1, 3)."""
    dt: float
    clip: str


def _sqrtm_psd(sigma: Array) -> Array:
    w, v = np.linalg.eigh(0.5 * (sigma + sigma.T))
    return np.asarray((v * np.sqrt(np.clip(w, 0.0, None))) @ v.T)


def _keep_in(x: Array, rule: str, lower: float, upper: float) -> Array:
    if rule == "clip":
        return np.clip(x, lower, upper)
    if rule == "reflect":
        width = upper - lower
        y = np.mod(x - lower, 2 * width)
        return lower + np.where(y > width, 2 * width - y, y)
    return x


def simulate_params(
    a: Array,
    b: Array,
    sigma: Array,
    x0: Array,
    steps: int,
    paths: int,
    rng: np.random.Generator,
    dt: float = 1.0,
    clip: str = "clip",
    bounds: tuple[float, float] = (0.0, 10.0),
    method: str = "em",
) -> Array:
    """Paths of shape (paths, steps + 1, 3) from raw parameters; x0 is (3,) or (paths, 3)."""
    f64 = np.float64
    m = step_map(np.asarray(a, dtype=f64), np.asarray(b, dtype=f64), np.asarray(sigma, dtype=f64), dt, method)
    root = _sqrtm_psd(m.q)
    out = np.empty((paths, steps + 1, 3))
    out[:, 0] = np.broadcast_to(np.asarray(x0, dtype=np.float64), (paths, 3))
    noise = rng.standard_normal((steps, paths, 3)) @ root.T
    for k in range(steps):
        nxt = out[:, k] @ m.phi.T + m.c + noise[k]
        out[:, k + 1] = _keep_in(nxt, clip, *bounds)
    return out


def simulate(
    fit: StrategyFit,
    x0: Sequence[float] | None = None,
    steps: int = 10,
    paths: int = 1000,
    seed: int | None = 0,
    clip: str = "clip",
    dt: float = 1.0,
) -> SimulationResult:
    """Simulate ``paths`` trajectories of ``steps`` iterations from ``x0`` (default: the fit's mean start), stepping
    with the step map of ``fit.method``."""
    if clip not in CLIP_RULES:
        raise FitInputError(f"clip must be one of {', '.join(CLIP_RULES)}; got {clip!r}", "e.g. clip='clip'")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise FitInputError(f"steps must be an integer >= 1; got {steps!r}", "e.g. --steps 10")
    if isinstance(paths, bool) or not isinstance(paths, int) or paths < 1:
        raise FitInputError(f"paths must be an integer >= 1; got {paths!r}", "e.g. --paths 1000")
    start = np.array(fit.x0_mean if x0 is None else x0, dtype=np.float64)
    held = {j: fit.held[name] for j, name in enumerate(OBJECTIVE_NAMES) if name in fit.held}
    if start.shape == (3,):
        for j, v in held.items():
            start[j] = 0.0 if v is None else v
    if start.shape != (3,) or not np.isfinite(start).all():
        raise FitInputError(
            f"the start state must be 3 finite numbers (security, efficiency, functionality); "
            f"got {list(start.ravel())}",
            "e.g. --from 5,5,8",
        )
    if clip != "none" and ((start < 0).any() or (start > 10).any()):
        raise FitInputError(f"the start state {list(start)} lies outside [0, 10]", "give scores between 0 and 10")
    rng = np.random.default_rng(seed)
    a, b, sigma = (np.nan_to_num(e.value, nan=0.0) for e in (fit.A, fit.b, fit.Sigma))
    xs = simulate_params(a, b, sigma, start, steps, paths, rng, dt, clip, method=fit.method)
    for j, v in held.items():
        xs[..., j] = np.nan if v is None else v
    quant = np.quantile(xs, QUANTILES, axis=0)
    return SimulationResult(
        paths=xs,
        mean=xs.mean(axis=0),
        quantiles={q: quant[i] for i, q in enumerate(QUANTILES)},
        dt=dt,
        clip=clip,
    )
