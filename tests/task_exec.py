"""In-process execution of task code for the suite's own tests (the real scorer runs code in the sandbox).

Results travel through JSON as they do from the sandbox, so a tuple compares equal to a list and dict keys
become strings, matching what :class:`llmsde.tasks.IOCase` expects.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

from llmsde.tasks import AssertCase, IOCase, Task


def load(code: str, entry_point: str) -> Any:
    namespace: dict[str, Any] = {"__name__": "candidate"}
    exec(compile(code, "<candidate>", "exec"), namespace)  # noqa: S102 - test helper runs the suite's own code
    return namespace[entry_point]


def _approx(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return (
            isinstance(a, int | float) and isinstance(b, int | float) and math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6)
        )
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_approx(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_approx(a[k], b[k]) for k in a)
    return bool(a == b)


def passes(task: Task, code: str) -> list[bool]:
    """One pass/fail per test of ``task`` for ``code``."""
    try:
        fn = load(code, task.entry_point)
    except Exception:
        return [False] * len(task.tests)
    results = []
    for case in task.tests:
        try:
            if isinstance(case, IOCase):
                got = json.loads(json.dumps(fn(*json.loads(json.dumps(case.args)), **case.kwargs)))
                if case.compare == "unordered":
                    ok = sorted(map(json.dumps, got)) == sorted(map(json.dumps, case.expected))
                elif case.compare == "approx":
                    ok = _approx(got, case.expected)
                else:
                    ok = got == case.expected
            else:
                assert isinstance(case, AssertCase)
                ns: dict[str, Any] = {"candidate": fn, task.entry_point: fn}
                exec(task.test_setup + "\n" + case.code, ns)  # noqa: S102
                ok = True
        except Exception:
            ok = False
        results.append(ok)
    return results


def functionality(task: Task, code: str) -> float:
    """10 x passed / total, the functionality score."""
    res = passes(task, code)
    return 10.0 * sum(res) / len(res)


def workload_cpu(task: Task, code: str) -> float:
    """CPU seconds for one pass over the workload (best of three, to damp noise on a shared machine)."""
    assert task.workload is not None
    fn = load(code, task.entry_point)
    calls = [json.loads(json.dumps(c)) for c in task.workload.calls]
    best = math.inf
    for _ in range(3):
        start = time.process_time()
        for args in calls:
            fn(*args)
        best = min(best, time.process_time() - start)
    return best
