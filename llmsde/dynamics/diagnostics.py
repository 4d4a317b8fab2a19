"""Assumption checks of a fit: residual normality and autocorrelation, boundary pile-up, design conditioning.

Scores live in [0, 10] while the linear SDE is unbounded, so a strategy whose states sit on 0 or 10 often is
fitted
poorly near the edge; that is reported (and warned about above :data:`BOUNDARY_WARN`) rather than refused.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from llmsde.dynamics._linear import Array

BOUNDARY_WARN = 0.3
"""Share of states on 0 or 10 in some objective above which ``fit`` warns."""
LOWER, UPPER = 0.0, 10.0


def normality(resid: Array) -> tuple[tuple[float, float], ...]:
    """Jarque-Bera (statistic, p-value) per objective of residuals of shape (n, 3)."""
    from scipy import stats

    out = []
    for j in range(resid.shape[1]):
        col = resid[:, j]
        if len(col) < 3 or float(np.ptp(col)) == 0.0:
            out.append((math.nan, math.nan))
            continue
        res = stats.jarque_bera(col)
        out.append((float(res.statistic), float(res.pvalue)))
    return tuple(out)


def lag1_autocorr(resid: Array, valid: NDArray[np.bool_]) -> tuple[float, ...]:
    """Lag-1 autocorrelation of residuals within sessions, per objective; resid has shape (S, T-1, 3)."""
    pair = (valid[:, :-1] & valid[:, 1:])[..., None]
    n = float(pair.sum())
    if n < 3:
        return (math.nan,) * 3
    a = np.where(pair, resid[:, :-1], 0.0).reshape(-1, 3)
    b = np.where(pair, resid[:, 1:], 0.0).reshape(-1, 3)
    sa, sb = a.sum(axis=0), b.sum(axis=0)
    cov = np.einsum("ij,ij->j", a, b) - sa * sb / n
    va = np.einsum("ij,ij->j", a, a) - sa**2 / n
    vb = np.einsum("ij,ij->j", b, b) - sb**2 / n
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where((va > 0) & (vb > 0), cov / np.sqrt(np.abs(va * vb)), np.nan)
    return tuple(float(v) for v in r)


def boundary_fraction(x: Array) -> tuple[float, ...]:
    """Share of observed values exactly on 0 or 10, per objective; x has shape (S, T, 3)."""
    out = []
    for j in range(3):
        col = x[..., j][np.isfinite(x[..., j])]
        if col.size == 0:
            out.append(math.nan)
            continue
        on_edge = np.isclose(col, LOWER, atol=1e-9) | np.isclose(col, UPPER, atol=1e-9)
        out.append(float(on_edge.mean()))
    return tuple(out)


def condition_number(zz: Array) -> float:
    """Condition number of the design matrix X, from X^T X (sqrt of its eigenvalue ratio)."""
    ev = np.linalg.eigvalsh(zz)
    if ev[0] <= 0:
        return math.inf
    return float(math.sqrt(ev[-1] / ev[0]))
