"""IO comparison in the parent: exact, approx and unordered modes, and the JSON round trip."""

from __future__ import annotations

import pytest

from llmsde.sandbox import AssertOp, IoOp, OpResult
from llmsde.scoring.functionality import build_test_ops, compare_io, judge_tests, values_equal
from llmsde.tasks import AssertCase, IOCase, Task


def ok(text: str) -> OpResult:
    return OpResult(ok=True, value=text)


@pytest.mark.parametrize(
    ("got", "want", "approx", "equal"),
    [
        (1, 1.0, False, True),
        (True, 1, False, False),
        (1, True, False, False),
        (0.1 + 0.2, 0.3, False, False),
        (0.1 + 0.2, 0.3, True, True),
        (float("nan"), float("nan"), True, True),
        ([1, [2, {"a": 3}]], [1, [2, {"a": 3}]], False, True),
        ({"a": 1}, {"a": 1, "b": 2}, False, False),
        ("1", 1, False, False),
        (None, None, False, True),
        ([1, 2], [1, 2, 3], False, False),
    ],
)
def test_values_equal(got: object, want: object, approx: bool, equal: bool) -> None:
    assert values_equal(got, want, approx) is equal


def test_tuples_compare_equal_to_lists_after_the_json_round_trip() -> None:
    assert compare_io(IOCase((1,), (1, 2)), ok("[1,2]")) == (True, None)


def test_unordered_compares_multisets() -> None:
    case = IOCase((1,), [3, 1, 2, 1], compare="unordered")
    assert compare_io(case, ok("[1,1,2,3]"))[0]
    assert not compare_io(case, ok("[1,2,3,3]"))[0]
    assert not compare_io(case, ok("[1,2,3]"))[0]


def test_failures_say_why() -> None:
    passed, reason = compare_io(IOCase((1,), 4), ok("5"))
    assert not passed and reason == "expected 4, got 5"
    assert compare_io(IOCase((1,), 4), OpResult(ok=False, error="timed out after 2s")) == (
        False,
        "timed out after 2s",
    )
    assert compare_io(IOCase((1,), 4), ok("{not json"))[0] is False


def test_ops_and_records_follow_the_task_order() -> None:
    task = Task("t", "spec", "f", (IOCase((1,), 2, name="one"), AssertCase("assert candidate(1) == 2")))
    ops = build_test_ops(task, 1.5)
    assert isinstance(ops[0], IoOp) and ops[0].wall_s == 1.5 and isinstance(ops[1], AssertOp)
    records = judge_tests(task, (ok("2"), OpResult(ok=False, error="AssertionError: ")))
    assert records == [
        {"name": "one", "passed": True, "reason": None},
        {"name": "test_1", "passed": False, "reason": "AssertionError: "},
    ]
