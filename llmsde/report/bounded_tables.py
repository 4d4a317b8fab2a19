"""Rows and fit.md sections for the bounded-score additions: the censored fit beside the linear one, bound
shares (data vs model), first passage, breakage, and the recommendation to use ``--model censored``.

Plain strings only (render.py draws the terminal tables; fit_markdown/report builders lay out the Markdown).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from llmsde.dynamics import CensoredFit, Estimate, SdeFit
from llmsde.report.fit_tables import fmt, fmt_ci

__all__ = [
    "bound_recommendations",
    "bound_share_rows",
    "breakage_rows",
    "censored_markdown",
    "censored_rows",
    "first_passage_rows",
    "per_iteration_rows",
]

_OBJ = ("security", "efficiency", "functionality")


def _ci_at(e: Estimate, idx: tuple[int, ...], digits: int = 2) -> str:
    v, lo, hi = (float(a[idx]) for a in (e.value, e.lo, e.hi))
    if math.isnan(lo) and math.isnan(hi):
        return fmt(v, digits)
    return f"{fmt(v, digits)} [{fmt(lo, digits)}, {fmt(hi, digits)}]"


def _pct(e: Estimate, idx: tuple[int, ...]) -> str:
    v, lo, hi = (100 * float(a[idx]) for a in (e.value, e.lo, e.hi))
    if math.isnan(lo):
        return f"{fmt(v, 1)}%"
    return f"{fmt(v, 1)}% [{fmt(lo, 1)}, {fmt(hi, 1)}]"


def bound_recommendations(fit: SdeFit) -> list[str]:
    """The linear fit's own bound flags (states piled on 0 or 10, an equilibrium outside [0, 10]), one line per
    strategy and flag, when there is no censored fit: the rule and its threshold live in the estimator
    (``llmsde.dynamics._flags``), and this section only gathers what it said."""
    if fit.censored or fit.meta.get("censored_skipped"):
        return []
    return [
        f"strategy {sf.label!r}: {note}"
        for sf in fit.strategies.values()
        for note in sf.notes
        if "--model censored" in note
    ]


CENSORED_COLUMNS = (
    "strategy",
    "rho linear",
    "rho censored",
    "latent equilibrium [S, E, F]",
    "absorbed",
    "R^2 held-out lin / cens",
    "loglik held-out lin / cens",
    "preferred",
)


def censored_rows(fit: SdeFit) -> tuple[tuple[str, ...], list[list[str]]]:
    """The linear and censored fits side by side, one row per strategy with a censored fit."""
    rows = []
    for label, cf in fit.censored.items():
        lin = fit.strategies.get(label)
        eq = "[" + ", ".join(fmt(v) for v in cf.latent_equilibrium.value) + "]"
        absorbed = ", ".join(f"{_OBJ[j]} {a}" for j, a in enumerate(cf.absorbed) if a) or "-"
        r2 = cf.r2_held_out
        ll = cf.loglik_held_out
        rows.append(
            [
                label,
                "-" if lin is None else fmt_ci(lin.rho),
                fmt_ci(cf.rho),
                eq,
                absorbed,
                f"{fmt(r2.get('linear', (math.nan,) * 4)[3])} / {fmt(r2.get('censored', (math.nan,) * 4)[3])}",
                f"{fmt(ll.get('linear'))} / {fmt(ll.get('censored'))}",
                _preferred(ll),
            ]
        )
    return CENSORED_COLUMNS, rows


def _preferred(ll: dict[str, float]) -> str:
    """The model with the higher held-out log-likelihood per transition (ties within 0.005 go to linear)."""
    lin, cens = ll.get("linear", math.nan), ll.get("censored", math.nan)
    if math.isnan(lin) or math.isnan(cens):
        return "-"
    return "censored" if cens > lin + 0.005 else "linear"


BOUND_COLUMNS = ("strategy", "objective", "data on 0", "model on 0", "data on 10", "model on 10", "long run on 0",
                 "long run on 10", "long-run mean")  # fmt: skip


def bound_share_rows(fit: SdeFit) -> tuple[tuple[str, ...], list[list[str]]]:
    """Shares of states on each bound: data vs the censored model simulated over the same iterations, and the
    model's long-run shares and mean score."""
    rows = []
    for label, cf in fit.censored.items():
        for j, name in enumerate(_OBJ):
            if name in cf.held:
                continue
            lo_d, hi_d = cf.bound_share_data[j]
            rows.append(
                [
                    label,
                    name,
                    f"{fmt(100 * lo_d, 1)}%",
                    _pct(cf.bound_share_model, (j, 0)),
                    f"{fmt(100 * hi_d, 1)}%",
                    _pct(cf.bound_share_model, (j, 1)),
                    _pct(cf.stationary_bound_share, (j, 0)),
                    _pct(cf.stationary_bound_share, (j, 1)),
                    _ci_at(cf.stationary_mean, (j,)),
                ]
            )
    return BOUND_COLUMNS, rows


