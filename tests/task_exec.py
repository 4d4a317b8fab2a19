"""In-process execution of task code for the suite's own tests (the real scorer runs code in the sandbox).

Only the execution is different: an io result is judged by the production comparison
(:func:`llmsde.scoring.functionality.compare_io`, fed the JSON text of the return value as the sandbox sends it),
so this helper can never pass code the scorer fails (``True`` is not ``1`` here either).
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

from llmsde.sandbox import OpResult
from llmsde.scoring.functionality import compare_io
from llmsde.tasks import AssertCase, IOCase, Task


def load(code: str, entry_point: str) -> Any:
    namespace: dict[str, Any] = {"__name__": "candidate"}
    exec(compile(code, "<candidate>", "exec"), namespace)  # noqa: S102 - test helper runs the suite's own code
    return namespace[entry_point]


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
                value = json.dumps(fn(*json.loads(json.dumps(case.args)), **case.kwargs), allow_nan=True)
                ok = compare_io(case, OpResult(ok=True, value=value))[0]
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
