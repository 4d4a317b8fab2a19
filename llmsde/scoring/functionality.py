"""Functionality score: ``10 * passed / total`` over a task's tests.

IO cases are judged here, in the trusted parent: the sandbox returns the JSON text of the candidate's return
value and it is compared with the expected value after the same JSON round trip, so expected values never
enter the sandbox and objects with a rigged ``__eq__`` cannot pass. Comparison modes (``IOCase.compare``):

- ``exact``: equal after the JSON round trip (tuples become lists); ``True`` is not ``1``; ``1 == 1.0``;
- ``approx``: like exact, but floats may differ by ``rel_tol=1e-6`` or ``abs_tol=1e-6``, and NaN equals NaN;
- ``unordered``: a top-level list compared as a multiset of exact-equal items.

Assert cases run in the sandbox and pass iff the harness sees them raise nothing.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any

from llmsde.sandbox import AssertOp, IoOp, Op, OpResult
from llmsde.tasks.model import AssertCase, IOCase, Task

__all__ = ["compare_io", "build_test_ops", "judge_tests", "values_equal"]


def build_test_ops(task: Task, test_timeout_s: float) -> tuple[Op, ...]:
    """One sandbox operation per test case, in the task's order."""
    ops: list[Op] = []
    for case in task.tests:
        if isinstance(case, IOCase):
            ops.append(IoOp(tuple(case.args), dict(case.kwargs), wall_s=test_timeout_s))
        else:
            ops.append(AssertOp(case.code, wall_s=test_timeout_s))
    return tuple(ops)


def values_equal(got: Any, want: Any, approx: bool = False) -> bool:
    """Deep, type-aware equality of two JSON values (bool is never a number)."""
    if isinstance(got, bool) or isinstance(want, bool):
        return type(got) is type(want) and got == want
    if isinstance(got, int | float) and isinstance(want, int | float):
        if approx:
            if math.isnan(got) and math.isnan(want):
                return True
            return math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-6)
        return got == want
    if isinstance(got, list) and isinstance(want, list):
        return len(got) == len(want) and all(values_equal(g, w, approx) for g, w in zip(got, want, strict=True))
    if isinstance(got, dict) and isinstance(want, dict):
        return got.keys() == want.keys() and all(values_equal(got[k], want[k], approx) for k in want)
    return type(got) is type(want) and bool(got == want)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, allow_nan=True)


def compare_io(case: IOCase, result: OpResult) -> tuple[bool, str | None]:
    """Judge one io result against the case's expected value; returns (passed, reason when failed)."""
    if not result.ok or result.value is None:
        return False, result.error or "no result"
    try:
        got = json.loads(result.value)
    except (ValueError, RecursionError):
        return False, "return value is not valid JSON"
    want = json.loads(json.dumps(case.expected, allow_nan=True))
    if case.compare == "unordered" and isinstance(got, list) and isinstance(want, list):
        ok = Counter(map(_canonical, got)) == Counter(map(_canonical, want))
    else:
        ok = values_equal(got, want, approx=case.compare == "approx")
    if ok:
        return True, None
    shown = result.value if len(result.value) <= 80 else result.value[:77] + "..."
    return False, f"expected {_canonical(want)[:80]}, got {shown}"


def judge_tests(task: Task, results: tuple[OpResult, ...]) -> list[dict[str, Any]]:
    """``raw["tests"]``: one ``{name, passed, reason}`` per case, in order."""
    records: list[dict[str, Any]] = []
    for k, (case, result) in enumerate(zip(task.tests, results, strict=True)):
        if isinstance(case, AssertCase):
            passed, reason = result.ok, None if result.ok else (result.error or "failed")
        else:
            passed, reason = compare_io(case, result)
        records.append({"name": case.name or f"test_{k}", "passed": passed, "reason": reason})
    return records
