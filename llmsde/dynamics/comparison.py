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

import numpy as np
from numpy.typing import NDArray

from llmsde.dynamics._checks import MODELS, REGRESSORS
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


def n_params(model: str, n_groups: int) -> int:
    """Free parameters of a model over ``n_groups`` strategies (drift plus 6 per Sigma)."""
    drift = {"full": 12 * n_groups, "diagonal": 6 * n_groups, "pooled": 9 + 3 * n_groups}[model]
    return drift + 6 * n_groups


def _units(model: str, groups: NDArray[np.int64], n_groups: int) -> list[tuple[NDArray[np.int64], bool]]:
    if model == "pooled":
        return [(np.arange(len(groups)), True)]
    return [(np.flatnonzero(groups == g), False) for g in range(n_groups)]


def score_model(
    model: str, x: Array, groups: NDArray[np.int64], n_groups: int, fold_of: NDArray[np.int64]
) -> ModelScore:
    """One row of the comparison table."""
    loglik = 0.0
    held = 0.0
    n_total = 0.0
    for idx, pooled in _units(model, groups, n_groups):
        g_local = np.unique(groups[idx], return_inverse=True)[1].astype(np.int64)
        n_loc = int(g_local.max()) + 1
        tr = transitions(x[idx], g_local if pooled else None, n_loc)
        st = session_stats(tr)
        mask = mask_for(model, tr.features.shape[2])
        sol = solve(st.zz.sum(axis=0), st.zy.sum(axis=0), mask)
        for g in range(n_loc):
            gs = weighted(st, (g_local == g).astype(np.float64))
            cov = residual_cross(gs, sol.beta) / gs.n
            sign, logdet = np.linalg.slogdet(cov)
            loglik += -0.5 * float(gs.n) * (3 * math.log(2 * math.pi) + (logdet if sign > 0 else math.nan) + 3)
            n_total += float(gs.n)
        cv = cross_validate(x[idx], tr, st, mask, g_local, fold_of[idx], REGRESSORS[model])
        held += float(np.sum(cv.loglik))
    k = n_params(model, n_groups)
    return ModelScore(
        model=model,
        n_params=k,
        loglik=loglik,
        aic=2 * k - 2 * loglik,
        bic=k * math.log(n_total) - 2 * loglik,
        heldout_loglik=held / n_total,
    )


def compare(x: Array, groups: NDArray[np.int64], n_groups: int, fold_of: NDArray[np.int64]) -> tuple[ModelScore, ...]:
    """Rows for every model; a model that cannot be fitted on this panel gets NaN figures."""
    rows = []
    for model in MODELS:
        with np.errstate(all="ignore"):
            try:
                rows.append(score_model(model, x, groups, n_groups, fold_of))
            except (np.linalg.LinAlgError, ValueError):
                nan = math.nan
                rows.append(ModelScore(model, n_params(model, n_groups), nan, nan, nan, nan))
    return tuple(rows)
