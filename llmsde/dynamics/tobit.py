"""Two-sided Tobit (censored normal) regression by Newton's method, batched over bootstrap resamples.

One equation: z = x.beta + e, e ~ N(0, sigma^2), observed y = clip(z, lower, upper). An observation strictly
inside contributes its density, one on a bound the normal mass beyond it. In Olsen's parametrisation
delta = (gamma, theta) = (beta / sigma, 1 / sigma) the log-likelihood is concave, so Newton's method with step
halving converges from any start; every contribution is a function of one linear index q = v.delta with a
fixed vector v per observation:

- inside:      v = (-x, y),      l = log(theta) - q^2 / 2
- on ``lower``: v = (-x, lower), l = log Phi(q)
- on ``upper``: v = (x, -upper), l = log Phi(q)

So B resamples (observation weights of shape (B, n)) cost a few (B, n) array passes and (B, n) @ (n, p^2)
products per Newton step, never B separate optimisations. The same module holds the pairwise (bivariate)
censored likelihood of a correlation given the two marginal fits, and a bivariate normal CDF for it.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

MAX_NEWTON = 50
TOL = 1e-9
"""Newton stops when the largest step in delta is below this."""
R_MAX = 0.995
"""Correlations are kept inside [-R_MAX, R_MAX]."""
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(24)


class TobitFit(NamedTuple):
    """Batch of fits, leading axis B (resamples)."""

    beta: Array
    """ndarray of shape (B, p)."""
    sigma: Array
    """ndarray of shape (B,)."""
    ok: NDArray[np.bool_]
    """ndarray of shape (B,): converged to a finite maximum."""
    loglik: Array
    """ndarray of shape (B,): weighted log-likelihood at the maximum (constants included)."""


def censor_codes(y: Array, lower: float, upper: float) -> NDArray[np.int8]:
    """-1 on (or below) ``lower``, +1 on (or above) ``upper``, 0 inside; a tolerance of 1e-9 on the bounds."""
    codes = np.zeros(y.shape, dtype=np.int8)
    codes[y <= lower + 1e-9] = -1
    codes[y >= upper - 1e-9] = 1
    return codes


def _design(x: Array, y: Array, codes: NDArray[np.int8], lower: float, upper: float) -> Array:
    """The fixed vectors v of the module docstring, shape (n, p + 1)."""
    v = np.empty((len(y), x.shape[1] + 1))
    sign = np.where(codes == 1, 1.0, -1.0)
    v[:, :-1] = sign[:, None] * x
    v[:, -1] = np.where(codes == 0, y, np.where(codes == -1, lower, -upper))
    return v


def _contrib(q: Array, inside: NDArray[np.bool_], order: int) -> tuple[Array, Array, Array]:
    """(l, dl/dq, d2l/dq2) of each observation's index ``q`` (B, n), without the log(theta) term."""
    from scipy.special import log_ndtr

    val = np.where(inside, -0.5 * q * q, 0.0)
    d1 = np.where(inside, -q, 0.0)
    d2 = np.where(inside, -np.ones_like(q), 0.0)
    cens = ~inside
    if cens.any():
        qc = q[:, cens]
        lphi = log_ndtr(qc)
        val[:, cens] = lphi
        if order:
            lam = np.exp(-0.5 * qc * qc - 0.5 * math.log(2 * math.pi) - lphi)
            d1[:, cens] = lam
            d2[:, cens] = -lam * (qc + lam)
    return val, d1, d2


