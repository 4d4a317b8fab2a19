"""Exact discretisation: from the VAR(1) x_{k+1} = Phi x_k + c to the continuous-time (A, b, Sigma).

The Euler-Maruyama fit reads dx = A x + b directly, which is exact only as dt -> 0. The exact map of the
linear
SDE over one step is Phi = exp(A dt), c = A^-1 (Phi - I) b and a residual covariance
Q = int_0^dt exp(As) Sigma exp(A's) ds. Inverting: A = logm(Phi) / dt (only when the principal logarithm is
real,
i.e. Phi has no eigenvalue on the closed negative real axis), b = (Phi - I)^-1 A c, and
vec(Sigma) = [(A (+) A)^-1 (Phi (x) Phi - I)]^-1 vec(Q) with the Kronecker sum A (+) A. The VAR coefficients
are
the EM ones shifted by I (Phi = I + A_em, c = b_em), so both methods share one regression.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

NEG_AXIS_TOL = 1e-9
"""An eigenvalue of Phi with |Im| below this and Re <= 0 has no real logarithm."""


class ExactParams(NamedTuple):
    """Continuous-time parameters from the exact discretisation, batched over leading axes."""

    a: Array
    b: Array
    sigma: Array
    real_log: NDArray[np.bool_]
    """False where Phi has an eigenvalue on the closed negative real axis (A, b, Sigma are NaN there)."""


def from_var(phi: Array, c: Array, q: Array, dt: float) -> ExactParams:
    """Convert VAR(1) (Phi, c, Q) of shape (..., 3, 3), (..., 3), (..., 3, 3) into (A, b, Sigma)."""
    batch = phi.shape[:-2]
    phi2, c2, q2 = phi.reshape(-1, 3, 3), c.reshape(-1, 3), q.reshape(-1, 3, 3)
    finite = np.asarray(np.isfinite(phi2).all(axis=(1, 2)), dtype=bool)
    phi_safe = np.where(finite[:, None, None], phi2, np.eye(3))
    mu, vec = np.linalg.eig(phi_safe)
    on_axis = (np.abs(mu.imag) < NEG_AXIS_TOL) & (mu.real <= 0)
    real_log = finite & ~on_axis.any(axis=1)
    mu_safe = np.where(on_axis, 1.0, mu)
    with np.errstate(all="ignore"):
        inv = np.linalg.inv(vec)
        log_phi = np.einsum("bij,bj,bjk->bik", vec, np.log(mu_safe), inv).real
    a = log_phi / dt
    eye = np.eye(3)
    rhs = np.einsum("bij,bj->bi", a, c2)
    b = np.einsum("bij,bj->bi", np.linalg.pinv(phi_safe - eye), rhs)
    ksum = np.einsum("bij,kl->bikjl", a, eye).reshape(-1, 9, 9) + np.einsum("ij,bkl->bikjl", eye, a).reshape(-1, 9, 9)
    kron = np.einsum("bij,bkl->bikjl", phi_safe, phi_safe).reshape(-1, 9, 9) - np.eye(9)
    with np.errstate(all="ignore"):
        m = np.linalg.pinv(ksum) @ kron
        sig = (np.linalg.pinv(m) @ q2.reshape(-1, 9, 1)).reshape(-1, 3, 3)
    sig = 0.5 * (sig + np.swapaxes(sig, 1, 2))
    bad = ~real_log
    a[bad], b[bad], sig[bad] = np.nan, np.nan, np.nan
    return ExactParams(
        a.reshape(*batch, 3, 3), b.reshape(*batch, 3), sig.reshape(*batch, 3, 3), real_log.reshape(batch)
    )
