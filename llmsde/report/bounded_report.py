"""Report sections for bounded scores and broken code: the censored fit beside the linear one, bound shares,
first passage (table and figure), breakage rates, and, from a run's rows, per strategy and iteration the share of
replies that parse, import, pass all tests and are repaired at the next iteration (with a figure).

The per-iteration counts need no model, so a run of mostly broken code still gets a report that explains it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from llmsde.dynamics import SdeFit
from llmsde.report.bounded_tables import (
    bound_recommendations,
    bound_share_rows,
    breakage_rows,
    censored_rows,
    first_passage_rows,
)
from llmsde.report.document import Figure, Section
from llmsde.report.run_tables import Table

__all__ = ["bounded_sections", "reply_shares", "reply_table"]

_NO_PARSE = ("no code", "syntax error", "does not compile", "source larger than")
_NO_IMPORT = ("import failed",)
SHARES = ("parse", "import", "pass all tests", "repaired next")


def _status(row: Mapping[str, Any]) -> tuple[bool, bool, bool]:
    """(parses, imports with its entry point, passes every test) of one stored reply."""
    reason = str(row.get("reason") or "").lower()
    parses = not reason.startswith(_NO_PARSE)
    imports = parses and not reason.startswith(_NO_IMPORT) and "entry point" not in reason
    func = row.get("functionality")
    passes = imports and func is not None and not math.isnan(float(func)) and float(func) >= 10.0 - 1e-9
    return parses, imports, passes


def reply_shares(rows: Sequence[Mapping[str, Any]]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per strategy: (shares (K, 4) for parse, import, pass all, repaired next; counts (K,)) by iteration k.

    ``repaired next`` is the share of broken replies at k (not importing) whose session works at k + 1 (NaN
    where nothing was broken or k is the last iteration)."""
    by_session: dict[Any, dict[int, tuple[bool, bool, bool]]] = {}
    strategy: dict[Any, str] = {}
    for row in rows:
        if row.get("error") and row.get("reason") == "provider call failed":
            continue
        sid = row["session"]
        strategy[sid] = str(row["strategy"])
        by_session.setdefault(sid, {})[int(row["k"])] = _status(row)
    if not by_session:
        return {}
    n_k = max(max(s) for s in by_session.values()) + 1
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name in dict.fromkeys(strategy.values()):
        sums = np.zeros((n_k, 4))
        counts = np.zeros(n_k)
        broken = np.zeros(n_k)
        for sid, states in by_session.items():
            if strategy[sid] != name:
                continue
            for k, (p, i, t) in states.items():
                counts[k] += 1
                sums[k, :3] += (p, i, t)
                if not i and k + 1 in states:
                    broken[k] += 1
                    sums[k, 3] += states[k + 1][1]
        with np.errstate(invalid="ignore", divide="ignore"):
            shares = sums / np.where(counts > 0, counts, np.nan)[:, None]
            shares[:, 3] = np.where(broken > 0, sums[:, 3] / np.where(broken > 0, broken, 1.0), np.nan)
        out[name] = (shares, counts)
    return out


def reply_table(shares: dict[str, tuple[np.ndarray, np.ndarray]]) -> Table:
    """Per strategy and iteration: replies, % that parse, import, pass all tests, repaired at the next k."""

    def pct(v: float) -> str:
        return "-" if math.isnan(v) else f"{100 * v:.0f}%"

    rows = [
        (name, str(k), str(int(counts[k])), *(pct(float(v)) for v in s[k]))
        for name, (s, counts) in shares.items()
        for k in range(len(counts))
        if counts[k] > 0
    ]
    return Table(
        "Replies that parse, import, pass all tests, and are repaired at the next iteration",
        ("strategy", "k", "replies", *SHARES),
        tuple(rows),
        "k = 0 scores the seed code. 'import' includes having the entry point; 'repaired next' is the share of "
        "broken replies at k whose session has working code at k + 1.",
    )


