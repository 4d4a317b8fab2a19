"""Model comparison across ``full`` (A, b per strategy), ``diagonal`` (no cross-objective drift) and
``pooled`` (one A shared by all strategies, b per strategy): Gaussian log-likelihood, AIC, BIC and held-out
likelihood.

The in-sample likelihood uses the ML residual covariance per strategy (SSR / n); the held-out one predicts
each
session from the fit on the other folds with the unbiased covariance, so it penalises over-fitting directly.
Parameter counts include the 6 free entries of each strategy's Sigma.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from llmsde.dynamics._checks import MODELS, REGRESSORS
from llmsde.dynamics._held import hold_mask
from llmsde.dynamics._linear import (
    Array,
    mask_for,
    residual_cross,
    session_stats,
    solve,
    transitions,
    weighted,
)
from llmsde.dynamics.results import ModelScore
from llmsde.dynamics.validate import cross_validate


def n_params(model: str, n_groups: int, n_moving: Sequence[int] | None = None) -> int:
    """Free parameters of a model over ``n_groups`` strategies (drift plus m(m+1)/2 per Sigma of m objectives).

    ``n_moving``: fitted (not held) objectives per strategy (default 3 each); ``pooled`` holds none.
    """
    ms = [3] * n_groups if n_moving is None or model == "pooled" else list(n_moving)
    drift = {
        "full": sum(m * (m + 1) for m in ms),
        "diagonal": sum(2 * m for m in ms),
        "pooled": 9 + 3 * n_groups,
    }[model]
    return drift + sum(m * (m + 1) // 2 for m in ms)


def _units(model: str, groups: NDArray[np.int64], n_groups: int) -> list[tuple[NDArray[np.int64], bool]]:
    if model == "pooled":
        return [(np.arange(len(groups)), True)]
    return [(np.flatnonzero(groups == g), False) for g in range(n_groups)]


def score_model(
    model: str,
    x: Array,
    groups: NDArray[np.int64],
    n_groups: int,
    fold_of: NDArray[np.int64],
    held_obj: Sequence[dict[int, float]] | None = None,
) -> ModelScore:
    """One row of the comparison table; ``held_obj``: held objectives per strategy (``full``, ``diagonal``)."""
    hold = list(held_obj) if held_obj is not None else [{} for _ in range(n_groups)]
    if model == "pooled":
        x = x.copy()
        for g, h in enumerate(hold):
            for j, v in h.items():
                if math.isnan(v):
                    x[groups == g, :, j] = np.nan  # filled for full/diagonal; pooled must not fit the filler
    loglik = 0.0
    held = 0.0
    n_total = 0.0
    for idx, pooled in _units(model, groups, n_groups):
        g_local = np.unique(groups[idx], return_inverse=True)[1].astype(np.int64)
        n_loc = int(g_local.max()) + 1
        tr = transitions(x[idx], g_local if pooled else None, n_loc)
        st = session_stats(tr)
        h = {} if pooled else hold[int(groups[idx[0]])]
        mask = hold_mask(mask_for(model, tr.features.shape[2]), h)
        sol = solve(st.zz.sum(axis=0), st.zy.sum(axis=0), mask)
        fit_eq = np.flatnonzero(mask.any(axis=0))
        m = len(fit_eq)
        for g in range(n_loc):
            gs = weighted(st, (g_local == g).astype(np.float64))
            cov = (residual_cross(gs, sol.beta) / gs.n)[np.ix_(fit_eq, fit_eq)]
            sign, logdet = np.linalg.slogdet(cov)
            loglik += -0.5 * float(gs.n) * (m * math.log(2 * math.pi) + (logdet if sign > 0 else math.nan) + m)
            n_total += float(gs.n)
        n_reg = REGRESSORS[model] if model != "full" else m + 1
        cv = cross_validate(x[idx], tr, st, mask, g_local, fold_of[idx], n_reg)
        held += float(np.sum(cv.loglik))
    k = n_params(model, n_groups, [3 - len(h) for h in hold])
    return ModelScore(
        model=model,
        n_params=k,
        loglik=loglik,
        aic=2 * k - 2 * loglik,
        bic=k * math.log(n_total) - 2 * loglik,
        heldout_loglik=held / n_total,
    )


def compare(
    x: Array,
    groups: NDArray[np.int64],
    n_groups: int,
    fold_of: NDArray[np.int64],
    held: Sequence[dict[int, float]] | None = None,
) -> tuple[ModelScore, ...]:
    """Rows for every model; a model that cannot be fitted on this panel gets NaN figures.

    ``held``: each strategy's held objectives (:mod:`llmsde.dynamics._held`), left out of ``full`` and
    ``diagonal``; ``pooled`` shares A across strategies and fits all three objectives (NaN if that is singular).
    """
    rows = []
    n_moving = None if held is None else [3 - len(h) for h in held]
    for model in MODELS:
        with np.errstate(all="ignore"):
            try:
                rows.append(score_model(model, x, groups, n_groups, fold_of, held))
            except (np.linalg.LinAlgError, ValueError):
                nan = math.nan
                rows.append(ModelScore(model, n_params(model, n_groups, n_moving), nan, nan, nan, nan))
    return tuple(rows)
