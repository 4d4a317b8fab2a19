"""The task model: one Python coding problem with its tests and timing workload.

Tests come in two kinds. An :class:`IOCase` calls the entry point with JSON arguments in the sandbox; the output
travels back as JSON and is compared with ``expected`` in the trusted parent, so expected values never enter the
sandbox and forged results or always-equal objects cannot pass. An :class:`AssertCase` is test code run in the
sandbox after the candidate (for imported datasets whose tests are assertions); it passes when it raises nothing,
as observed by the harness, never by what the candidate prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["AssertCase", "IOCase", "Task", "TestCase", "Workload", "task_from_dict", "task_to_dict"]


@dataclass(frozen=True, slots=True)
class IOCase:
    """Call ``entry_point(*args, **kwargs)`` and compare the JSON-decoded result with ``expected`` in the parent."""

    args: tuple[Any, ...]
    expected: Any
    kwargs: dict[str, Any] = field(default_factory=dict)
    compare: Literal["exact", "approx", "unordered"] = "exact"
    """``approx`` compares floats with rel/abs tolerance 1e-6; ``unordered`` compares lists as multisets."""
    name: str = ""


@dataclass(frozen=True, slots=True)
class AssertCase:
    """Test code run after the candidate and ``Task.test_setup``; passes iff it raises nothing.

    The entry point is bound to the name ``candidate`` as well as its own name.
    """

    code: str
    name: str = ""


TestCase = IOCase | AssertCase


@dataclass(frozen=True, slots=True)
class Workload:
    """The calls timed for the efficiency score: each tuple of args is one call of the entry point.

    The whole list is run ``repeats`` times in the sandbox and the median CPU time is taken.
    """

    calls: tuple[tuple[Any, ...], ...]
    repeats: int = 5


@dataclass(frozen=True, slots=True)
class Task:
    """One coding problem: what the model is asked to write, what it starts from, and how it is scored."""

    id: str
    spec: str
    """Natural-language statement of the problem, shown to the model."""
    entry_point: str | None
    """Name of the function the tests and the workload call; None for a task that calls nothing (no tests, no
    workload: a security seed whose code defines a class), which then needs seed code to start from."""
    tests: tuple[TestCase, ...]
    seed_code: str | None = None
    """The code a session starts from (may be deliberately insecure or slow); None: the model writes it first."""
    reference: str | None = None
    """A correct solution; it must pass every test."""
    workload: Workload | None = None
    test_setup: str = ""
    """Code run before AssertCases (imports, helpers); empty for IO-only tasks."""
    source: str = "builtin"
    """Where the task came from: ``builtin`` or the dataset it was imported from."""
    cwe: tuple[str, ...] = ()
    license: str | None = None
    tags: tuple[str, ...] = ()
    """Free labels, e.g. ``insecure-seed`` or ``efficiency-trap``."""

    def __post_init__(self) -> None:
        """Refuse a task without an entry point that something would call (tests, a workload) or that has no
        seed code (a seedless task's first prompt names the function to write)."""
        if self.entry_point is None and (self.tests or self.workload is not None or self.seed_code is None):
            raise ValueError(
                f"task {self.id!r} has no entry point, so it can have no tests or workload and needs seed code"
            )


def _case_to_dict(case: TestCase) -> dict[str, Any]:
    if isinstance(case, IOCase):
        return {
            "kind": "io",
            "args": list(case.args),
            "kwargs": dict(case.kwargs),
            "expected": case.expected,
            "compare": case.compare,
            "name": case.name,
        }
    return {"kind": "assert", "code": case.code, "name": case.name}


def _case_from_dict(data: dict[str, Any]) -> TestCase:
    if data.get("kind") == "assert":
        return AssertCase(code=str(data["code"]), name=str(data.get("name", "")))
    return IOCase(
        args=tuple(data.get("args", ())),
        expected=data.get("expected"),
        kwargs=dict(data.get("kwargs") or {}),
        compare=data.get("compare", "exact"),
        name=str(data.get("name", "")),
    )


def task_to_dict(task: Task) -> dict[str, Any]:
    """JSON-safe form of a task, the on-disk format of imported task directories."""
    return {
        "id": task.id,
        "spec": task.spec,
        "entry_point": task.entry_point,
        "tests": [_case_to_dict(c) for c in task.tests],
        "seed_code": task.seed_code,
        "reference": task.reference,
        "workload": None
        if task.workload is None
        else {"calls": [list(c) for c in task.workload.calls], "repeats": task.workload.repeats},
        "test_setup": task.test_setup,
        "source": task.source,
        "cwe": list(task.cwe),
        "license": task.license,
        "tags": list(task.tags),
    }


def task_from_dict(data: dict[str, Any]) -> Task:
    """Inverse of :func:`task_to_dict`; raises KeyError/TypeError on malformed input (callers wrap it)."""
    wl = data.get("workload")
    return Task(
        id=str(data["id"]),
        spec=str(data["spec"]),
        entry_point=None if data["entry_point"] is None else str(data["entry_point"]),
        tests=tuple(_case_from_dict(c) for c in data.get("tests", [])),
        seed_code=data.get("seed_code"),
        reference=data.get("reference"),
        workload=None
        if wl is None
        else Workload(calls=tuple(tuple(c) for c in wl["calls"]), repeats=int(wl.get("repeats", 5))),
        test_setup=str(data.get("test_setup", "")),
        source=str(data.get("source", "builtin")),
        cwe=tuple(data.get("cwe", ())),
        license=data.get("license"),
        tags=tuple(data.get("tags", ())),
    )
