"""Out-of-sample checks: k-fold by session, one-step and multi-step R^2, baselines, held-out likelihood.

Everything is returned *per held-out session* (sums of squared errors, sums of levels), so R^2 for any
weighting
of sessions, in particular every bootstrap resample, is a matrix product away; the CIs of held-out R^2
therefore
reuse the bootstrap multiplicities of the parameters (the fold fits themselves are not refitted per resample).

Multi-step prediction is the mean path of the fitted model from the session's first fully observed state,
m_{k+1} = Phi m_k + c with Phi = I + A dt and c = b dt (the same recursion for the EM and exact methods, which
share the regression). Baselines: ``no_change`` predicts dx = 0 (x_k = x_0); ``mean_change`` predicts the
training mean dx per objective (x_k = x_0 + k mean dx); ``static_mean`` predicts the training mean level of the
strategy, x_{k+1} = mean (A = -I: a process with no memory), so a "fast" rho near 1 that only fits as well as
``static_mean`` reads as "no memory" rather than as dynamics.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from llmsde.dynamics._linear import Array, SessionStats, Transitions, residual_cross, solve, weighted

PREDICTORS = ("model", "no_change", "mean_change", "static_mean")


class HeldOut(NamedTuple):
    """Per-session held-out errors; predictor axis (:data:`PREDICTORS`) first where present."""

    sse_one: Array
    """ndarray of shape (4, n_sessions, 3): one-step squared errors per predictor, session, objective."""
    sse_multi: Array
    """ndarray of shape (4, n_sessions, 3): multi-step squared errors of the level x_k, k >= 1."""
    lsum: Array
    """ndarray of shape (n_sessions, 3): sum of the predicted levels' targets (observed x_k, k >= 1)."""
    lsq: Array
    """ndarray of shape (n_sessions, 3): sum of squares of those levels."""
    ln: Array
    """ndarray of shape (n_sessions,): number of those levels."""
    loglik: Array
    """ndarray of shape (n_sessions,): Gaussian log-likelihood of one-step residuals under the fold's fit."""
    folds_failed: int
    """Folds whose training design was singular (their sessions have NaN errors)."""


def assign_folds(groups: NDArray[np.int64], k: int, rng: np.random.Generator) -> NDArray[np.int64]:
    """Fold index per session, balanced within each group (strategy) after a seeded shuffle."""
    out = np.zeros(len(groups), dtype=np.int64)
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        out[rng.permutation(idx)] = np.arange(len(idx)) % k
    return out


def _first_state(x: Array) -> tuple[Array, NDArray[np.int64]]:
    """Each session's first fully observed state and its step index."""
    ok = np.isfinite(x).all(axis=2)
    k0 = ok.argmax(axis=1)
    return x[np.arange(len(x)), k0], k0