def _reply_figure(shares: dict[str, tuple[np.ndarray, np.ndarray]]) -> Figure:
    from matplotlib.ticker import MaxNLocator

    from llmsde.report._mpl import new_figure, png_bytes
    from llmsde.report.palette import strategy_colors

    colors = strategy_colors(list(shares))
    fig, axes = new_figure(11.0, 2.8, ncols=4)
    for col, title in enumerate(SHARES):
        ax = axes[0, col]
        for name, (s, counts) in shares.items():
            ks = np.flatnonzero(counts > 0)
            ax.plot(ks, 100 * s[ks, col], marker="o", ms=3, color=colors[name], label=name)
        ax.set_title(title)
        ax.set_xlabel("iteration k")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(-3, 103)
    axes[0, 0].set_ylabel("% of replies")
    axes[0, 0].legend(fontsize=7)
    caption = ("Share of replies per iteration that parse, import (with the entry point), pass all tests, and, "
               "when broken, are repaired at the next iteration.")  # fmt: skip
    return Figure("figures/replies.png", png_bytes(fig), caption)


def _first_passage_figure(fit: SdeFit) -> Figure:
    from matplotlib.ticker import MaxNLocator

    from llmsde.report._mpl import new_figure, png_bytes
    from llmsde.report.palette import strategy_colors

    colors = strategy_colors(list(fit.censored))
    fig, axes = new_figure(11.0, 3.0, ncols=3)
    names = ("security", "efficiency", "functionality")
    for j, obj in enumerate(names):
        ax = axes[0, j]
        for label, cf in fit.censored.items():
            for fp in cf.first_passage:
                if fp.objective != obj:
                    continue
                ks = np.arange(1, len(fp.prob_by_k.value) + 1)
                ax.plot(ks, fp.prob_by_k.value, color=colors[label], label=label)
                if np.isfinite(fp.prob_by_k.lo).all():
                    ax.fill_between(ks, fp.prob_by_k.lo, fp.prob_by_k.hi, color=colors[label], alpha=0.15)
                ax.set_title(f"P({obj} <= {fp.threshold:g} by k)")
        ax.set_xlabel("iteration k")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(-0.02, 1.02)
    axes[0, 0].legend(fontsize=7)
    return Figure("figures/first_passage.png", png_bytes(fig), "First passage under the censored model: probability "
                  "that the score has been at or below the threshold by iteration k, from the observed starting "
                  "states, with 95% bootstrap bands.")  # fmt: skip


def _table(title: str, cols_rows: tuple[tuple[str, ...], list[list[str]]], note: str = "") -> Table:
    cols, rows = cols_rows
    return Table(title, cols, tuple(tuple(r) for r in rows), note)


def bounded_sections(fit: SdeFit, rows: Sequence[Mapping[str, Any]]) -> list[Section]:
    """The report sections this module adds (none when the fit has neither a censored fit nor broken code)."""
    out: list[Section] = []
    recommend = bound_recommendations(fit)
    if recommend:
        out.append(Section("Scores on the bounds", bullets=tuple(recommend)))
    if fit.censored:
        out.append(
            Section(
                "Bounded scores (censored model)",
                paragraphs=(
                    "Latent z_{k+1} = x_k + A x_k + b + e, observed x = clip(z, 0, 10), fitted by censored (Tobit) "
                    "maximum likelihood (docs/fit-bounded.md). Model shares are simulated from the observed "
                    "starting states over the same iterations as the data.",
                ),
                tables=(
                    _table("Linear and censored fits side by side", censored_rows(fit)),
                    _table("States on the bounds: data vs censored model", bound_share_rows(fit)),
                    _table("First passage below the threshold", first_passage_rows(fit)),
                ),
                figures=(_first_passage_figure(fit),),
            )
        )
    shares = reply_shares(rows) if rows else {}
    any_broken = any(np.nanmin(s[:, 1]) < 1.0 for s, _ in shares.values())
    if fit.breakage or any_broken or not fit.strategies:
        tables = []
        if fit.breakage:
            tables.append(_table("Break and repair rates", breakage_rows(fit), "session-bootstrap 95% CIs"))
        if shares:
            tables.append(reply_table(shares))
        paragraphs = ["Broken code (does not parse or import) is an event of the dynamics: the SDE is fitted on "
                      "working-to-working transitions and breaking and repair are counted here."]  # fmt: skip
        if not fit.strategies:
            why = "; ".join(f"{k}: {v}" for k, v in fit.skipped.items()) or "no usable transition"
            paragraphs.append(f"The SDE could not be fitted for any strategy ({why}); these counts are the result.")
        out.append(
            Section(
                "Breakage",
                paragraphs=tuple(paragraphs),
                tables=tuple(tables),
                figures=(_reply_figure(shares),) if shares else (),
            )
        )
    return out
