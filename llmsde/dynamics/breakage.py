"""Breaking and repair of code as events: per strategy, P(broken at k+1 | working at k) and P(working at k+1 |
broken at k), with session-bootstrap CIs, and optionally a logistic model of breaking in the working state.

A state is *present* when the session has an iteration there, *broken* when its code does not parse or import
(the caller decides from the scorer's reason or a panel column), otherwise *working*. Each pair of consecutive
present states is one transition of the two-state chain; the rates are ratios of counts, and a resample of
sessions is a vector of multiplicities, so the B resampled rates are one matrix product over per-session counts.

Logistic: P(break | x_k) = expit(c + beta . x_k) on working states whose objectives are observed, fitted by
Newton (IRLS); the likelihood-ratio statistic against the constant rate is chi-square with one degree of freedom
per slope. It is fitted only with at least 5 breaks and 5 non-breaks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from llmsde.dynamics._estimate import Estimate
from llmsde.dynamics.censored_results import Breakage, Logistic
from llmsde.errors import FitInputError

Array = NDArray[np.float64]
MIN_EVENTS = 5


def session_counts(broken: NDArray[np.bool_], present: NDArray[np.bool_]) -> Array:
    """(S, 5): per session, transitions out of working, breaks, out of broken, repairs, repaired gaps."""
    pair = present[:, :-1] & present[:, 1:]
    work0, brok0 = pair & ~broken[:, :-1], pair & broken[:, :-1]
    breaks = work0 & broken[:, 1:]
    repairs = brok0 & ~broken[:, 1:]
    gaps = np.zeros(len(broken))
    for s in range(len(broken)):
        seen_working = False
        in_gap = False
        for k in np.flatnonzero(present[s]):
            if broken[s, k]:
                in_gap = seen_working
            else:
                gaps[s] += in_gap
                in_gap = False
                seen_working = True
    return np.stack([work0.sum(1), breaks.sum(1), brok0.sum(1), repairs.sum(1), gaps], axis=1).astype(np.float64)


def fit_breakage(
    x: Array,
    broken: Sequence[Sequence[bool]] | NDArray[np.bool_],
    labels: Sequence[str],
    n_bootstrap: int = 1000,
    ci_level: float = 0.95,
    random_state: int | np.random.Generator | None = None,
    logistic: bool = True,
) -> dict[str, Breakage]:
    """Breakage per strategy label; ``x`` (S, T, 3) marks present states (any finite score or ``broken``)."""
    arr = np.asarray(x, dtype=np.float64)
    flags = np.asarray(broken, dtype=bool)
    if arr.ndim != 3 or flags.shape != arr.shape[:2] or len(labels) != len(arr):
        raise FitInputError(
            f"breakage needs x (S, T, 3), broken (S, T) and S labels; got {arr.shape}, {flags.shape}, {len(labels)}",
            "pass the panel's x, broken and labels",
        )
    rng = np.random.default_rng(random_state)
    present = np.isfinite(arr).any(axis=2) | flags
    out: dict[str, Breakage] = {}
    for name in dict.fromkeys(labels):
        sel = np.array([lab == name for lab in labels])
        counts = session_counts(flags[sel], present[sel])
        n = len(counts)
        w = np.ones((1, n))
        if n_bootstrap:
            draws = rng.integers(0, n, size=(n_bootstrap, n)) + (np.arange(n_bootstrap) * n)[:, None]
            w = np.vstack([w, np.bincount(draws.ravel(), minlength=n_bootstrap * n).reshape(n_bootstrap, n)])
        tot = w @ counts
        with np.errstate(invalid="ignore", divide="ignore"):
            brk = np.where(tot[:, 0] > 0, tot[:, 1] / tot[:, 0], np.nan)
            rep = np.where(tot[:, 2] > 0, tot[:, 3] / tot[:, 2], np.nan)

        def est(v: Array) -> Estimate:
            return Estimate.from_draws(v[0], v[1:], ci_level) if n_bootstrap else Estimate.point(v[0])

        s_present = present[sel]
        out[name] = Breakage(
            label=name,
            break_rate=est(brk),
            repair_rate=est(rep),
            n_working=int(tot[0, 0]),
            n_breaks=int(tot[0, 1]),
            n_broken=int(tot[0, 2]),
            n_repairs=int(tot[0, 3]),
            n_gap=int(tot[0, 4]),
            broken_share=float(flags[sel][s_present].mean()) if s_present.any() else float("nan"),
            logistic=_logistic(arr[sel], flags[sel], s_present) if logistic else None,
        )
    return out


def _logistic(x: Array, broken: NDArray[np.bool_], present: NDArray[np.bool_]) -> Logistic | None:
    """Logistic regression of a break at k+1 on the working state x_k, with the LR test against a constant."""
    from scipy.stats import chi2

    pair = present[:, :-1] & present[:, 1:] & ~broken[:, :-1]
    prev = x[:, :-1][pair]
    y = broken[:, 1:][pair].astype(np.float64)
    usable = [j for j in range(3) if np.isfinite(prev[:, j]).all() and np.ptp(prev[:, j]) > 0]
    if not usable or y.sum() < MIN_EVENTS or (1 - y).sum() < MIN_EVENTS:
        return None
    design = np.c_[np.ones(len(y)), prev[:, usable]]
    beta = np.zeros(design.shape[1])
    beta[0] = np.log(y.mean() / (1 - y.mean()))
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-design @ beta))
        grad = design.T @ (y - p)
        hess = (design * (p * (1 - p))[:, None]).T @ design
        try:
            step = np.linalg.solve(hess + 1e-10 * np.eye(len(beta)), grad)
        except np.linalg.LinAlgError:
            return None
        beta += step
        if np.abs(step).max() < 1e-10:
            break
    if not np.isfinite(beta).all() or np.abs(beta).max() > 50:
        return None
    p = np.clip(1.0 / (1.0 + np.exp(-design @ beta)), 1e-12, 1 - 1e-12)
    ll_full = float((y * np.log(p) + (1 - y) * np.log(1 - p)).sum())
    m = y.mean()
    ll_const = float(y.sum() * np.log(m) + (1 - y).sum() * np.log(1 - m))
    lr = max(2.0 * (ll_full - ll_const), 0.0)
    coef = [float("nan")] * 4
    coef[0] = float(beta[0])
    for i, j in enumerate(usable):
        coef[j + 1] = float(beta[i + 1])
    return Logistic(tuple(coef), lr, len(usable), float(chi2.sf(lr, len(usable))))