def cross_validate(
    x: Array,
    tr: Transitions,
    stats: SessionStats,
    mask: NDArray[np.bool_],
    groups: NDArray[np.int64],
    fold_of: NDArray[np.int64],
    n_regressors: int,
    scored: NDArray[np.bool_] | None = None,
) -> HeldOut:
    """For every fold: fit on the other folds, predict the held-out sessions; ``groups`` index intercepts.

    ``scored`` (n_groups, 3): the objectives whose residuals enter each group's held-out likelihood (default:
    every objective with an equation), so models can be compared on the same objectives.
    """
    n_s, n_t, _ = x.shape
    n_groups = int(groups.max()) + 1
    n_pred = len(PREDICTORS)
    sse_one = np.full((n_pred, n_s, 3), np.nan)
    sse_multi = np.full((n_pred, n_s, 3), np.nan)
    loglik = np.full(n_s, np.nan)
    x0, k0 = _first_state(x)
    steps = np.arange(n_t)
    ahead = steps[None, :] - k0[:, None]
    obs = np.isfinite(x).all(axis=2) & (ahead > 0)
    target = np.where(obs[..., None], x, 0.0)
    failed = 0
    score_on = np.broadcast_to(mask.any(axis=0), (n_groups, 3)) if scored is None else scored
    folds = np.unique(fold_of)
    cell = np.zeros((n_groups, len(folds), n_s))
    cell[groups, np.searchsorted(folds, fold_of), np.arange(n_s)] = 1.0
    by_cell = weighted(stats, cell)
    total = weighted(stats, np.ones(n_s))
    by_group = weighted(stats, cell.sum(axis=1))
    for f_i, f in enumerate(folds):
        t = np.flatnonzero(fold_of == f)
        sol = solve(total.zz - by_cell.zz[:, f_i].sum(axis=0), total.zy - by_cell.zy[:, f_i].sum(axis=0), mask)
        if not bool(sol.valid):
            failed += 1
            continue
        beta = sol.beta
        train = SessionStats(*(a - b[:, f_i] for a, b in zip(by_group, by_cell, strict=True)))
        mean_dx = train.ysum / np.maximum(train.n, 1.0)[:, None]
        level_sum = train.zz[np.arange(n_groups), 3 + np.arange(n_groups), :3]
        mean_level = (level_sum + train.ysum) / np.maximum(train.n, 1.0)[:, None]
        dof = np.maximum(train.n - n_regressors, 1.0)[:, None, None]
        sigma = residual_cross(train, np.broadcast_to(beta, (n_groups, *beta.shape))) / dof
        g_t = groups[t]
        valid_t, dx_t = tr.valid[t], tr.dx[t]
        resid = np.where(valid_t[..., None], dx_t - tr.features[t] @ beta, 0.0)
        mdx = mean_dx[g_t]
        sse_one[0, t] = (resid**2).sum(axis=1)
        sse_one[1, t] = (dx_t**2).sum(axis=1)
        sse_one[2, t] = (np.where(valid_t[..., None], dx_t - mdx[:, None, :], 0.0) ** 2).sum(axis=1)
        lvl = mean_level[g_t][:, None, :]
        sse_one[3, t] = (np.where(valid_t[..., None], tr.features[t][..., :3] + dx_t - lvl, 0.0) ** 2).sum(axis=1)
        loglik[t] = _gauss_loglik(resid, valid_t, sigma, g_t, score_on)
        phi = np.eye(3) + beta[:3, :].T
        c_rows = beta[3:, :]
        c = c_rows[g_t] if len(c_rows) > 1 else np.broadcast_to(c_rows[0], (len(t), 3))
        path = np.zeros((len(t), n_t, 3))
        m = x0[t].copy()
        k0_t = k0[t]
        for k in range(n_t):
            path[:, k] = m
            m = np.where((k >= k0_t)[:, None], m @ phi.T + c, m)
        lin = np.clip(ahead[t], 0, None)[..., None]
        obs_t, target_t = obs[t][..., None], target[t]
        preds = (
            path,
            np.broadcast_to(x0[t][:, None, :], path.shape),
            x0[t][:, None, :] + lin * mdx[:, None],
            np.broadcast_to(lvl, path.shape),
        )
        for p_i, pred in enumerate(preds):
            sse_multi[p_i, t] = (np.where(obs_t, target_t - pred, 0.0) ** 2).sum(axis=1)
    return HeldOut(
        sse_one=sse_one,
        sse_multi=sse_multi,
        lsum=target.sum(axis=1),
        lsq=(target**2).sum(axis=1),
        ln=obs.sum(axis=1).astype(np.float64),
        loglik=loglik,
        folds_failed=failed,
    )


def _gauss_loglik(
    resid: Array, valid: NDArray[np.bool_], sigma: Array, group: NDArray[np.int64], scored: NDArray[np.bool_]
) -> Array:
    """Sum over each session's valid transitions of log N(e; 0, Sigma of the session's group).

    Only the objectives ``scored[group]`` count (the marginal density of those residuals): a held objective has
    no residual and a zero row of Sigma.
    """
    out = np.zeros(len(group))
    for g in np.unique(group):
        rows = group == g
        idx = np.flatnonzero(scored[g])
        r, sig = resid[rows][..., idx], sigma[g][np.ix_(idx, idx)]
        sign, logdet = np.linalg.slogdet(sig)
        quad = np.einsum("sti,ij,stj->st", r, np.linalg.pinv(sig), r)
        per = -0.5 * (len(idx) * math.log(2 * math.pi) + (logdet if sign > 0 else math.nan) + quad)
        out[rows] = np.where(valid[rows], per, 0.0).sum(axis=1)
    return out


def r2_one_step(held: HeldOut, stats: SessionStats, w: Array) -> tuple[Array, Array]:
    """Held-out one-step R^2 per predictor under session weights ``w`` (..., n_sessions).

    Returns per-objective (..., 4 predictors, 3) and overall (..., 4 predictors); SST is around the held-out
    sessions' own mean change, so ``mean_change`` scores slightly below 0 and ``model`` above it when it
    helps.
    """
    w = w * np.isfinite(held.sse_one).all(axis=(0, 2))
    yy = np.diagonal(stats.yy, axis1=1, axis2=2)
    return _r2(held.sse_one, w @ yy, w @ stats.ysum, w @ stats.n, w)


def r2_multi_step(held: HeldOut, w: Array) -> tuple[Array, Array]:
    """Held-out multi-step R^2 of levels x_k (k >= 1) per predictor; same shapes as :func:`r2_one_step`."""
    w = w * np.isfinite(held.sse_multi).all(axis=(0, 2))
    return _r2(held.sse_multi, w @ held.lsq, w @ held.lsum, w @ held.ln, w)


def _r2(sse: Array, sq: Array, tot: Array, n: Array, w: Array) -> tuple[Array, Array]:
    sse_w = np.tensordot(w, np.nan_to_num(sse, nan=0.0), axes=(-1, 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        sst = sq - tot**2 / n[..., None]
        per = 1.0 - sse_w / sst[..., None, :]
        overall = 1.0 - sse_w.sum(axis=-1) / sst.sum(axis=-1)[..., None]
    return per, overall
