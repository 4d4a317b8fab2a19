"""Assemble the ``llmsde report`` document from a fit, the trajectories it was fitted to, and the run's rows.

The report never re-fits: it receives an :class:`~llmsde.dynamics.SdeFit` (the API fits first when a run has
no fit.json) and only *simulates* from it, to draw the model's mean path and band next to the observed paths.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from llmsde.report.bounded_report import bounded_sections
from llmsde.report.document import Figure, ReportDoc, Section, render_html, render_markdown
from llmsde.report.run_tables import Table, task_table, usage_table
from llmsde.types import OBJECTIVES

if TYPE_CHECKING:
    from llmsde.dynamics import SdeFit, StrategyFit

__all__ = ["FORMATS", "ReportFiles", "ReportInput", "build_document", "write_report"]

FORMATS = ("html", "md")
SIM_PATHS = 1000
"""Simulated paths per strategy for the model band: enough for stable 5%/95% quantiles."""


@dataclass(frozen=True)
class ReportInput:
    """Everything a report shows; the API gathers it from a run directory."""

    fit: SdeFit
    x: NDArray[np.float64]
    """Observed trajectories, shape (n_sessions, n_steps, 3), NaN where missing."""
    labels: tuple[str, ...]
    """Strategy label per session."""
    rows: Sequence[Mapping[str, Any]] = ()
    """Stored iteration rows (``RunStore.iteration_rows``); empty for a panel without a store."""
    facts: tuple[tuple[str, str], ...] = ()
    """Run id, provider, model ... shown under the title."""
    title: str = "llmsde report"
    seed: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)
    spend: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Model label -> call totals (``RunStore.usage_by_model``) of a multi-model run; empty otherwise."""


class ReportFiles(NamedTuple):
    """What :func:`write_report` wrote."""

    html: Path | None
    markdown: Path | None
    figures: tuple[Path, ...]


def _ci(v: float, lo: float, hi: float, fmt: str = ".2f") -> str:
    if not math.isfinite(v):
        return "n/a"
    if math.isfinite(lo) and math.isfinite(hi):
        return f"{v:{fmt}} [{lo:{fmt}}, {hi:{fmt}}]"
    return f"{v:{fmt}}"


def _fit_table(fit: SdeFit) -> Table:
    rows = []
    for label, sf in fit.strategies.items():
        eq = "none (A singular)"
        if sf.equilibrium is not None:
            eq = "[" + ", ".join(f"{v:.2f}" if math.isfinite(v) else "n/a" for v in sf.equilibrium.value) + "]"
        held = sf.r2.get("held_out")
        r2 = f"{float(held.overall.value):.2f}" if held is not None else "n/a"
        static = sf.baselines.get("static_mean")
        if static is not None:
            r2 += f" ({float(static['one_step'].overall.value):.2f})"
        rows.append(
            (
                label,
                str(sf.n_sessions),
                str(sf.n_transitions),
                _ci(float(sf.rho.value), float(sf.rho.lo), float(sf.rho.hi)),
                _ci(float(sf.half_life.value), math.nan, math.nan, ".1f"),
                sf.mode,
                "yes" if sf.stable else "no",
                eq,
                _trend_cell(sf),
                r2,
            )
        )
    level = round(100 * float(fit.meta.get("ci_level", 0.95)))
    return Table(
        "Fitted SDE per strategy",
        (
            "strategy",
            "sessions",
            "transitions",
            f"rho [{level}% CI]",
            "half-life",
            "mode",
            "discrete-stable",
            "equilibrium [S, E, F]",
            "security trend [CI]",
            "R^2 held-out (static mean: no memory)",
        ),
        tuple(rows),
        "security trend = x*_security minus the mean start: where refinement takes security in the long run; "
        "'degrades' when its whole CI is below 0.",
    )


def _trend_cell(sf: StrategyFit) -> str:
    if sf.equilibrium is None:
        return "n/a"
    x0 = sf.x0_mean[0]
    v, lo, hi = (float(a[0]) - x0 for a in (sf.equilibrium.value, sf.equilibrium.lo, sf.equilibrium.hi))
    cell = _ci(v, lo, hi, "+.2f")
    return cell + (" degrades" if math.isfinite(hi) and hi < 0 else "")


