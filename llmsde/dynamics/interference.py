"""The three interference views of DESIGN.md section 6, each batched over leading axes.

(a) ``corr_dx``: Corr(dx_i, dx_j) with a zero diagonal, the published definition (it mixes drift and noise);
(b) ``coupling``: the drift coupling A_ij (i != j) and ``coupling_normalised`` = A_ij / |A_ii|, which say how
much
objective j pushes objective i per unit of i's own restoring force;
(c) ``noise_corr``: the correlation implied by Sigma, the part of co-movement the drift does not explain.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


def _corr_from_cov(cov: Array) -> Array:
    sd = np.sqrt(np.clip(np.diagonal(cov, axis1=-2, axis2=-1), 0.0, None))
    denom = sd[..., :, None] * sd[..., None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(denom > 0, cov / np.where(denom > 0, denom, 1.0), np.nan)
    eye = np.eye(3, dtype=bool)
    return np.where(eye, 0.0, out)


def corr_dx(yy: Array, ysum: Array, n: Array) -> Array:
    """View (a) from sums of dx dx^T, sums of dx and counts; shape (..., 3, 3)."""
    mean = ysum / n[..., None]
    cov = yy / n[..., None, None] - mean[..., :, None] * mean[..., None, :]
    return _corr_from_cov(cov)


def coupling(a: Array) -> tuple[Array, Array]:
    """View (b): off-diagonal A (zero diagonal) and the same divided by |A_ii| (row-wise)."""
    eye = np.eye(3, dtype=bool)
    off = np.where(eye, 0.0, a)
    diag = np.abs(np.diagonal(a, axis1=-2, axis2=-1))[..., :, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        norm = np.where(diag > 0, off / np.where(diag > 0, diag, 1.0), np.nan)
    return off, np.where(eye, 0.0, norm)


def noise_corr(sigma: Array) -> Array:
    """View (c): correlation matrix of the diffusion, zero diagonal."""
    return _corr_from_cov(sigma)