def tobit(
    x: Array,
    y: Array,
    w: Array,
    start_beta: Array,
    start_sigma: Array,
    lower: float = 0.0,
    upper: float = 10.0,
) -> TobitFit:
    """Maximise the weighted two-sided Tobit likelihood for each row of ``w`` (B, n).

    ``x`` (n, p) regressors, ``y`` (n,) observations in [lower, upper]; ``start_beta`` (B, p) or (p,) and
    ``start_sigma`` (B,) or scalar are the warm start (the OLS fit, or the point estimate for resamples).
    """
    codes = censor_codes(y, lower, upper)
    inside = codes == 0
    v = _design(x, y, codes, lower, upper)
    p1 = v.shape[1]
    vv = np.einsum("ni,nj->nij", v, v).reshape(len(y), p1 * p1)
    w = np.atleast_2d(w)
    n_b = w.shape[0]
    n_in = w @ inside.astype(np.float64)
    sig0 = np.broadcast_to(np.asarray(start_sigma, dtype=np.float64), (n_b,))
    beta0 = np.broadcast_to(np.asarray(start_beta, dtype=np.float64), (n_b, x.shape[1]))
    delta = np.concatenate([beta0 / sig0[:, None], 1.0 / sig0[:, None]], axis=1)
    delta = np.where(np.isfinite(delta) & (sig0[:, None] > 0), delta, np.r_[np.zeros(x.shape[1]), 1.0])

    def loglik(d: Array) -> Array:
        theta = d[:, -1]
        val = _contrib(d @ v.T, inside, 0)[0]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray((w * val).sum(axis=1) + n_in * np.log(np.where(theta > 0, theta, np.nan)))

    cur = loglik(delta)
    done = np.zeros(n_b, dtype=bool)
    eye = np.eye(p1)
    for _ in range(MAX_NEWTON):
        _, d1, d2 = _contrib(delta @ v.T, inside, 2)
        theta = delta[:, -1]
        grad = (w * d1) @ v
        grad[:, -1] += n_in / theta
        hess = ((w * d2) @ vv).reshape(n_b, p1, p1)
        hess[:, -1, -1] -= n_in / theta**2
        safe = np.where(np.isfinite(hess).all(axis=(1, 2))[:, None, None], hess, -eye)
        try:
            step = -np.linalg.solve(safe - 1e-12 * eye, grad[..., None])[..., 0]
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(safe[0], -grad[0], rcond=None)[0][None, :] if n_b == 1 else -grad * 1e-3
        step = np.where(done[:, None], 0.0, step)
        scale = np.ones(n_b)
        for _ in range(30):
            trial = delta + scale[:, None] * step
            new = loglik(trial)
            bad = ~(np.isfinite(new) & (new >= cur - 1e-10 * np.abs(cur)))
            if not bad.any():
                break
            scale = np.where(bad, 0.5 * scale, scale)
        delta = np.where(bad[:, None], delta, trial)
        cur = np.where(bad, cur, new)
        done |= np.abs(scale[:, None] * step).max(axis=1) < TOL
        if done.all():
            break
    theta = delta[:, -1]
    ok = done & np.isfinite(delta).all(axis=1) & (theta > 0)
    const = -0.5 * math.log(2 * math.pi) * n_in
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = np.where(ok[:, None], delta[:, :-1] / theta[:, None], np.nan)
        sigma = np.where(ok, 1.0 / theta, np.nan)
    return TobitFit(beta, sigma, ok, np.where(ok, cur + const, np.nan))


def censored_loglik(mu: Array, sigma: Array, y: Array, lower: float = 0.0, upper: float = 10.0) -> Array:
    """Per-observation log-likelihood of ``y`` under clip(N(mu, sigma^2)) (broadcasting): density inside,
    log mass beyond a bound on it."""
    from scipy.special import log_ndtr

    codes = censor_codes(y, lower, upper)
    z = (y - mu) / sigma
    dens = -0.5 * z * z - 0.5 * math.log(2 * math.pi) - np.log(sigma)
    low = log_ndtr((lower - mu) / sigma)
    up = log_ndtr((mu - upper) / sigma)
    return np.asarray(np.where(codes == 0, dens, np.where(codes == -1, low, up)), dtype=np.float64)


def censored_mean(mu: Array, sigma: Array, lower: float = 0.0, upper: float = 10.0) -> Array:
    """E[clip(z, lower, upper)] for z ~ N(mu, sigma^2), elementwise: the one-step prediction of a Tobit fit."""
    from scipy.special import ndtr

    a = (lower - mu) / sigma
    b = (upper - mu) / sigma
    pdf_a = np.exp(-0.5 * a * a) / math.sqrt(2 * math.pi)
    pdf_b = np.exp(-0.5 * b * b) / math.sqrt(2 * math.pi)
    cdf_a, cdf_b = ndtr(a), ndtr(b)
    return np.asarray(lower * cdf_a + upper * (1.0 - cdf_b) + mu * (cdf_b - cdf_a) + sigma * (pdf_a - pdf_b))


