"""``LinearSdeEstimator``: the per-strategy linear SDE fit of DESIGN.md section 6.

Model: dx = (A x + b) dt + Sigma^1/2 dW, observed once per iteration. With ``method="em"`` the Euler-Maruyama
regression dx_k = A x_k dt + b dt + e_k is read directly; with ``method="exact"`` the same regression is read
as the
VAR(1) x_{k+1} = Phi x_k + c and converted through logm (see :mod:`llmsde.dynamics.exact`).

Uncertainty is a bootstrap over whole sessions within each strategy (stratified, so each resample keeps every
strategy's session count), computed from per-session sufficient statistics (:mod:`llmsde.dynamics._linear`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from llmsde.dynamics._assemble import Settings, assemble
from llmsde.dynamics._checks import REGRESSORS, check_panel, check_params, strategy_problem
from llmsde.dynamics._held import fill_missing, find_held, held_message, hold_mask, loose
from llmsde.dynamics._linear import Array, mask_for, session_stats, solve, transitions, weighted
from llmsde.dynamics.comparison import compare
from llmsde.dynamics.results import OBJECTIVE_NAMES, ModelScore, SdeFit, StrategyFit
from llmsde.dynamics.validate import HeldOut, assign_folds, cross_validate
from llmsde.errors import LlmsdeWarning


class LinearSdeEstimator:
    """Fit one linear SDE per strategy label, with bootstrap CIs, k-fold validation and diagnostics.

    Follows the scikit-learn contract: ``__init__`` only stores its arguments; :meth:`fit` validates them and
    the
    data, and returns a new :class:`SdeFit` without mutating the estimator.

    Parameters
    ----------
    dt : float
        Time per iteration (1.0: rates are per iteration).
    n_bootstrap : int
        Session-bootstrap resamples; 0 gives point estimates without CIs.
    ci_level : float
        Nominal coverage of the intervals.
    ci : {"percentile", "basic", "bca"}
        Bootstrap interval method (:mod:`llmsde.dynamics._estimate`). The default ``percentile`` is the one
        with near-nominal coverage of every calibrated figure (docs/fit.md); ``bca`` adds a
        leave-one-session-out jackknife for the acceleration (n extra rows through the same vectorised path).
    folds : int
        k of the k-fold cross-validation by session (per strategy).
    method : {"em", "exact"}
        Euler-Maruyama reading of the regression, or the exact discretisation through logm.
    model : {"full", "diagonal", "pooled"}
        A and b per strategy; A diagonal per strategy; or one A shared by all strategies with b per strategy.
    random_state : None, int or numpy.random.Generator
        Seed of the bootstrap and of the fold assignment.
    compare_models : bool
        Also fit the other two models for the AIC/BIC/held-out table (skip it to save time in simulations).
    """

    def __init__(
        self,
        dt: float = 1.0,
        n_bootstrap: int = 1000,
        ci_level: float = 0.95,
        folds: int = 5,
        method: str = "em",
        model: str = "full",
        random_state: int | np.random.Generator | None = None,
        compare_models: bool = True,
        ci: str = "percentile",
    ) -> None:
        self.dt = dt
        self.n_bootstrap = n_bootstrap
        self.ci_level = ci_level
        self.folds = folds
        self.method = method
        self.model = model
        self.random_state = random_state
        self.compare_models = compare_models
        self.ci = ci

    def get_params(self) -> dict[str, Any]:
        """The constructor arguments (as scikit-learn's ``get_params``)."""
        keys = ("dt", "n_bootstrap", "ci_level", "folds", "method", "model", "random_state", "compare_models", "ci")
        return {k: getattr(self, k) for k in keys}

    def fit(self, x: Array, labels: Sequence[str]) -> SdeFit:
        """Fit every strategy.

        Parameters
        ----------
        x : ndarray of shape (n_sessions, n_steps, 3)
            Objective vectors (security, efficiency, functionality) per session and step; NaN marks a missing
            score; transitions touching a NaN are dropped and counted (trailing all-NaN padding is not
            counted). Within a strategy, an objective that is constant or never observed is *held*: left out of
            that strategy's regression (see :mod:`llmsde.dynamics._held`) with a warning.
        labels : sequence of str, length n_sessions
            Strategy label of each session; strategies appear in the result in order of first appearance.

        A strategy that cannot be fitted (one session, too few transitions, every objective held, a singular
        design) is skipped with a warning and listed in ``SdeFit.skipped`` with the reason. When none can be
        fitted the result has no strategies and every one in ``skipped``: the data decide that, so it is a
        result, not an error. FitInputError is only for meaningless input (shape, dtype, labels, parameters).
        """
        check_params(
            self.dt, self.n_bootstrap, self.ci_level, self.folds, self.method, self.model, self.random_state, self.ci
        )
        arr, labs = check_panel(x, labels)
        rng = np.random.default_rng(self.random_state)
        names = list(dict.fromkeys(labs))
        index = {name: i for i, name in enumerate(names)}
        groups = np.array([index[lab] for lab in labs], dtype=np.int64)
        model, folds, n_boot = str(self.model), int(self.folds), int(self.n_bootstrap)
        pooled = model == "pooled"
        work, held, skipped = _prepare(arr, groups, names, model)
        weights = _bootstrap_weights(groups, len(names), n_boot, rng)
        fold_of = assign_folds(groups, folds, rng)
        ci = str(self.ci)
        settings = Settings(
            float(self.dt), float(self.ci_level), str(self.method), model, REGRESSORS[model], ci, n_boot
        )
        fits: dict[str, StrategyFit] = {}
        fitted = np.array([g for g, name in enumerate(names) if name not in skipped], dtype=np.int64)
        if pooled:
            units = [np.flatnonzero(np.isin(groups, fitted))] if len(fitted) else []
        else:
            units = [np.flatnonzero(groups == g) for g in fitted]
        for idx in units:
            local = np.searchsorted(fitted, groups[idx]).astype(np.int64) if pooled else np.zeros(len(idx), np.int64)
            n_local = len(fitted) if pooled else 1
            tr = transitions(work[idx], local if pooled else None, n_local)
            st = session_stats(tr)
            h = {} if pooled else held[names[int(groups[idx[0]])]]
            mask = hold_mask(mask_for(model, tr.features.shape[2]), h)
            unit_settings = settings._replace(n_regressors=n_params(model, 3 - len(h)))
            point = solve(st.zz.sum(axis=0), st.zy.sum(axis=0), mask)
            if not bool(point.valid):
                reason = _singular_reason(work[idx][:, :-1][tr.valid], h, pooled)
                for g in np.unique(groups[idx]):
                    skipped[names[g]] = reason
                continue
            boot = None
            w_unit = weights[:, idx]
            if n_boot > 0 and ci == "bca":
                w_unit = np.vstack([w_unit, 1.0 - np.eye(len(idx))])  # jackknife rows after the resamples
            if n_boot > 0:
                boot = solve(*weighted(st, w_unit)[:2], mask)
            cv = cross_validate(work[idx], tr, st, mask, local, fold_of[idx], unit_settings.n_regressors)
            if cv.folds_failed:
                warnings.warn(
                    f"{cv.folds_failed} of {len(np.unique(fold_of[idx]))} folds had a singular training design; "
                    "their sessions are left out of the held-out R^2",
                    LlmsdeWarning,
                    stacklevel=2,
                )
            for g in np.unique(groups[idx]):
                sub = np.flatnonzero(groups[idx] == g)
                h_g = held.get(names[g], {})
                moved = loose(arr[groups == g], h_g)
                notes = [held_message(names[g], h_g, moved)] if h_g else []
                if h_g:
                    warnings.warn(notes[0], LlmsdeWarning, stacklevel=2)
                n_sess = len(sub)
                if n_sess < folds:
                    notes.append(f"{n_sess} sessions < folds={folds}: held-out R^2 is leave-one-session-out")
                fits[names[g]] = _assemble_group(
                    names[g],
                    work[idx],
                    tr,
                    st,
                    point.beta,
                    boot,
                    w_unit,
                    cv,
                    sub,
                    int(np.searchsorted(fitted, g)) if pooled else None,
                    unit_settings,
                    h_g,
                    tuple(notes),
                    moved,
                )
        for name in names:
            if name in skipped:
                warnings.warn(f"strategy {name!r} skipped: {skipped[name]}", LlmsdeWarning, stacklevel=2)
        if not fits:
            warnings.warn(
                "no strategy could be fitted (each one's reason is in `skipped`): run more sessions or iterations "
                "per strategy, or tasks on which the objectives vary",
                LlmsdeWarning,
                stacklevel=2,
            )
        comparison: tuple[ModelScore, ...] = ()
        if self.compare_models and fits:
            keep = np.isin(groups, [index[n] for n in fits])
            kept = np.searchsorted(np.unique(groups[keep]), groups[keep]).astype(np.int64)
            comparison = compare(
                work[keep], kept, len(fits), fold_of[keep], [held.get(n, {}) for n in fits], list(fits)
            )
        meta = {
            "dt": float(self.dt),
            "n_bootstrap": n_boot,
            "ci_level": float(self.ci_level),
            "ci": ci,
            "folds": folds,
            "method": str(self.method),
            "model": model,
            "random_state": self.random_state if isinstance(self.random_state, int) else None,
            "objectives": list(OBJECTIVE_NAMES),
            "n_sessions": len(labs),
        }
        return SdeFit(
            strategies={n: fits[n] for n in names if n in fits},
            meta=meta,
            model_comparison=comparison,
            skipped={n: skipped[n] for n in names if n in skipped},
        )


def n_params(model: str, n_moving: int) -> int:
    """Drift coefficients per equation that one strategy's data must identify (moving levels and intercept;
    own level and intercept for ``diagonal``, and for ``pooled``, whose shared A the other strategies help fit)."""
    return 2 if model in ("diagonal", "pooled") else n_moving + 1


def _prepare(
    arr: Array, groups: NDArray[np.int64], names: list[str], model: str
) -> tuple[Array, dict[str, dict[int, float]], dict[str, str]]:
    """The panel with missing held objectives filled, the held objectives and the skipped strategies (reasons).

    Sessions are counted first (held objectives are judged on the regressor states, which need usable
    transitions), then the held objectives, then the transitions against the parameters left to estimate.
    """
    work = arr.copy()
    held: dict[str, dict[int, float]] = {}
    skipped: dict[str, str] = {}
    for g, name in enumerate(names):
        sel = groups == g
        h = find_held(arr[sel])
        missing = {j: v for j, v in h.items() if math.isnan(v)}
        filled = fill_missing(arr[sel], missing)
        valid = np.isfinite(filled[:, :-1]).all(axis=2) & np.isfinite(filled[:, 1:]).all(axis=2)
        if model == "pooled":
            h = missing
            if missing:
                names_missing = ", ".join(OBJECTIVE_NAMES[j] for j in missing)
                skipped[name] = f"{names_missing} missing in every state; model 'pooled' needs all three"
        too_few = strategy_problem(np.asarray(valid), 0) if len(missing) < 3 else None
        if name in skipped:
            pass
        elif too_few is not None:
            skipped[name] = too_few  # no or one usable session: constancy cannot be judged either
        elif len(h) == 3:
            skipped[name] = "every objective is constant or missing"
        if name not in skipped:
            work[sel] = fill_missing(arr[sel], h)
            reason = strategy_problem(np.asarray(valid), n_params(model, 3 - len(h)))
            if reason is not None:
                skipped[name] = reason
        if name not in skipped:
            held[name] = h
    return work, held, skipped


def _singular_reason(used: Array, held: dict[int, float], pooled: bool) -> str:
    """Why the design of a unit is singular: a constant objective (pooled) or collinear objectives."""
    for j, obj in enumerate(OBJECTIVE_NAMES):
        if j not in held and used.size and float(np.ptp(used[:, j])) == 0.0:
            return f"objective {obj!r} is constant ({used[0, j]:g}){' in the pooled panel' if pooled else ''}"
    return "the design is singular: the objectives are collinear (one is a linear function of the others)"


def _assemble_group(
    name: str,
    x: Array,
    tr: Any,
    st: Any,
    beta: Array,
    boot: Any,
    w: Array,
    held: HeldOut,
    sub: NDArray[np.int64],
    group: int | None,
    settings: Settings,
    held_obj: dict[int, float],
    notes: tuple[str, ...],
    moved: frozenset[int] = frozenset(),
) -> StrategyFit:
    """Slice one strategy's sessions out of a fitted unit and assemble its result."""
    tr_g = type(tr)(*(a[sub] for a in tr))
    st_g = type(st)(*(a[sub] for a in st))
    held_g = HeldOut(
        sse_one=held.sse_one[:, sub],
        sse_multi=held.sse_multi[:, sub],
        lsum=held.lsum[sub],
        lsq=held.lsq[sub],
        ln=held.ln[sub],
        loglik=held.loglik[sub],
        folds_failed=held.folds_failed,
    )
    w_g = w[:, sub] if boot is not None else None
    beta_b = boot.beta if boot is not None else None
    return assemble(name, x[sub], tr_g, st_g, beta, beta_b, w_g, held_g, group, settings, held_obj, notes, moved)


def _bootstrap_weights(groups: NDArray[np.int64], n_groups: int, n_boot: int, rng: np.random.Generator) -> Array:
    """Session multiplicities of shape (n_boot, n_sessions): a multinomial resample within each strategy."""
    w = np.zeros((n_boot, len(groups)))
    for g in range(n_groups):
        idx = np.flatnonzero(groups == g)
        n = len(idx)
        draws = rng.integers(0, n, size=(n_boot, n)) + (np.arange(n_boot) * n)[:, None]
        w[:, idx] = np.bincount(draws.ravel(), minlength=n_boot * n).reshape(n_boot, n)
    return w
