"""What the session loop needs from an executor: an async scoring function, plus who scored and how isolated.

The session loop never sees a Scorer, a thread or a Ray actor: it awaits ``score(code, task)`` and commits what
comes back, so the order of commits, the store and resume are the same whichever executor scored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from llmsde.scoring.result import ScoreResult
from llmsde.tasks.model import Task

__all__ = [
    "Executor",
    "ScoreFn",
    "Scored",
    "ScorerLike",
    "WorkerInfo",
    "common_isolation",
    "scorer_error",
]


class ScorerLike(Protocol):
    """What an executor needs from :class:`llmsde.scoring.Scorer`."""

    def score(self, code: str | None, task: Task) -> ScoreResult: ...


@dataclass(frozen=True, slots=True)
class Scored:
    """One scoring's outcome: the scores, the worker that produced them, and a scorer crash if there was one."""

    result: ScoreResult
    worker: str | None = None
    """``<where> <isolation level>``, e.g. ``local netns+...`` or ``ray:10.0.0.5:4242 netns+...``."""
    error: str | None = None
    """``scorer error: ...`` when the scorer itself raised (data about the iteration, not a crash of the run)."""


ScoreFn = Callable[[str | None, Task], Awaitable[Scored]]
"""``score(code, task)``: what :class:`~llmsde.runner.session.RunContext` calls for every iteration."""


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    """One scoring worker and the sandbox isolation it achieved (workers on different machines may differ)."""

    label: str
    level: str
    layers: tuple[tuple[str, bool], ...] = ()
    warnings: tuple[str, ...] = ()


class Executor(Protocol):
    """Scores candidates somewhere; built before the run directory exists, closed on every exit path."""

    kind: str

    @property
    def workers(self) -> tuple[WorkerInfo, ...]: ...

    async def score(self, code: str | None, task: Task) -> Scored: ...


def scorer_error(exc: BaseException, worker: str | None) -> Scored:
    """A scorer crash as data: every score missing, the exception named on the iteration."""
    import math

    missing = ScoreResult(math.nan, math.nan, math.nan, reason="scorer error")
    return Scored(missing, worker, f"scorer error: {type(exc).__name__}: {exc}")


def common_isolation(workers: Sequence[WorkerInfo]) -> tuple[str, tuple[str, ...]]:
    """The isolation every worker has (the layers all of them achieved) and every warning any of them gave.

    This is the guarantee a run can state; when workers differ, one more warning lists each worker's level.
    """
    if not workers:
        return "unknown", ()
    order = [name for name, _ in workers[0].layers]
    common = [name for name in order if all(dict(w.layers).get(name, False) for w in workers)]
    level = "+".join(common) or ("none" if order else workers[0].level)
    warnings: list[str] = []
    for worker in workers:
        warnings += [w for w in worker.warnings if w not in warnings]
    if len({w.level for w in workers}) > 1:
        listing = "; ".join(f"{w.label}: {w.level}" for w in workers)
        warnings.append(f"workers differ in sandbox isolation ({listing})")
    return level, tuple(warnings)
