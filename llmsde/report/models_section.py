"""The parts of a report that only a multi-model run has: a model-by-strategy overview and one section per
model.

A multi-model fit has labels ``MODEL/STRATEGY`` (composed in :mod:`llmsde.store.panel`). The overview puts the
figures a reader compares first side by side: per strategy, each model's convergence rate, equilibrium and
security trend with their CIs, so "does model X lose security faster than Y under the same prompts" is one
glance; ``llmsde compare RUN --by model`` gives the paired tests behind it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from llmsde.report.document import Figure, Section
from llmsde.report.run_tables import Table
from llmsde.types import OBJECTIVES

if TYPE_CHECKING:
    from llmsde.dynamics import SdeFit, StrategyFit

__all__ = ["model_of", "model_sections", "overview_figure", "spend_table"]

_PANELS = ("rho", *(f"equilibrium {o}" for o in OBJECTIVES), "security trend")


class _Point(NamedTuple):
    value: float
    lo: float
    hi: float


def model_of(label: str) -> tuple[str, str]:
    """(model, strategy) of a fit label; a plain strategy label has model ``""``."""
    model, _, strategy = label.rpartition("/")
    return model, strategy


def _points(sf: StrategyFit) -> list[_Point]:
    """rho, equilibrium S/E/F and the security trend (x*_S - mean start), as (value, lo, hi)."""
    out = [_Point(float(sf.rho.value), float(sf.rho.lo), float(sf.rho.hi))]
    eq = sf.equilibrium
    for j in range(3):
        out.append(
            _Point(math.nan, math.nan, math.nan)
            if eq is None
            else _Point(*(float(a[j]) for a in (eq.value, eq.lo, eq.hi)))
        )
    x0 = sf.x0_mean[0]
    out.append(_Point(*(p - x0 for p in out[1])))
    return out


def overview_figure(fit: SdeFit) -> Figure:
    """Per strategy (x axis) one marker per model with its CI, in five panels: rho, equilibrium S/E/F and the
    security trend."""
    from llmsde.report._mpl import new_figure, png_bytes
    from llmsde.report.palette import strategy_colors

    by_pair = {model_of(label): sf for label, sf in fit.strategies.items()}
    models = list(dict.fromkeys(m for m, _ in by_pair))
    strategies = list(dict.fromkeys(s for _, s in by_pair))
    colors = strategy_colors(models)
    fig, axes = new_figure(3.2 * len(_PANELS), 3.4, ncols=len(_PANELS))
    width = 0.7 / max(len(models), 1)
    for p, title in enumerate(_PANELS):
        ax = axes[0, p]
        for i, model in enumerate(models):
            xs, vals, err = [], [], []
            for j, strategy in enumerate(strategies):
                sf = by_pair.get((model, strategy))
                if sf is None:
                    continue
                pt = _points(sf)[p]
                xs.append(j - 0.35 + width * (i + 0.5))
                vals.append(pt.value)
                ok = math.isfinite(pt.lo) and math.isfinite(pt.hi)
                err.append((pt.value - pt.lo, pt.hi - pt.value) if ok else (0.0, 0.0))
            yerr = np.abs(np.asarray(err, dtype=float).T) if err else None
            ax.errorbar(xs, vals, yerr=yerr, fmt="o", color=colors[model], label=model, capsize=3)
        ax.set_xticks(range(len(strategies)), strategies)
        ax.set_title(title)
        if title == "security trend":
            ax.axhline(0.0, color="#999999", linewidth=0.8)
    axes[0, 0].legend(fontsize="small")
    caption = (
        "Models side by side per strategy: convergence rate rho, equilibrium per objective and security trend "
        "(x*_security minus the mean start), each with its bootstrap CI; `llmsde compare RUN --by model` tests "
        "the differences with paired CIs."
    )
    return Figure("figures/models_overview.png", png_bytes(fig), caption)


def spend_table(spend: Mapping[str, Mapping[str, Any]]) -> Table:
    """Calls, tokens and cost per model."""
    rows = []
    for label, u in spend.items():
        cost = u.get("cost_usd")
        rows.append(
            (
                label,
                str(u.get("calls", 0)),
                str(u.get("prompt_tokens", 0)),
                str(u.get("completion_tokens", 0)),
                "n/a" if cost is None else f"{cost:.4f}",
            )
        )
    return Table(
        "Spend per model",
        ("model", "calls", "prompt tokens", "completion tokens", "cost (USD)"),
        tuple(rows),
        "cost n/a: the model has no prices in the config.",
    )


def model_sections(
    fit: SdeFit, spend: Mapping[str, Mapping[str, Any]], fit_table: Callable[[SdeFit], Table]
) -> list[Section]:
    """The overview section, then one section per model with its own fit table (built by ``fit_table``)."""
    labels: Sequence[str] = list(fit.strategies)
    models = list(dict.fromkeys(model_of(label)[0] for label in labels))
    overview = Section(
        "Models",
        paragraphs=(
            f"This run compares {len(models)} models ({', '.join(models)}) on the same tasks, strategies and "
            "seeds; fit labels are MODEL/STRATEGY.",
        ),
        tables=(spend_table(spend),) if spend else (),
        figures=(overview_figure(fit),),
    )
    sections = [overview]
    for model in models:
        mine = {label: sf for label, sf in fit.strategies.items() if model_of(label)[0] == model}
        sub = dataclasses.replace(fit, strategies=mine)
        cost = (spend.get(model) or {}).get("cost_usd")
        calls = (spend.get(model) or {}).get("calls", 0)
        bullets = (f"{calls} model calls, cost {'n/a (no prices)' if cost is None else f'${cost:.4f}'}.",)
        sections.append(Section(f"Model {model}", bullets=bullets, tables=(fit_table(sub),)))
    return sections
