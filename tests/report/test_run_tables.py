"""Per-task degradation and usage tables from stored iteration rows."""

from __future__ import annotations

import math

from llmsde.report.run_tables import task_table, usage_table


def _row(
    session: str, task: str, strategy: str, k: int, s: float, e: float, f: float, **kw: object
) -> dict[str, object]:
    return {
        "session": session,
        "task": task,
        "strategy": strategy,
        "k": k,
        "security": s,
        "efficiency": e,
        "functionality": f,
        **kw,
    }


ROWS = [
    _row("a", "t1", "FF", 0, 8.0, 5.0, 6.0, prompt_tokens=0, completion_tokens=0),
    _row("a", "t1", "FF", 1, 6.0, 5.0, 7.0, prompt_tokens=100, completion_tokens=50, cost_usd=0.01),
    _row(
        "a", "t1", "FF", 2, 4.0, math.nan, 8.0, prompt_tokens=100, completion_tokens=40, cost_usd=0.02, reason="syntax"
    ),
    _row("b", "t1", "FF", 0, 8.0, 5.0, 6.0),
    _row("b", "t1", "FF", 1, 7.0, 5.2, 6.0, error="HTTP 500"),
    _row("c", "t2", "SF", 0, 3.0, 5.0, 6.0),
    _row("c", "t2", "SF", 1, 6.0, 4.0, 6.0, prompt_tokens=10, completion_tokens=5),
]


def test_task_table_flags_degrading_objectives() -> None:
    table = task_table(ROWS)
    by_key = {(r[0], r[1]): r for r in table.rows}
    t1 = by_key[("t1", "FF")]
    assert t1[2] == "2"
    assert t1[3] == "-2.50"  # security: (-4 + -1) / 2
    assert t1[4] == "+0.10"  # efficiency: last finite of a is 5.0 (k=1), b: +0.2
    assert t1[6] == "security"
    t2 = by_key[("t2", "SF")]
    assert t2[3] == "+3.00" and t2[6] == "efficiency"


def test_usage_table_counts_failures_tokens_and_cost() -> None:
    table = usage_table(ROWS)
    rows = {r[0]: r for r in table.rows}
    assert [r[0] for r in table.rows] == ["FF", "SF", "all"]
    assert rows["FF"][1:] == ("5", "1", "1", "200", "90", "0.0300")
    assert rows["SF"][6] == "n/a"
    assert rows["all"][1:6] == ("7", "1", "1", "210", "95")
