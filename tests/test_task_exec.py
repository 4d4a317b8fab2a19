"""The suite's in-process oracle (tests/task_exec.py) judges io results exactly as the scorer does."""

from __future__ import annotations

import math

import task_exec

from llmsde.scoring import score_code
from llmsde.tasks import IOCase, Task

CASES: tuple[tuple[str, IOCase], ...] = (
    ("True", IOCase((), 1)),
    ("1", IOCase((), True)),
    ("1", IOCase((), 1.0)),
    ("(1, 2)", IOCase((), [1, 2])),
    ("{1: 'a'}", IOCase((), {"1": "a"})),
    ("[3, 1, 2]", IOCase((), [1, 2, 3], compare="unordered")),
    ("[True, 2]", IOCase((), [1, 2], compare="unordered")),
    ("1.0000001", IOCase((), 1.0, compare="approx")),
    ("True", IOCase((), 1.0, compare="approx")),
    ("float('nan')", IOCase((), math.nan, compare="approx")),
    ("'1'", IOCase((), 1)),
)
"""(return expression, case): bool-vs-number, tuple-vs-list, key, multiset, tolerance and NaN rules."""


def _one(case: IOCase) -> Task:
    return Task(id="oracle", spec="return a constant", entry_point="f", tests=(case,))


def _code(expr: str) -> str:
    return f"def f():\n    return {expr}\n"


def test_bool_is_not_a_number_in_the_oracle() -> None:
    assert task_exec.passes(_one(IOCase((), 1)), _code("True")) == [False]
    assert task_exec.passes(_one(IOCase((), 1)), _code("1")) == [True]


def test_oracle_agrees_with_the_scorer_case_by_case() -> None:
    task = Task(id="oracle", spec="-", entry_point="f", tests=tuple(case for _, case in CASES))
    dispatch = "\n".join(f"    if n == {i}:\n        return {expr}" for i, (expr, _) in enumerate(CASES))
    code = f"N = [0]\n\ndef f():\n    n = N[0]\n    N[0] += 1\n{dispatch}\n"
    scored = score_code(code, task)
    production = [t["passed"] for t in scored.raw["tests"]]
    assert task_exec.passes(task, code) == production
    assert production.count(False) >= 4, production
