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


class StepMap(NamedTuple):
    """One step of the discrete model: x_{k+1} = Phi x_k + c + e, e ~ N(0, Q)."""

    phi: Array
    c: Array
    q: Array


def step_map(a: Array, b: Array, sigma: Array, dt: float, method: str = "em") -> StepMap:
    """The per-step map a fit of ``method`` implies for (A, b, Sigma) of any size n.

    ``em``: Phi = I + A dt, c = b dt, Q = Sigma dt (the regression itself). ``exact``: Phi = exp(A dt),
    c = int_0^dt exp(A s) ds b and Q = int_0^dt exp(A s) Sigma exp(A' s) ds, both by Van Loan's block
    exponentials, so a singular A (a held objective's zero row) needs no inverse.
    """
    from scipy.linalg import expm

    n = a.shape[0]
    if method != "exact":
        return StepMap(np.eye(n) + a * dt, b * dt, sigma * dt)
    aug = np.zeros((n + 1, n + 1))
    aug[:n, :n], aug[:n, n] = a, b
    e_aug = expm(aug * dt)
    block = np.zeros((2 * n, 2 * n))
    block[:n, :n], block[:n, n:], block[n:, n:] = -a, sigma, a.T
    e_block = expm(block * dt)
    phi = e_aug[:n, :n]
    q = phi @ e_block[:n, n:]
    return StepMap(phi, e_aug[:n, n], 0.5 * (q + q.T))
