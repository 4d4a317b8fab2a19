"""Plain tables about a run's raw iterations: which tasks degrade under which strategy, tokens, cost,
failures.

These read the stored iteration rows (dicts as ``RunStore.iteration_rows`` returns them), not the fit: a
reader
who sees "SF raises security" in the fit wants to know on which tasks it does not. Cells are pre-formatted
strings
so that Markdown, HTML and the terminal show the same numbers.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from llmsde.types import OBJECTIVES

__all__ = ["DEGRADE_THRESHOLD", "Table", "task_table", "usage_table"]

DEGRADE_THRESHOLD = 0.5
"""A task degrades an objective under a strategy when the mean change from the first to the last scored
iteration
of its sessions is below minus this many points (half a point on the 0-10 scale: larger than timing noise)."""


class Table(NamedTuple):
    """A titled table of pre-formatted cells."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""


def _num(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return math.nan
    return f


def _session_changes(rows: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], list[list[float]]]:
    """(task, strategy) -> per session [dS, dE, dF] from its first to its last finite score of each
    objective."""
    by_session: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        by_session[str(row["session"])].append(row)
    out: dict[tuple[str, str], list[list[float]]] = defaultdict(list)
    for its in by_session.values():
        its = sorted(its, key=lambda r: int(r["k"]))
        deltas = []
        for name in OBJECTIVES:
            vals = [_num(r.get(name)) for r in its]
            vals = [v for v in vals if math.isfinite(v)]
            deltas.append(vals[-1] - vals[0] if len(vals) >= 2 else math.nan)
        out[(str(its[0].get("task", "?")), str(its[0].get("strategy", "?")))].append(deltas)
    return out


def _mean(values: Sequence[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return sum(finite) / len(finite) if finite else math.nan


def task_table(rows: Sequence[Mapping[str, Any]]) -> Table:
    """Per (task, strategy): sessions, mean change of each objective over the session, and which degrade."""
    changes = _session_changes(rows)
    body: list[tuple[str, ...]] = []
    for (task, strategy), sessions in sorted(changes.items()):
        means = [_mean([s[j] for s in sessions]) for j in range(3)]
        worse = [OBJECTIVES[j] for j in range(3) if means[j] < -DEGRADE_THRESHOLD]
        cells = [f"{m:+.2f}" if math.isfinite(m) else "n/a" for m in means]
        body.append((task, strategy, str(len(sessions)), *cells, ", ".join(worse) if worse else "-"))
    return Table(
        "Per task: mean change from first to last iteration",
        ("task", "strategy", "sessions", "d security", "d efficiency", "d functionality", "degrades"),
        tuple(body),
        f"'degrades' lists objectives whose mean change is below -{DEGRADE_THRESHOLD:g} points.",
    )


def usage_table(rows: Sequence[Mapping[str, Any]]) -> Table:
    """Per strategy and in total: iterations, failed calls, unscored iterations, tokens and cost."""
    keys = ("iterations", "failed", "missing", "prompt_tokens", "completion_tokens", "cost")
    totals: dict[str, dict[str, float]] = defaultdict(lambda: dict.fromkeys(keys, 0.0))
    cost_known: dict[str, bool] = defaultdict(bool)
    for row in rows:
        for group in (str(row.get("strategy", "?")), "all"):
            t = totals[group]
            t["iterations"] += 1
            t["failed"] += 1 if row.get("error") else 0
            t["missing"] += 1 if any(not math.isfinite(_num(row.get(n))) for n in OBJECTIVES) else 0
            t["prompt_tokens"] += _num(row.get("prompt_tokens")) if row.get("prompt_tokens") else 0.0
            t["completion_tokens"] += _num(row.get("completion_tokens")) if row.get("completion_tokens") else 0.0
            cost = _num(row.get("cost_usd"))
            if math.isfinite(cost):
                t["cost"] += cost
                cost_known[group] = True
    order = sorted(k for k in totals if k != "all") + (["all"] if "all" in totals else [])
    body: list[tuple[str, ...]] = []
    for group in order:
        t = totals[group]
        cost_cell = f"{t['cost']:.4f}" if cost_known[group] else "n/a"
        body.append((group, *(f"{int(t[k]):d}" for k in keys[:5]), cost_cell))
    return Table(
        "Tokens, cost and failures",
        (
            "strategy",
            "iterations",
            "failed calls",
            "unscored",
            "prompt tokens",
            "completion tokens",
            "cost (USD)",
        ),
        tuple(body),
        "'failed calls' = iterations whose provider call or scorer failed (recorded, not retried forever); "
        "'unscored' = iterations with at least one missing score (e.g. code that does not parse).",
    )
