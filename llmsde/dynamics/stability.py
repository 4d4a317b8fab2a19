"""Eigen-analysis of the drift matrix: rates, half-lives, mode, discrete stability, equilibrium (docs/fit.md).

All functions accept a batch of matrices (leading axes), so the bootstrap reuses them unchanged, and any size
n x n: a strategy with held objectives (:mod:`llmsde.dynamics._held`) is analysed on its moving sub-system. Eigenvalues
are
put in a stable order (real part descending, then imaginary part descending) for the point estimate, and each
resample's eigenvalues are matched to the point estimate's by the permutation of least total distance, so a CI
belongs to one mode and not to "whichever eigenvalue happened to sort first".
"""

from __future__ import annotations

import itertools
import math
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
CArray = NDArray[np.complex128]

MODE_TOL = 1e-6
"""Without bootstrap CIs only: |Im lambda| above this makes a mode oscillatory; |lambda| below it marginal."""
SINGULAR_RCOND = 1e-10
"""A with reciprocal condition number below this is singular: no equilibrium."""
MODES = ("marginal", "oscillatory", "alternating", "exponential")
"""Mode labels in the order they take precedence (docs/fit.md, "Modes")."""
LN2 = math.log(2.0)


class Rates(NamedTuple):
    """Scalar summaries of the spectrum, each of shape (...)."""

    rho: Array
    """Convergence rate of the slowest mode, -max Re(lambda)."""
    fastest: Array
    """-min Re(lambda): rate of the fastest mode."""
    decay: Array
    """-ln max|mu| per iteration, mu the per-step multipliers: the decay of the mean path's slowest mode
    (<= 0 when it does not contract). The discrete half-life is ln 2 / decay."""


def sorted_eigenvalues(a: Array) -> CArray:
    """Eigenvalues of one n x n matrix, real part descending then imaginary part descending."""
    lam = np.linalg.eigvals(a).astype(np.complex128)
    order = np.lexsort((-lam.imag.round(12), -lam.real.round(12)))
    return lam[order]


def matched_eigenvalues(a: Array, reference: CArray) -> CArray:
    """Eigenvalues of a batch (B, n, n), each row permuted to be closest to ``reference`` (n,)."""
    lam = np.linalg.eigvals(a).astype(np.complex128)
    perms = np.array(list(itertools.permutations(range(len(reference)))))
    cands = lam[:, perms]
    cost = np.abs(cands - reference[None, None, :]).sum(axis=2)
    best = np.nan_to_num(cost, nan=np.inf).argmin(axis=1)
    return np.asarray(cands[np.arange(len(lam)), best], dtype=np.complex128)


def multipliers(lam: CArray, dt: float, method: str = "em") -> CArray:
    """Per-step multipliers mu of the mean path's modes: eigenvalues of Phi = I + A dt (``em``, the regression
    read as Euler steps) or Phi = exp(A dt) (``exact``)."""
    with np.errstate(all="ignore"):
        mu = np.exp(lam * dt) if method == "exact" else 1.0 + lam * dt
    return np.asarray(mu, dtype=np.complex128)


def rates(lam: CArray, dt: float = 1.0, method: str = "em") -> Rates:
    """rho, fastest rate and the slowest mode's per-step decay from eigenvalues of shape (..., n)."""
    rho = -lam.real.max(axis=-1)
    fastest = -lam.real.min(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        decay = -np.log(np.abs(multipliers(lam, dt, method)).max(axis=-1))
    return Rates(rho, fastest, decay)


def half_life(rate: Array) -> Array:
    """ln 2 / rate where rate > 0, +inf where the mode does not contract (rate <= 0), NaN where rate is NaN.

    Decreasing in ``rate``, so the CI of a half-life is the rate's CI mapped with its ends swapped.
    """
    r = np.asarray(rate, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(r > 0, LN2 / np.where(r > 0, r, 1.0), np.inf)
    return np.asarray(np.where(np.isnan(r), np.nan, out), dtype=np.float64)


def _excludes_zero(lo: Array, hi: Array) -> NDArray[np.bool_]:
    return np.asarray((lo > 0) | (hi < 0), dtype=bool)


def mode(
    lam: CArray,
    mu: CArray | None = None,
    rho_ci: tuple[float, float] | None = None,
    im_ci: tuple[Array, Array] | None = None,
    mu_re_ci: tuple[Array, Array] | None = None,
) -> str:
    """The first of :data:`MODES` that applies, decided from the bootstrap CIs when they are given.

    With CIs: ``marginal`` if rho's CI includes 0 (the slowest mode may not converge); ``oscillatory`` if the
    CI of some eigenvalue's imaginary part excludes 0; ``alternating`` if some real mode's multiplier has a CI
    entirely below 0 (the mean path changes sign each step); else ``exponential``. Without CIs (no bootstrap)
    the point estimate decides, with :data:`MODE_TOL` as the tolerance.
    """
    if rho_ci is not None and im_ci is not None and mu_re_ci is not None and all(np.isfinite(rho_ci)):
        if rho_ci[0] <= 0.0 <= rho_ci[1]:
            return "marginal"
        osc = _excludes_zero(*im_ci)
        if np.any(osc):
            return "oscillatory"
        if np.any(mu_re_ci[1] < 0):
            return "alternating"
        return "exponential"
    if np.any(np.abs(lam) < MODE_TOL) or abs(float(-lam.real.max())) < MODE_TOL:
        return "marginal"
    if np.any(np.abs(lam.imag) > MODE_TOL):
        return "oscillatory"
    mu = 1.0 + lam if mu is None else mu
    if np.any((mu.real < 0) & (np.abs(mu.imag) <= MODE_TOL)):
        return "alternating"
    return "exponential"


def discrete_modulus(lam: CArray, dt: float, method: str = "em") -> Array:
    """|mu| per eigenvalue (:func:`multipliers`): the mean path contracts iff all are below 1."""
    return np.asarray(np.abs(multipliers(lam, dt, method)), dtype=np.float64)


def equilibrium(a: Array, b: Array) -> tuple[Array, NDArray[np.bool_]]:
    """x* = -A^-1 b for a batch, with a flag per matrix; NaN where A is (numerically) singular."""
    n = a.shape[-1]
    a2 = a.reshape(-1, n, n)
    b2 = b.reshape(-1, n)
    finite = np.asarray(np.isfinite(a2).all(axis=(1, 2)) & np.isfinite(b2).all(axis=1), dtype=bool)
    safe_a = np.where(finite[:, None, None], a2, np.eye(n))
    rcond = 1.0 / np.linalg.cond(safe_a)
    ok = finite & (rcond > SINGULAR_RCOND)
    solved = np.linalg.solve(np.where(ok[:, None, None], safe_a, np.eye(n)), -np.where(ok[:, None], b2, 0.0)[..., None])
    xs = np.where(ok[:, None], solved[..., 0], np.nan)
    return xs.reshape(b.shape), ok.reshape(b.shape[:-1])
