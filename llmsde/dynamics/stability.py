"""Eigen-analysis of the drift matrix: rates, half-life, mode, discrete stability, equilibrium (DESIGN.md s6).

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
"""|Im lambda| above this makes a mode oscillatory; |lambda| below it makes it marginal."""
SINGULAR_RCOND = 1e-10
"""A with reciprocal condition number below this is singular: no equilibrium."""


class Rates(NamedTuple):
    """Scalar summaries of the spectrum, each of shape (...)."""

    rho: Array
    """Convergence rate of the slowest mode, -max Re(lambda)."""
    fastest: Array
    """-min Re(lambda): rate of the fastest mode."""
    half_life: Array
    """ln 2 / rho in iterations; NaN when rho <= 0 (no convergence)."""


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


def rates(lam: CArray) -> Rates:
    """rho, fastest rate and half-life from eigenvalues of shape (..., n)."""
    rho = -lam.real.max(axis=-1)
    fastest = -lam.real.min(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = np.where(rho > 0, math.log(2.0) / np.where(rho > 0, rho, 1.0), np.nan)
    return Rates(rho, fastest, half)


def mode(lam: CArray, tol: float = MODE_TOL) -> str:
    """``oscillatory`` if some |Im| > tol, ``marginal`` if some |lambda| < tol, else ``exponential``."""
    if np.any(np.abs(lam.imag) > tol):
        return "oscillatory"
    if np.any(np.abs(lam) < tol):
        return "marginal"
    return "exponential"


def discrete_modulus(lam: CArray, dt: float) -> Array:
    """|1 + lambda dt| per eigenvalue: the Euler-Maruyama map contracts iff all are below 1."""
    return np.abs(1.0 + lam * dt)


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
