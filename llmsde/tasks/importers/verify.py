"""Verification of imported tasks with the real scorer, in the sandbox.

A task is only as good as its tests: the reference solution (where the dataset has one) must score
functionality 10 on them, and the timing workload must run on it, or the task would measure the dataset's bugs
instead of the model. Tasks without a reference (security seeds) have their seed scored instead, so a seed
that cannot even be imported (e.g. it needs Flask) is reported before a study wastes calls on it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llmsde.tasks.model import Task

if TYPE_CHECKING:
    from llmsde.scoring.result import ScoreResult

ScoreFn = Callable[[str | None, Task], "ScoreResult"]

__all__ = ["Verdict", "verify_tasks"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the scorer said about one task's reference (or seed, when there is no reference)."""

    task_id: str
    has_reference: bool
    ok: bool
    """Reference: passes every test and its workload runs. Seed: scored without a reason (parses and
    imports)."""
    problem: str = ""
    """Why not ok, one line; empty when ok."""
    functionality: float = math.nan
    efficiency: float = math.nan


def _first_failure(raw_tests: object) -> str:
    if isinstance(raw_tests, list):
        for item in raw_tests:
            if isinstance(item, dict) and not item.get("passed", True):
                return f"{item.get('name', '?')}: {item.get('reason') or 'failed'}"
    return ""


def _judge(task: Task, score: ScoreFn) -> Verdict:
    code = task.reference if task.reference is not None else task.seed_code
    result = score(code, task)
    f = result.functionality
    if task.reference is None:
        problem = ""
        if math.isnan(result.security) or (result.reason or "").startswith("import failed"):
            problem = f"seed does not load: {result.reason}"
        elif not task.tests and not math.isnan(f):
            problem = f"seed scored functionality {f:g} with no tests (expected missing/NaN)"
        return Verdict(task.id, False, not problem, problem, f, result.efficiency)
    if result.reason and not (f >= 10.0 - 1e-9):
        return Verdict(task.id, True, False, f"reference: {result.reason}", f)
    if not f >= 10.0 - 1e-9:
        where = _first_failure(result.raw.get("tests"))
        detail = f"; first failure {where}" if where else ""
        return Verdict(task.id, True, False, f"reference fails its own tests (functionality {f:.2f}/10{detail})", f)
    if task.workload is not None and math.isnan(result.efficiency):
        return Verdict(task.id, True, False, f"workload does not run on the reference: {result.reason}", f)
    return Verdict(task.id, True, True, "", f, result.efficiency)


def verify_tasks(
    tasks: Sequence[Task],
    *,
    jobs: int = 2,
    score: ScoreFn | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[Verdict]:
    """Score each task's reference (or seed) in the sandbox, ``jobs`` at a time; verdicts in task order.

    ``score`` defaults to one shared :class:`llmsde.scoring.Scorer` (thread-safe), closed afterwards.
    """
    if not tasks:
        return []
    scorer = None
    if score is None:
        from llmsde.scoring import Scorer

        scorer = Scorer()
        score = scorer.score
    verdicts: list[Verdict | None] = [None] * len(tasks)
    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = {pool.submit(_judge, t, score): i for i, t in enumerate(tasks)}
            done = 0
            for fut, i in futures.items():
                verdicts[i] = fut.result()
                done += 1
                if on_progress is not None:
                    on_progress(done, len(tasks))
    finally:
        if scorer is not None:
            scorer.close()
    return [v for v in verdicts if v is not None]