def bvn_cdf(h: Array, k: Array, r: Array) -> Array:
    """P(Z1 <= h, Z2 <= k) for standard bivariate normals with correlation ``r`` (broadcasting).

    Uses Phi2 = Phi(h) Phi(k) + 1/(2 pi) int_0^asin(r) exp(-(h^2 + k^2 - 2 h k sin t) / (2 cos^2 t)) dt with
    24-point Gauss-Legendre quadrature; tests compare it with scipy.stats.multivariate_normal.cdf (|error| <
    1e-7 for |r| <= 0.95), which is far too slow to call per observation and resample.
    """
    from scipy.special import ndtr

    h, k, r = np.broadcast_arrays(np.asarray(h, float), np.asarray(k, float), np.asarray(r, float))
    top = np.arcsin(np.clip(r, -1.0, 1.0))
    t = 0.5 * top[..., None] * (_GL_NODES + 1.0)
    sin, cos2 = np.sin(t), np.cos(t) ** 2
    hh, kk = h[..., None], k[..., None]
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        f = np.exp(-(hh * hh + kk * kk - 2.0 * hh * kk * sin) / (2.0 * cos2))
    integral = 0.5 * top * (np.nan_to_num(f) * _GL_WEIGHTS).sum(axis=-1)
    out = ndtr(h) * ndtr(k) + integral / (2 * math.pi)
    return np.asarray(np.clip(out, 0.0, 1.0))


def bvn_pdf(h: Array, k: Array, r: Array) -> Array:
    """Standard bivariate normal density with correlation ``r``."""
    s = 1.0 - r * r
    return np.asarray(np.exp(-(h * h - 2 * r * h * k + k * k) / (2 * s)) / (2 * math.pi * np.sqrt(s)))


class PairData(NamedTuple):
    """Standardised data of one pair of equations for each resample, shape (B, n) each."""

    e1: Array
    """(y - mu) / sigma inside, or the standardised bound when censored."""
    e2: Array
    c1: NDArray[np.int8]
    """Censor code per observation (n,): -1 lower, 0 inside, +1 upper."""
    c2: NDArray[np.int8]


def _pair_score(r: Array, d: PairData, w: Array) -> Array:
    """d/dr of the pairwise censored log-likelihood at the correlation r (B,), summed with weights ``w``."""
    from scipy.special import log_ndtr

    rr = r[:, None]
    s = 1.0 - rr * rr
    both = (d.c1 == 0) & (d.c2 == 0)
    a, b = d.e1[:, both], d.e2[:, both]
    q = a * a - 2 * rr * a * b + b * b
    total = (w[:, both] * (rr / s + a * b / s - q * rr / s**2)).sum(axis=1)
    one = (d.c1 == 0) ^ (d.c2 == 0)
    for inner, cens, ci in ((d.e1, d.e2, d.c2), (d.e2, d.e1, d.c1)):
        sel = one & (ci != 0)
        if not sel.any():
            continue
        a, c = inner[:, sel], cens[:, sel]
        sign = ci[sel].astype(np.float64)
        t = sign * (rr * a - c) / np.sqrt(s)
        lam = np.exp(-0.5 * t * t - 0.5 * math.log(2 * math.pi) - log_ndtr(t))
        total += (w[:, sel] * lam * sign * (a - c * rr) / s**1.5).sum(axis=1)
    cc = (d.c1 != 0) & (d.c2 != 0)
    if cc.any():
        s1, s2 = d.c1[cc].astype(np.float64), d.c2[cc].astype(np.float64)
        h, k = -s1 * d.e1[:, cc], -s2 * d.e2[:, cc]
        rho = s1 * s2 * rr
        p2 = np.maximum(bvn_cdf(h, k, rho), 1e-300)
        total += (w[:, cc] * s1 * s2 * bvn_pdf(h, k, rho) / p2).sum(axis=1)
    return np.asarray(total)


def pair_correlation(d: PairData, w: Array, start: Array) -> tuple[Array, NDArray[np.bool_]]:
    """Maximise the pairwise likelihood in r for each resample (rows of ``w``): Newton on the score with a
    finite-difference slope, falling back to bisection inside a bracket; returns (r, converged)."""
    n_b = w.shape[0]
    lo, hi = np.full(n_b, -R_MAX), np.full(n_b, R_MAX)
    r = np.clip(np.broadcast_to(start, (n_b,)).astype(np.float64), -0.9, 0.9)
    done = np.zeros(n_b, dtype=bool)
    eps = 1e-5
    for _ in range(40):
        g = _pair_score(r, d, w)
        lo = np.where(g > 0, r, lo)
        hi = np.where(g < 0, r, hi)
        g2 = _pair_score(r + eps, d, w)
        slope = (g2 - g) / eps
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = r - g / slope
        inside = (slope < 0) & (newton > lo) & (newton < hi)
        nxt = np.where(inside, newton, 0.5 * (lo + hi))
        nxt = np.where(done, r, nxt)
        done |= np.abs(nxt - r) < 1e-7
        r = nxt
        if done.all():
            break
    ok = done & np.isfinite(r)
    return np.where(ok, r, np.nan), ok
