"""Calibration of the censored fit on clipped truth: bias, RMSE and CI coverage, beside the linear fit's.

Panels are simulated with the model the censored estimator assumes: start states drawn from
N(x0_mean, diag x0_sd^2) and clipped to [0, 10], then x_{k+1} = clip(x_k + A x_k + b + e, 0, 10). Both estimators
fit the same panels, so the table shows what ignoring the bounds costs (the linear fit's intervals are centred on
the wrong values where states pile up on a bound) and whether the censored intervals reach nominal coverage.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from llmsde.dynamics.calibrate import CalibrationResult, ParamCalibration
from llmsde.dynamics.censored import CensoredSdeEstimator
from llmsde.dynamics.estimator import LinearSdeEstimator
from llmsde.dynamics.simulate import simulate_params
from llmsde.dynamics.truth import Truth, TruthParams, reference_truth
from llmsde.errors import FitInputError, LlmsdeWarning

Array = NDArray[np.float64]
PARAMETERS = ("rho", "A", "b", "Sigma", "equilibrium")
MODELS = ("censored", "linear")


def simulate_clipped_panel(
    truth: Truth, sessions: int, iterations: int, rng: np.random.Generator
) -> tuple[Array, tuple[str, ...]]:
    """One panel of ``sessions`` per strategy, every state clipped to [0, 10] (the start too)."""
    blocks, labels = [], []
    for name, p in truth.strategies.items():
        x0 = np.clip(rng.normal(truth.x0_mean, truth.x0_sd, size=(sessions, 3)), 0.0, 10.0)
        blocks.append(simulate_params(p.A, p.b, p.Sigma, x0, iterations, sessions, rng, clip="clip"))
        labels.extend([name] * sessions)
    return np.concatenate(blocks, axis=0), tuple(labels)


def _true(p: TruthParams) -> dict[str, Array]:
    return {
        "rho": np.asarray(p.rho),
        "A": p.A,
        "b": p.b,
        "Sigma": p.Sigma,
        "equilibrium": np.linalg.solve(p.A, -p.b),
    }


def calibrate_censored(
    truth: Truth | None = None,
    sessions: int = 100,
    iterations: int = 10,
    replications: int = 200,
    n_bootstrap: int = 500,
    seed: int = 0,
    ci_level: float = 0.95,
    on_progress: Callable[[int], None] | None = None,
) -> CalibrationResult:
    """Fit ``replications`` clipped panels with the censored and the linear estimator.

    Result keys are ``"<strategy> censored"`` and ``"<strategy> linear"``; parameters rho, A, b, Sigma and the
    (latent) equilibrium. A replication in which a strategy cannot be fitted counts as a miss of every interval.
    """
    for name, value, low in (("sessions", sessions, 5), ("iterations", iterations, 2),
                             ("replications", replications, 1), ("n_bootstrap", n_bootstrap, 20)):  # fmt: skip
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise FitInputError(f"{name} must be an integer >= {low}; got {value!r}", f"e.g. {name}={max(low, 10)}")
    truth = truth if truth is not None else reference_truth(iterations)
    rng = np.random.default_rng(seed)
    cens = CensoredSdeEstimator(n_bootstrap=n_bootstrap, ci_level=ci_level, folds=2, random_state=rng, simulate=False)
    lin = LinearSdeEstimator(
        n_bootstrap=n_bootstrap, ci_level=ci_level, folds=2, random_state=rng, compare_models=False
    )
    keys = [f"{n} {m}" for n in truth.strategies for m in MODELS]
    values: dict[str, dict[str, list[Array]]] = {k: {p: [] for p in PARAMETERS} for k in keys}
    covers: dict[str, dict[str, list[Array]]] = {k: {p: [] for p in PARAMETERS} for k in keys}
    shares: list[Array] = []
    for rep in range(replications):
        x, labels = simulate_clipped_panel(truth, sessions, iterations, rng)
        shares.append(((x[:, 1:] <= 0) | (x[:, 1:] >= 10)).mean(axis=(0, 1)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LlmsdeWarning)
            fits: dict[str, Any] = {"censored": cens.fit(x, labels).strategies, "linear": lin.fit(x, labels).strategies}
        for name, p in truth.strategies.items():
            true = _true(p)
            for model in MODELS:
                sf = fits[model].get(name)
                key = f"{name} {model}"
                for param in PARAMETERS:
                    e = None if sf is None else _figure(sf, param)
                    shape = np.shape(true[param])
                    values[key][param].append(np.full(shape, np.nan) if e is None else e.value)
                    covers[key][param].append(np.zeros(shape, bool) if e is None else e.covers(true[param]))
        if on_progress is not None:
            on_progress(rep + 1)
    out: dict[str, dict[str, ParamCalibration]] = {}
    for name, p in truth.strategies.items():
        true = _true(p)
        for model in MODELS:
            key = f"{name} {model}"
            out[key] = {}
            for param in PARAMETERS:
                err = np.stack(values[key][param]) - true[param]
                out[key][param] = ParamCalibration(
                    truth=np.asarray(true[param], dtype=np.float64),
                    bias=np.nanmean(err, axis=0),
                    rmse=np.sqrt(np.nanmean(err**2, axis=0)),
                    coverage=np.stack(covers[key][param]).mean(axis=0),
                )
    settings = {
        "model": "censored",
        "sessions": sessions,
        "iterations": iterations,
        "replications": replications,
        "n_bootstrap": n_bootstrap,
        "seed": seed,
        "ci_level": ci_level,
        "bound_share": np.mean(shares, axis=0).tolist(),
        "truth": truth.to_dict(),
    }
    return CalibrationResult(out, settings)


def _figure(sf: Any, param: str) -> Any:
    if param == "equilibrium":
        return getattr(sf, "latent_equilibrium", None) or sf.equilibrium
    return getattr(sf, param)