def _figures(inp: ReportInput) -> list[Figure]:
    from llmsde.dynamics import simulate
    from llmsde.report._mpl import png_bytes
    from llmsde.report.fig_matrices import EigenData, MatrixView, eigen_figure, interference_figure
    from llmsde.report.fig_paths import PathData, PhaseData, phase_figure, trajectory_figure

    labels = np.asarray(inp.labels)
    paths, phases, eigen = [], [], []
    views: dict[str, dict[str, MatrixView]] = {}
    for label, sf in inp.fit.strategies.items():
        obs = inp.x[labels == label]
        steps = max(int(obs.shape[1]) - 1, 1)
        sim = simulate(sf, steps=steps, paths=SIM_PATHS, seed=inp.seed)
        paths.append(PathData(label, obs, sim.mean, sim.quantiles[0.05], sim.quantiles[0.95]))
        eq = None if sf.equilibrium is None else sf.equilibrium.value
        # a missing (held) objective has NaN rows of A and b: draw it as not moving
        phases.append(PhaseData(label, obs, np.nan_to_num(sf.A.value), np.nan_to_num(sf.b.value), eq))
        eigen.append(EigenData(label, sf.eigenvalues.value, sf.eigenvalues.lo, sf.eigenvalues.hi))
        views[label] = {
            key: MatrixView(est.value, est.lo, est.hi)
            for key, est in (
                ("corr_dx", sf.interference.corr_dx),
                ("coupling_normalised", sf.interference.coupling_normalised),
                ("noise_corr", sf.interference.noise_corr),
            )
        }
    dt = float(inp.fit.meta.get("dt", 1.0))
    method = str(inp.fit.meta.get("method", "em"))
    return [
        Figure(
            "figures/trajectories.png",
            png_bytes(trajectory_figure(paths)),
            "Observed sessions (thin), their mean with a 95% CI band, and the fitted model's mean path "
            "(dashed) with its 90% predictive band (5%-95% of simulated paths).",
        ),
        Figure(
            "figures/phase_portraits.png",
            png_bytes(phase_figure(phases)),
            "Phase portraits: the fitted drift A x + b in each pair of objectives (third held at x*), "
            "observed sessions in grey, equilibrium as a star.",
        ),
        Figure(
            "figures/interference.png",
            png_bytes(interference_figure(views)),
            "Interference: (a) correlation of the changes, (b) normalised drift coupling, (c) noise "
            "correlation; rows are affected objectives, columns acting ones; * = CI excludes 0.",
        ),
        Figure(
            "figures/eigenvalues.png",
            png_bytes(eigen_figure(eigen, dt, method)),
            "Eigenvalues of A with CI whiskers; in the green region the fitted discrete map is stable "
            + (
                "(exact discretisation: |exp(lambda dt)| < 1, i.e. Re(lambda) < 0)."
                if method == "exact"
                else "(Euler-Maruyama: inside the disc |1 + lambda dt| < 1)."
            ),
        ),
    ]


def build_document(inp: ReportInput) -> ReportDoc:
    """The report as sections (tables and rendered figures), ready for either renderer."""
    fit = inp.fit
    degrading = [label for label, sf in fit.strategies.items() if _trend_cell(sf).endswith("degrades")]
    findings = [
        f"{label}: security falls significantly over the refinement (security trend CI below 0)." for label in degrading
    ] or ["No strategy has a security trend significantly below 0."]
    findings += [
        f"{label}: {', '.join(f'{k} missing' if v is None else f'{k} constant at {v:g}' for k, v in sf.held.items())}"
        " in every state, so held fixed; the drift is fitted on the other objectives."
        for label, sf in fit.strategies.items()
        if sf.held
    ]
    findings += [f"{label}: not fitted ({reason})." for label, reason in fit.skipped.items()]
    if not fit.strategies:
        findings.insert(0, "Nothing could be fitted: every strategy was skipped (reasons below), so no figures.")
    sections = [Section("Summary", bullets=tuple(findings) + inp.notes, tables=(_fit_table(fit),))]
    if fit.strategies:
        figs = _figures(inp)
        sections += [
            Section("Trajectories", figures=(figs[0],)),
            Section("Phase portraits", figures=(figs[1],)),
            Section("Interference", figures=(figs[2],)),
            Section("Stability", figures=(figs[3],)),
        ]
        if any(label.count("/") for label in fit.strategies):
            from llmsde.report.models_section import model_sections

            sections[1:1] = model_sections(fit, inp.spend, _fit_table)
    sections += bounded_sections(fit, inp.rows)
    if inp.rows:
        sections.append(Section("Tasks, tokens and failures", tables=(task_table(inp.rows), usage_table(inp.rows))))
    meta = fit.meta
    sections.append(
        Section(
            "Method",
            paragraphs=(
                "Linear SDE dx = (A x + b) dt + Sigma^1/2 dW per strategy, objectives "
                f"{', '.join(OBJECTIVES)}; method {meta.get('method', 'em')}, "
                f"model {meta.get('model', 'full')}, dt {meta.get('dt', 1.0)}, "
                f"{meta.get('n_bootstrap', 0)} session-bootstrap resamples, "
                f"{meta.get('folds', '?')}-fold held-out validation by session.",
            ),
        )
    )
    return ReportDoc(inp.title, inp.facts, tuple(sections))


def write_report(inp: ReportInput, out_dir: str | Path, formats: Sequence[str] = FORMATS) -> ReportFiles:
    """Write report.html and/or report.md plus the PNGs under ``out_dir/figures``."""
    from llmsde._atomic import write_bytes_atomic, write_text_atomic

    out = Path(out_dir)
    doc = build_document(inp)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    figures = []
    for sec in doc.sections:
        for fig in sec.figures:
            path = out / fig.name
            write_bytes_atomic(path, fig.png)
            figures.append(path)
    html_path = write_text_atomic(out / "report.html", render_html(doc)) if "html" in formats else None
    md_path = write_text_atomic(out / "report.md", render_markdown(doc)) if "md" in formats else None
    return ReportFiles(html_path, md_path, tuple(figures))