def first_passage_rows(fit: SdeFit) -> tuple[tuple[str, ...], list[list[str]]]:
    """P(score <= threshold within the horizon) and the expected iterations to first reach it, with CIs."""
    cols = ("strategy", "objective", "threshold", "horizon", "P(<= threshold by horizon)", "expected iterations",
            "P(reached by long horizon)")  # fmt: skip
    rows = []
    for label, cf in fit.censored.items():
        for fp in cf.first_passage:
            k = len(fp.prob_by_k.value)
            rows.append(
                [
                    label,
                    fp.objective,
                    fmt(fp.threshold, 1),
                    str(k),
                    _ci_at(fp.prob_by_k, (k - 1,)),
                    fmt_ci(fp.expected_iterations, 1),
                    f"{fmt_ci(fp.reached_by_long)} (k <= {fp.long_horizon})",
                ]
            )
    return cols, rows


def breakage_rows(fit: SdeFit) -> tuple[tuple[str, ...], list[list[str]]]:
    """Break and repair rates per strategy with CIs and counts, and the logistic test when it was fitted."""
    cols = ("strategy", "break rate", "breaks / working", "repair rate", "repairs / broken", "repaired gaps",
            "broken states", "logistic LR test")  # fmt: skip
    rows = []
    for label, br in fit.breakage.items():
        lg = br.logistic
        test = "-" if lg is None else f"chi2({lg.df}) = {fmt(lg.lr_statistic)}, p = {fmt(lg.p_value, 3)}"
        rows.append(
            [
                label,
                fmt_ci(br.break_rate, 3),
                f"{br.n_breaks} / {br.n_working}",
                fmt_ci(br.repair_rate, 3),
                f"{br.n_repairs} / {br.n_broken}",
                str(br.n_gap),
                f"{fmt(100 * br.broken_share, 1)}%",
                test,
            ]
        )
    return cols, rows


def _md_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return out + ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]


def _censored_params(cf: CensoredFit) -> list[str]:
    lines = [f"### {cf.label}: censored parameters", ""]
    lines += [f"{cf.n_sessions} sessions, {cf.n_transitions} working-to-working transitions; "
              f"{cf.bootstrap_valid}/{cf.bootstrap_total} bootstrap resamples converged.", ""]  # fmt: skip
    for name, e in (("A (latent drift)", cf.A), ("Sigma (latent noise)", cf.Sigma)):
        rows = [[_OBJ[i][0].upper(), *(_ci_at(e, (i, j), 3) for j in range(3))] for i in range(3)]
        lines += [f"{name}:", ""] + _md_table(["", "S", "E", "F"], rows) + [""]
    lines += [f"rho {fmt_ci(cf.rho)}, half-life {fmt_ci(cf.half_life, 1)} iterations, |1 + lambda| "
              + ", ".join(fmt(v) for v in cf.discrete_modulus.value) + ".", ""]  # fmt: skip
    lines += ["b and latent equilibrium:", ""]
    lines += _md_table(
        ["", "S", "E", "F"],
        [
            ["b", *(_ci_at(cf.b, (j,), 3) for j in range(3))],
            ["equilibrium", *(_ci_at(cf.latent_equilibrium, (j,)) for j in range(3))],
            ["", *(a or "inside [0, 10]" for a in cf.absorbed)],
        ],
    )
    return lines + [""] + [f"Note: {n}" for n in cf.notes] + ([""] if cf.notes else [])


