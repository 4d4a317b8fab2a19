"""The spectrum block of a strategy's fit: eigenvalues of A and of the step map Phi, rates, half-lives, mode.

Every figure is computed for the point estimate and for the matched bootstrap eigenvalues by the same functions
of :mod:`llmsde.dynamics.stability`, so each CI is an interval of exactly the reported figure. Half-lives are
decreasing functions of a decay rate that may be <= 0 (no contraction: an infinite half-life), so their CI is the
rate's CI mapped through ``ln 2 / rate`` with the ends swapped; a resample that does not contract therefore widens
the interval to infinity instead of being dropped as NaN.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from llmsde.dynamics import stability as stab
from llmsde.dynamics._estimate import Estimate
from llmsde.dynamics._linear import Array

EstimateFn = Callable[[Array, Array | None], Estimate]
"""(point value, bootstrap draws or None) -> Estimate under the fit's interval settings."""


class Spectrum(NamedTuple):
    """The spectral figures of one strategy (moving objectives only)."""

    eigenvalues: Estimate
    """Eigenvalues of A as [re, im] rows, shape (m, 2)."""
    phi_eigenvalues: Estimate
    """Per-step multipliers mu (eigenvalues of Phi) as [re, im] rows, shape (m, 2)."""
    modulus: Estimate
    """|mu| per mode, shape (m,)."""
    rho: Estimate
    fastest: Estimate
    half_life: Estimate
    """ln 2 / -ln max|mu| in iterations (the mean path's slowest mode); inf when it does not contract."""
    half_life_continuous: Estimate
    """ln 2 / (rho dt) in iterations, the continuous-time reading; inf when rho <= 0."""
    mode: str
    stable: bool
    notes: tuple[str, ...]


def _pairs(z: np.ndarray) -> Array:
    return np.asarray(np.stack([z.real, z.imag], axis=-1), dtype=np.float64)


def half_life_estimate(rate: Estimate) -> Estimate:
    """The half-life ln 2 / rate with its CI: the rate's CI mapped, ends swapped (infinite where rate <= 0)."""
    return Estimate(stab.half_life(rate.value), stab.half_life(rate.hi), stab.half_life(rate.lo))


def spectrum(
    a: Array, a_boot: Array | None, ok: NDArray[np.bool_] | None, dt: float, method: str, est: EstimateFn
) -> Spectrum:
    """Spectral figures of the moving sub-system ``a`` (m, m) and its resamples ``a_boot`` (B, m, m)."""
    lam = stab.sorted_eigenvalues(a)
    lam_b = None
    if a_boot is not None and ok is not None:
        safe = np.where(ok[:, None, None], a_boot, np.eye(a.shape[-1]))
        lam_b = np.where(ok[:, None], stab.matched_eigenvalues(safe, lam), np.nan)
    mu = stab.multipliers(lam, dt, method)
    mu_b = None if lam_b is None else stab.multipliers(lam_b, dt, method)
    r = stab.rates(lam, dt, method)
    r_b = None if lam_b is None else stab.rates(lam_b, dt, method)
    eig = est(_pairs(lam), None if lam_b is None else _pairs(lam_b))
    phi = est(_pairs(mu), None if mu_b is None else _pairs(mu_b))
    modulus = est(np.abs(mu), None if mu_b is None else np.abs(mu_b))
    rho = est(r.rho, None if r_b is None else r_b.rho)
    decay = est(r.decay, None if r_b is None else r_b.decay)
    half = half_life_estimate(decay)
    half_cont = half_life_estimate(Estimate(rho.value * dt, rho.lo * dt, rho.hi * dt))
    notes: list[str] = []
    if math.isinf(float(half.value)):
        notes.append("half-life is infinite: the slowest mode of the mean path does not contract (max |mu| >= 1)")
    elif math.isinf(float(half.hi)):
        share = float(np.mean(r_b.decay[np.isfinite(r_b.decay)] <= 0)) if r_b is not None else math.nan
        notes.append(
            f"half-life CI is [{float(half.lo):.3g}, inf]: its upper end is infinite because the slowest mode does "
            f"not contract in {share:.0%} of bootstrap resamples (null in fit.json)"
        )
    has_ci = lam_b is not None and bool(np.isfinite(rho.lo)) and bool(np.isfinite(rho.hi))
    if has_ci:
        label = stab.mode(
            lam, mu, (float(rho.lo), float(rho.hi)), (eig.lo[:, 1], eig.hi[:, 1]), (phi.lo[:, 0], phi.hi[:, 0])
        )
    else:
        label = stab.mode(lam, mu)
        notes.append("mode decided from the point estimate (no bootstrap CIs)")
    return Spectrum(
        eigenvalues=eig,
        phi_eigenvalues=phi,
        modulus=modulus,
        rho=rho,
        fastest=est(r.fastest, None if r_b is None else r_b.fastest),
        half_life=half,
        half_life_continuous=half_cont,
        mode=label,
        stable=bool(np.all(np.abs(mu) < 1.0)),
        notes=tuple(notes),
    )
