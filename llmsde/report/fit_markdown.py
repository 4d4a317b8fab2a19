"""fit.md: the fit as Markdown (summary, per-strategy parameters with CIs, checks, model comparison).

Built from the :class:`~llmsde.dynamics.SdeFit` alone (never refits), with the same rows as the terminal
table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from llmsde.dynamics import Estimate, SdeFit, StrategyFit
from llmsde.report.bounded_tables import censored_markdown
from llmsde.report.fit_tables import comparison_rows, fmt, held_text, skipped_rows, strategy_rows, summary_rows

__all__ = ["render_fit_markdown"]

_OBJ = ("S", "E", "F")


def _table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    def esc(cell: str) -> str:
        return cell.replace("|", "\\|")

    out = ["| " + " | ".join(esc(c) for c in columns) + " |", "|" + "---|" * len(columns)]
    out += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
    return out


def _matrix(e: Estimate, digits: int = 3) -> list[str]:
    rows = []
    for i in range(e.value.shape[0]):
        cells = [
            f"{fmt(e.value[i, j], digits)} [{fmt(e.lo[i, j], digits)}, {fmt(e.hi[i, j], digits)}]"
            for j in range(e.value.shape[1])
        ]
        rows.append([_OBJ[i], *cells])
    return _table(["", *_OBJ], rows)


def _vector(e: Estimate, digits: int = 3) -> list[str]:
    cells = [f"{fmt(e.value[j], digits)} [{fmt(e.lo[j], digits)}, {fmt(e.hi[j], digits)}]" for j in range(3)]
    return _table(list(_OBJ), [cells])


def _cell(e: Estimate, i: int, j: int, digits: int = 3) -> str:
    return f"{fmt(e.value[i, j], digits)} [{fmt(e.lo[i, j], digits)}, {fmt(e.hi[i, j], digits)}]"


def _cell1(e: Estimate, k: int, digits: int = 3) -> str:
    return f"{fmt(e.value[k], digits)} [{fmt(e.lo[k], digits)}, {fmt(e.hi[k], digits)}]"


def _strategy(sf: StrategyFit) -> list[str]:
    lines = [f"## Strategy {sf.label}", ""]
    lines += [
        f"{sf.n_sessions} sessions, {sf.n_transitions} transitions used, {sf.n_dropped} dropped (missing scores).",
        "",
    ]
    if sf.held:
        lines += [
            f"Held fixed (constant or missing in every state, so not fitted): {held_text(sf)}. Their rows and "
            "columns of A and Sigma are 0 (constant) or - (missing); eigenvalues are the moving objectives'.",
            "",
        ]
    lines += ["Drift matrix A (row: objective that changes; column: level that drives it):", ""] + _matrix(sf.A)
    lines += ["", "Drift intercept b:", ""] + _vector(sf.b)
    lines += ["", "Diffusion Sigma (per iteration):", ""] + _matrix(sf.Sigma)
    if sf.equilibrium is not None:
        lines += ["", "Equilibrium x* = -A^-1 b:", ""] + _vector(sf.equilibrium, 2)
    phi = sf.phi_eigenvalues
    eig_rows = [
        [
            str(k + 1),
            _cell(sf.eigenvalues, k, 0),
            _cell(sf.eigenvalues, k, 1),
            "-" if phi is None else _cell(phi, k, 0),
            "-" if phi is None else _cell(phi, k, 1),
            _cell1(sf.discrete_modulus, k),
        ]
        for k in range(len(sf.discrete_modulus.value))
    ]
    lines += ["", "Eigenvalues of A and of the step map Phi (mu), slowest first:", ""] + _table(
        ["mode", "Re lambda", "Im lambda", "Re mu", "Im mu", "|mu|"], eig_rows
    )
    lines += [
        "",
        f"Mode: {sf.mode}; half-life {fmt(sf.half_life.value, 2)} [{fmt(sf.half_life.lo, 2)}, "
        f"{fmt(sf.half_life.hi, 2)}] iterations (ln 2 / -ln max|mu|; continuous reading ln 2 / rho: "
        f"{fmt(sf.half_life_continuous.value, 2)}).",
    ]
    lines += ["", "Interference, view (a) Corr(dx_i, dx_j):", ""] + _matrix(sf.interference.corr_dx, 2)
    lines += ["", "Interference, view (b) drift coupling A_ij (i != j):", ""] + _matrix(sf.interference.coupling)
    lines += ["", "Interference, view (c) noise correlation:", ""] + _matrix(sf.interference.noise_corr, 2)
    r2_rows = []
    for name, block in (("model", sf.r2), *((k, v) for k, v in sf.baselines.items())):
        if name == "model":
            cells = [
                fmt(block["in_sample"].overall.value),
                fmt(block["held_out"].overall.value),
                fmt(block["multi_step"].overall.value),
            ]
        else:
            cells = ["", fmt(block["one_step"].overall.value), fmt(block["multi_step"].overall.value)]
        r2_rows.append([name, *cells])
    lines += ["", "R^2 (overall):", ""] + _table(
        ["predictor", "in-sample", "held-out one-step", "held-out multi-step"], r2_rows
    )
    lines += ["", "Details and checks:", ""] + _table(["", ""], [list(r) for r in strategy_rows(sf)])
    return lines + [""]


def _usage_row(usage: Mapping[str, Any]) -> str:
    cost = usage.get("cost_usd")
    return (
        f"| {usage.get('calls', 0)} | {usage.get('prompt_tokens', 0)} | {usage.get('completion_tokens', 0)} "
        f"| {usage.get('retries', 0)} | {usage.get('mean_latency_s', 0)} "
        f"| {'no prices in config' if cost is None else f'{cost:.4f}'} |"
    )


def _usage_lines(usage: Mapping[str, Any]) -> list[str]:
    """The call totals; a multi-model run (``by_model``) gets one row per model and a total row."""
    by_model: Mapping[str, Mapping[str, Any]] = usage.get("by_model") or {}
    head = "| calls | prompt tokens | completion tokens | retries | mean latency (s) | cost (USD) |"
    if not by_model:
        return ["## Model calls", "", head, "|---|---|---|---|---|---|", _usage_row(usage), ""]
    rows = [f"| {label} {_usage_row(u)}" for label, u in by_model.items()]
    return ["## Model calls", "", "| model " + head, "|---" * 7 + "|", *rows, f"| total {_usage_row(usage)}", ""]


def render_fit_markdown(fit: SdeFit, source: str = "", usage: Mapping[str, Any] | None = None) -> str:
    """The whole fit.md text; ``usage`` (a run's call totals) adds a "Model calls" section."""
    m = fit.meta
    lines = ["# SDE fit", ""]
    if source:
        lines += [f"Data: `{source}`", ""]
    if usage:
        lines += _usage_lines(usage)
    lines += [
        f"Model `{m.get('model')}`, method `{m.get('method')}`, dt = {m.get('dt')}, "
        f"{m.get('n_bootstrap')} session-bootstrap resamples "
        f"({fmt(100 * float(m.get('ci_level', 0.95)), 0)}% "
        f"{m.get('ci', 'percentile')} CIs), {m.get('folds')}-fold cross-validation by session, "
        f"seed {m.get('random_state')}.",
        "",
        "dx = (A x + b) dt + Sigma^1/2 dW per strategy; rho = -max Re(lambda(A)); mu = eigenvalues of the step "
        "map Phi (I + A dt for em, exp(A dt) for exact); half-life ln 2 / -ln max|mu| in iterations (inf: no "
        "contraction). Every definition: docs/fit.md.",
        "",
    ]
    if fit.strategies:
        cols, rows = summary_rows(fit)
        lines += _table(cols, rows) + [""]
    else:
        lines += [
            "## Nothing could be fitted",
            "",
            "No strategy had data the linear SDE can be fitted to (each one's reason is below): run more sessions "
            "or iterations per strategy, or tasks on which the objectives vary.",
            "",
        ]
    if fit.skipped:
        lines += ["## Skipped strategies", "", "These strategies could not be fitted:", ""]
        lines += _table(["strategy", "reason"], [list(r) for r in skipped_rows(fit)]) + [""]
    for sf in fit.strategies.values():
        lines += _strategy(sf)
    if fit.model_comparison:
        cols, rows = comparison_rows(fit)
        lines += (
            [
                "## Model comparison",
                "",
                "`*` marks the model fitted above. Lower AIC/BIC and higher held-out log-likelihood are better.",
                "",
            ]
            + _table(cols, rows)
            + [""]
        )
    lines += censored_markdown(fit)
    return "\n".join(lines)
