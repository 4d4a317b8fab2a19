"""Known parameters for calibration: :class:`Truth`, and :func:`reference_truth` from the published figures.

The reference figures (rho, equilibria, R^2, two interference correlations) do not pin down A, b and Sigma, so
the reference truth fixes the rest by a documented construction:

- A is lower-triangular, so its eigenvalues are its diagonal: rates rho * (1, 1.15, 1.3) for (S, E, F), capped
at
  1.9 so the Euler map stays contracting; functionality is coupled to the other two levels (A_FS = -0.03,
  A_FE = -0.05), so view (b) of the interference is non-zero;
- b = -A x* puts the equilibrium at the published x*;
- Sigma = s^2 R with R a positive-definite correlation matrix (R_SE = 0); s, R_FE, R_FS are solved so that the
*population* moments of
  the pooled transitions (start x_0 ~ N(X0_MEAN, diag X0_SD^2), T steps, no clipping) give the published
  overall
  R^2 and Corr(dF, dE), Corr(dF, dS) as closely as the model allows; what was reached is kept in ``achieved``.
  With rates near 1 per iteration the noise itself feeds the drift term A x, so R^2 cannot fall below a floor
  (about 0.55-0.65 for SF and FF); there the noise sd stops at :data:`NOISE_SD_MAX` and ``achieved`` says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from llmsde.errors import FitInputError

Array = NDArray[np.float64]

REFERENCE: dict[str, dict[str, Any]] = {
    "EF": {"rho": 0.33, "r2": 0.58, "equilibrium": (5.25, 4.65, 7.26)},
    "SF": {"rho": 1.08, "r2": 0.72, "equilibrium": (5.75, 3.90, 8.20)},
    "FF": {"rho": 1.29, "r2": 0.50, "equilibrium": (0.00, 2.10, 8.75)},
    "AI": {"rho": 0.15, "r2": 0.74, "equilibrium": (4.00, 4.20, 8.20)},
}
"""Published figures of DESIGN.md section 6."""
REFERENCE_CORR = {"FE": -0.17, "FS": -0.09}
X0_MEAN = (3.0, 3.0, 6.0)
X0_SD = (2.0, 2.0, 2.0)
NOISE_SD_MAX = 1.5
"""Largest per-step noise sd of the reference truth, in score points."""


@dataclass(frozen=True, eq=False)
class TruthParams:
    """True drift and diffusion of one strategy."""

    A: Array
    b: Array
    Sigma: Array

    @property
    def rho(self) -> float:
        """-max Re(lambda(A))."""
        return float(-np.linalg.eigvals(self.A).real.max())


@dataclass(frozen=True, eq=False)
class Truth:
    """Parameters per strategy plus the distribution of start states, for simulating panels."""

    strategies: dict[str, TruthParams]
    x0_mean: tuple[float, float, float] = X0_MEAN
    x0_sd: tuple[float, float, float] = X0_SD
    achieved: dict[str, dict[str, float]] = field(default_factory=dict)
    """Population R^2 and correlations the construction reached, per strategy (reference truth only)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the ``--truth`` file format)."""
        return {
            "x0_mean": list(self.x0_mean),
            "x0_sd": list(self.x0_sd),
            "strategies": {
                k: {"A": p.A.tolist(), "b": p.b.tolist(), "Sigma": p.Sigma.tolist()} for k, p in self.strategies.items()
            },
            "achieved": self.achieved,
        }

    @classmethod
    def from_dict(cls, d: Any) -> Truth:
        """Validate and read a truth document; bad content is a FitInputError naming the field."""
        if not isinstance(d, dict) or not isinstance(d.get("strategies"), dict) or not d["strategies"]:
            raise FitInputError("truth must be an object with a non-empty 'strategies' object", _TRUTH_HINT)
        strategies = {}
        for name, p in d["strategies"].items():
            a = _arr(p, "A", (3, 3), name)
            b = _arr(p, "b", (3,), name)
            sig = _arr(p, "Sigma", (3, 3), name)
            if not np.allclose(sig, sig.T) or np.linalg.eigvalsh(sig).min() < -1e-12:
                raise FitInputError(
                    f"truth strategy {name!r}: Sigma must be symmetric positive semi-definite", _TRUTH_HINT
                )
            strategies[str(name)] = TruthParams(a, b, sig)
        m = tuple(float(v) for v in d.get("x0_mean", X0_MEAN))
        s = tuple(float(v) for v in d.get("x0_sd", X0_SD))
        if len(m) != 3 or len(s) != 3 or min(s) < 0:
            raise FitInputError("truth x0_mean and x0_sd must be 3 numbers each (sd >= 0)", _TRUTH_HINT)
        return cls(strategies, (m[0], m[1], m[2]), (s[0], s[1], s[2]), dict(d.get("achieved", {})))


_TRUTH_HINT = "see `llmsde calibrate --json` or reference_truth().to_dict() for the format"


def _arr(p: Any, key: str, shape: tuple[int, ...], name: str) -> Array:
    try:
        a = np.asarray(p[key], dtype=np.float64)
    except (KeyError, TypeError, ValueError):
        raise FitInputError(f"truth strategy {name!r}: {key} is missing or not numeric", _TRUTH_HINT) from None
    if a.shape != shape or not np.isfinite(a).all():
        raise FitInputError(
            f"truth strategy {name!r}: {key} must be finite with shape {shape}; got {a.shape}", _TRUTH_HINT
        )
    return a


def population_moments(a: Array, b: Array, sigma: Array, steps: int, dt: float = 1.0) -> tuple[float, Array]:
    """Overall R^2 and Corr(dx) of pooled transitions k = 0..steps-1 under the Euler-Maruyama recursion."""
    phi = np.eye(3) + a * dt
    q = sigma * dt
    m = np.asarray(X0_MEAN, dtype=np.float64)
    c = np.diag(np.square(X0_SD))
    second = np.zeros((3, 3))
    mean = np.zeros(3)
    for _ in range(steps):
        mu = (a @ m + b) * dt
        second += (a @ c @ a.T) * dt**2 + q + np.outer(mu, mu)
        mean += mu
        m = phi @ m + b * dt
        c = phi @ c @ phi.T + q
    mean /= steps
    cov = second / steps - np.outer(mean, mean)
    r2 = 1.0 - float(np.trace(q) / np.trace(cov))
    sd = np.sqrt(np.diag(cov))
    return r2, cov / np.outer(sd, sd)


def _strategy(
    rho: float, r2: float, eq: tuple[float, float, float], steps: int
) -> tuple[TruthParams, dict[str, float]]:
    from scipy.optimize import least_squares

    rates = np.minimum(rho * np.array([1.0, 1.15, 1.3]), 1.9)
    a = -np.diag(rates)
    a[2, 0], a[2, 1] = -0.03, -0.05
    b = -a @ np.asarray(eq)

    def sigma_of(v: Array) -> Array:
        """s^2 R with (R_FE, R_FS) = v[1] (cos v[2], sin v[2]); v[1] < 1 keeps R positive definite."""
        r = np.eye(3)
        r[2, 1] = r[1, 2] = v[1] * np.cos(v[2])
        r[2, 0] = r[0, 2] = v[1] * np.sin(v[2])
        return np.asarray(v[0] ** 2 * r)

    def resid(v: Array) -> Array:
        got_r2, corr = population_moments(a, b, sigma_of(v), steps)
        return np.array([got_r2 - r2, corr[2, 1] - REFERENCE_CORR["FE"], corr[2, 0] - REFERENCE_CORR["FS"]])

    sol = least_squares(
        resid,
        x0=np.array([0.5, 0.2, 1.2 * np.pi]),
        bounds=([1e-3, 0.0, np.pi], [NOISE_SD_MAX, 0.9, 1.5 * np.pi]),
    )
    sig = sigma_of(sol.x)
    got_r2, corr = population_moments(a, b, sig, steps)
    achieved = {"r2": got_r2, "corr_FE": float(corr[2, 1]), "corr_FS": float(corr[2, 0]), "rho": rho}
    return TruthParams(a, b, sig), achieved


def reference_truth(iterations: int = 10) -> Truth:
    """The published reference figures (docs/fit.md) turned into parameters (see the module docstring)."""
    strategies: dict[str, TruthParams] = {}
    achieved: dict[str, dict[str, float]] = {}
    for name, ref in REFERENCE.items():
        strategies[name], achieved[name] = _strategy(ref["rho"], ref["r2"], ref["equilibrium"], iterations)
    return Truth(strategies, achieved=achieved)
