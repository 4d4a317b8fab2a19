"""Model comparison across ``full`` (A, b per strategy), ``diagonal`` (no cross-objective drift) and
``pooled`` (one A shared by all strategies, b per strategy): Gaussian log-likelihood, AIC, BIC and held-out
likelihood.

Every model is scored on the same data: the same transitions and, per strategy, the same objectives (those the
strategy does not hold; a held objective enters no model's likelihood, whatever the model fits). The in-sample
likelihood uses the ML residual covariance per strategy (SSR / n); the held-out one predicts each session from
the fit on the other folds with the unbiased covariance, so it penalises over-fitting directly. Parameter counts
include the m(m+1)/2 free entries of each strategy's Sigma.
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
from llmsde.dynamics.results import OBJECTIVE_NAMES, ModelScore
from llmsde.dynamics.validate import cross_validate


def n_params(model: str, n_groups: int, n_moving: Sequence[int] | None = None, n_rows: int | None = None) -> int:
    """Free parameters of a model over ``n_groups`` strategies that enter the scored likelihood: drift
    coefficients plus m(m+1)/2 per Sigma of the m scored objectives of each strategy.

    ``n_moving``: fitted (not held) objectives per strategy (default 3 each). ``pooled`` shares one A (three
    coefficients per scored equation: its regressors are all three levels) and has an intercept per strategy and
    scored objective.
    """
    ms = [3] * n_groups if n_moving is None else list(n_moving)
    drift = {
        "full": sum(m * (m + 1) for m in ms),
        "diagonal": sum(2 * m for m in ms),
        "pooled": 3 * (max(ms, default=0) if n_rows is None else n_rows) + sum(ms),
    }[model]
    return drift + sum(m * (m + 1) // 2 for m in ms)


def _units(model: str, groups: NDArray[np.int64], n_groups: int) -> list[tuple[NDArray[np.int64], bool]]:
    if model == "pooled":
        return [(np.arange(len(groups)), True)]
    return [(np.flatnonzero(groups == g), False) for g in range(n_groups)]


class Unscorable(ValueError):
    """A model that cannot be scored on the objectives the others are scored on; the message says why."""


def _pooled_problem(hold: Sequence[dict[int, float]], names: Sequence[str]) -> str | None:
    missing = [
        f"{OBJECTIVE_NAMES[j]} is missing in {names[g]}"
        for g, h in enumerate(hold)
        for j, v in h.items()
        if math.isnan(v)
    ]
    if missing:
        return f"{'; '.join(missing)}: pooled shares A across strategies and cannot be scored on the same data"
    return None


def score_model(
    model: str,
    x: Array,
    groups: NDArray[np.int64],
    n_groups: int,
    fold_of: NDArray[np.int64],
    held_obj: Sequence[dict[int, float]] | None = None,
    names: Sequence[str] | None = None,
) -> ModelScore:
    """One row of the comparison table, scored on each strategy's moving objectives (``held_obj``: the held
    objectives per strategy), whatever the model fits; raises :class:`Unscorable` when that is impossible."""
    hold = list(held_obj) if held_obj is not None else [{} for _ in range(n_groups)]
    labels = list(names) if names is not None else [str(g) for g in range(n_groups)]
    scored = np.ones((n_groups, 3), dtype=bool)
    for g, h in enumerate(hold):
        scored[g, list(h)] = False
    note = ""
    if model == "pooled":
        problem = _pooled_problem(hold, labels)
        if problem is not None:
            raise Unscorable(problem)
        kept = [f"{OBJECTIVE_NAMES[j]} held in {labels[g]}" for g, h in enumerate(hold) for j in sorted(h)]
        if kept:
            note = f"fits all three objectives but is scored without those held elsewhere ({'; '.join(kept)})"
    loglik = 0.0
    held = 0.0
    n_total = 0.0
    for idx, pooled in _units(model, groups, n_groups):
        g_local = np.unique(groups[idx], return_inverse=True)[1].astype(np.int64)
        g_global = np.unique(groups[idx])
        n_loc = int(g_local.max()) + 1
        tr = transitions(x[idx], g_local if pooled else None, n_loc)
        st = session_stats(tr)
        h = {} if pooled else hold[int(groups[idx[0]])]
        mask = hold_mask(mask_for(model, tr.features.shape[2]), h)
        sol = solve(st.zz.sum(axis=0), st.zy.sum(axis=0), mask)
        if not bool(sol.valid):
            raise Unscorable(f"the {model} design is singular on this panel (an objective constant in every strategy?)")
        for g in range(n_loc):
            fit_eq = np.flatnonzero(scored[g_global[g]])
            m = len(fit_eq)
            gs = weighted(st, (g_local == g).astype(np.float64))
            cov = (residual_cross(gs, sol.beta) / gs.n)[np.ix_(fit_eq, fit_eq)]
            sign, logdet = np.linalg.slogdet(cov)
            loglik += -0.5 * float(gs.n) * (m * math.log(2 * math.pi) + (logdet if sign > 0 else math.nan) + m)
            n_total += float(gs.n)
        n_reg = REGRESSORS[model] if model != "full" else int(mask.any(axis=0).sum()) + 1
        cv = cross_validate(x[idx], tr, st, mask, g_local, fold_of[idx], n_reg, scored[g_global])
        held += float(np.sum(cv.loglik))
    k = n_params(model, n_groups, [int(r.sum()) for r in scored], int(scored.any(axis=0).sum()))
    return ModelScore(
        model=model,
        n_params=k,
        loglik=loglik,
        aic=2 * k - 2 * loglik,
        bic=k * math.log(n_total) - 2 * loglik,
        heldout_loglik=held / n_total,
        note=note,
    )


def compare(
    x: Array,
    groups: NDArray[np.int64],
    n_groups: int,
    fold_of: NDArray[np.int64],
    held: Sequence[dict[int, float]] | None = None,
    names: Sequence[str] | None = None,
) -> tuple[ModelScore, ...]:
    """Rows for every model, each scored on the same transitions and objectives; a model that cannot be (a
    missing objective for ``pooled``, a singular design) gets NaN figures and the reason in ``note``.

    ``held``: each strategy's held objectives (:mod:`llmsde.dynamics._held`), left out of ``full`` and
    ``diagonal`` and out of every model's likelihood; ``names``: strategy labels for the notes.
    """
    rows = []
    n_moving = None if held is None else [3 - len(h) for h in held]
    for model in MODELS:
        with np.errstate(all="ignore"):
            try:
                rows.append(score_model(model, x, groups, n_groups, fold_of, held, names))
            except (np.linalg.LinAlgError, ValueError) as err:
                nan = math.nan
                why = str(err) if isinstance(err, Unscorable) else f"could not be fitted ({err})"
                rows.append(ModelScore(model, n_params(model, n_groups, n_moving), nan, nan, nan, nan, why))
    return tuple(rows)
