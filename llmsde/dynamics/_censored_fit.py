"""The estimation core of the censored fit: equation-by-equation Tobit, pairwise noise correlations, and the
held-out comparison with the linear fit (see :mod:`llmsde.dynamics.censored` for the model and the method).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from llmsde.dynamics.tobit import PairData, censor_codes, censored_loglik, censored_mean, pair_correlation, tobit

Array = NDArray[np.float64]
BOUNDS = (0.0, 10.0)


class Data(NamedTuple):
    """One strategy's working-to-working transitions."""

    x: Array
    """(n, m + 1): moving levels of x_k and 1."""
    y: Array
    """(n, 3): x_{k+1}."""
    session: NDArray[np.int64]
    """(n,): session index of each transition."""


def _ols(x: Array, y: Array) -> tuple[Array, Array]:
    beta = np.asarray(np.linalg.lstsq(x, y, rcond=None)[0], dtype=np.float64)
    resid = y - x @ beta
    return beta, np.asarray(np.sqrt(max(float(resid @ resid) / max(len(y) - x.shape[1], 1), 1e-6)))


def estimate(data: Data, mov: NDArray[np.int64], w: Array) -> tuple[Array, Array, Array, NDArray[np.bool_]]:
    """(Phi (B,3,3), c (B,3), Sigma (B,3,3), ok (B,)) for each row of observation weights ``w`` (row 0 = data)."""
    n_b = w.shape[0]
    phi = np.zeros((n_b, 3, 3))
    c = np.zeros((n_b, 3))
    sd = np.zeros((n_b, 3))
    ok = np.ones(n_b, dtype=bool)
    mu = {}
    for j in mov:
        beta0, s0 = _ols(data.x, data.y[:, j])
        point = tobit(data.x, data.y[:, j], w[:1], beta0, s0, *BOUNDS)
        fit = point
        if n_b > 1:
            rest = tobit(data.x, data.y[:, j], w[1:], point.beta[0], point.sigma[0], *BOUNDS)
            fit = type(point)(*(np.concatenate([p, r]) for p, r in zip(point, rest, strict=True)))
        phi[:, j, mov] = fit.beta[:, :-1]
        c[:, j] = fit.beta[:, -1]
        sd[:, j] = fit.sigma
        ok &= fit.ok
        mu[j] = fit.beta @ data.x.T
    corr = np.broadcast_to(np.eye(3), (n_b, 3, 3)).copy()
    for p_i, i in enumerate(mov):
        for j in mov[p_i + 1 :]:
            pd = _pair(data, mu, sd, int(i), int(j))
            r0, _ = pair_correlation(PairData(pd.e1[:1], pd.e2[:1], pd.c1, pd.c2), w[:1], np.zeros(1))
            r = r0
            if n_b > 1:
                rb, _ = pair_correlation(PairData(pd.e1[1:], pd.e2[1:], pd.c1, pd.c2), w[1:], r0)
                r = np.r_[r0, rb]
            ok &= np.isfinite(r)
            corr[:, i, j] = corr[:, j, i] = np.nan_to_num(r)
    corr = _nearest_corr(corr)
    sigma = corr * sd[:, :, None] * sd[:, None, :]
    return phi, c, sigma, ok


def _pair(data: Data, mu: dict[int, Array], sd: Array, i: int, j: int) -> PairData:
    codes = [censor_codes(data.y[:, k], *BOUNDS) for k in (i, j)]
    std = []
    for k, code in zip((i, j), codes, strict=True):
        bound = np.where(code == -1, BOUNDS[0], np.where(code == 1, BOUNDS[1], data.y[:, k]))
        with np.errstate(invalid="ignore", divide="ignore"):
            std.append(np.nan_to_num((bound[None, :] - mu[k]) / sd[:, k : k + 1]))
    return PairData(std[0], std[1], codes[0], codes[1])


def _nearest_corr(r: Array) -> Array:
    """Clip negative eigenvalues of each (B, 3, 3) correlation estimate and rescale to a unit diagonal."""
    w, v = np.linalg.eigh(r)
    if (w > 1e-8).all():
        return r
    fixed = (v * np.clip(w, 1e-8, None)[..., None, :]) @ np.swapaxes(v, -1, -2)
    d = np.sqrt(np.diagonal(fixed, axis1=-2, axis2=-1))
    return np.asarray(fixed / (d[..., :, None] * d[..., None, :]))


def held_out(
    data: Data, mov: NDArray[np.int64], folds: int, rng: np.random.Generator
) -> tuple[dict[str, tuple[float, ...]], dict[str, float]]:
    """k-fold by session: one-step R^2 of dx and mean log-likelihood per transition, censored vs linear (OLS)."""
    sessions = np.unique(data.session)
    fold_of = np.zeros(data.session.max() + 1, dtype=np.int64)
    fold_of[rng.permutation(sessions)] = np.arange(len(sessions)) % min(folds, len(sessions))
    f = fold_of[data.session]
    prev = data.x[:, :-1]
    sse = {"censored": np.zeros(3), "linear": np.zeros(3)}
    ll = {"censored": 0.0, "linear": 0.0}
    dx = np.zeros((len(f), 3))
    for j_i, j in enumerate(mov):
        dx[:, j] = data.y[:, j] - prev[:, j_i]
    for k in np.unique(f):
        tr, te = f != k, f == k
        for j in mov:
            beta0, s0 = _ols(data.x[tr], data.y[tr, j])
            tb = tobit(data.x[tr], data.y[tr, j], np.ones((1, int(tr.sum()))), beta0, s0, *BOUNDS)
            if not tb.ok[0]:
                return {}, {}
            for name, beta, s in (("censored", tb.beta[0], tb.sigma[0]), ("linear", beta0, s0)):
                mu = data.x[te] @ beta
                pred = censored_mean(mu, np.asarray(s), *BOUNDS) if name == "censored" else mu
                sse[name][j] += float(((data.y[te, j] - pred) ** 2).sum())
                ll[name] += float(censored_loglik(mu, np.asarray(s), data.y[te, j], *BOUNDS).sum())
    sst = ((dx - dx.mean(axis=0)) ** 2).sum(axis=0)
    r2: dict[str, tuple[float, ...]] = {}
    for name, e in sse.items():
        with np.errstate(invalid="ignore", divide="ignore"):
            per = np.where(np.isin(np.arange(3), mov) & (sst > 0), 1.0 - e / sst, np.nan)
        overall = 1.0 - e[mov].sum() / sst[mov].sum() if sst[mov].sum() > 0 else math.nan
        r2[name] = (*(float(v) for v in per), float(overall))
    return r2, {k: v / len(f) for k, v in ll.items()}