_BREAKAGE_NOTE = (
    "break rate = P(broken at k+1 | working at k), repair rate = P(working at k+1 | broken at k), "
    "session-bootstrap CIs. The SDE is fitted on working-to-working transitions; repaired gaps are "
    "counted, not fitted (the Euler-Maruyama model has no closed form over a gap with clipping)."
)


def censored_markdown(fit: SdeFit) -> list[str]:
    """fit.md sections for the censored fit, first passage, breakage and bound recommendations (may be empty)."""
    lines: list[str] = []
    recommend = bound_recommendations(fit)
    if recommend:
        lines += ["## Scores on the bounds", ""] + [f"- {r}" for r in recommend] + [""]
    if fit.censored or fit.meta.get("censored_skipped"):
        lines += ["## Censored (bounded) model", "",
                  "Latent z_{k+1} = x_k + A x_k + b + e, e ~ N(0, Sigma), observed x = clip(z, 0, 10); Tobit maximum "
                  "likelihood equation by equation, noise correlations by pairwise censored likelihood "
                  "(docs/fit-bounded.md). A latent equilibrium outside [0, 10] means the score is absorbed at that "
                  "bound. Held-out figures: k-fold by session, R^2 of dx, log-likelihood per transition of the "
                  "observed scores (density inside, mass on a bound), the linear fit read through the same clipping.",
                  ""]  # fmt: skip
        cols, rows = censored_rows(fit)
        lines += _md_table(cols, rows) + [""]
        not_fitted = fit.meta.get("censored_skipped") or {}
        lines += [f"- {k}: no censored fit ({v})." for k, v in not_fitted.items()] + ([""] if not_fitted else [])
        lines += ["### Share of states on the bounds: data vs censored model", ""]
        cols, rows = bound_share_rows(fit)
        lines += _md_table(cols, rows) + [""]
        lines += ["### First passage", "", "From the observed starting states, simulated with the censored model "
                  "(CIs from the bootstrap parameter draws).", ""]  # fmt: skip
        cols, rows = first_passage_rows(fit)
        lines += _md_table(cols, rows) + [""]
        for cf in fit.censored.values():
            lines += _censored_params(cf)
    if fit.breakage:
        lines += ["## Breakage", "", _BREAKAGE_NOTE, ""]
        cols, rows = breakage_rows(fit)
        lines += _md_table(cols, rows) + [""]
        cols, per_k = per_iteration_rows(fit)
        if per_k:
            lines += ["### Replies per iteration", "", "Share of replies that parse, import (with the entry point), "
                      "pass all tests, and, when broken, are repaired at the next iteration (k = 0: the seed code).",
                      ""]  # fmt: skip
            lines += _md_table(cols, per_k) + [""]
    return lines


def per_iteration_rows(fit: SdeFit) -> tuple[tuple[str, ...], list[list[str]]]:
    """Per strategy and iteration (a run's replies): replies and % that parse, import, pass, are repaired next."""
    cols = ("strategy", "k", "replies", "parse", "import", "pass all tests", "repaired next")
    rows = [
        [label, *(_share_cell(i, v) for i, v in enumerate(r))]
        for label, br in fit.breakage.items()
        for r in br.per_iteration
        if r[1] > 0
    ]
    return cols, rows


def _share_cell(i: int, v: float) -> str:
    if i < 2:
        return str(int(v))
    return "-" if math.isnan(v) else f"{100 * v:.0f}%"
