"""The local executor: one warm Scorer in this process, scored in threads, at most one scoring per core.

Scoring is CPU-bound sandbox work driven from threads, so a semaphore bounds it independently of how many
sessions wait on the model; the event loop stays free to commit and to send the next calls.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from llmsde.runner.executors.base import Scored, ScorerLike, WorkerInfo, scorer_error
from llmsde.tasks.model import Task

__all__ = ["LocalExecutor", "default_score_slots"]


def default_score_slots() -> int:
    """Concurrent scorings: one per available core, at least one."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores)


class LocalExecutor:
    """Scores with ``scorer`` in worker threads, ``slots`` at a time (default: one per core)."""

    kind = "local"

    def __init__(self, scorer: ScorerLike, slots: int | None = None) -> None:
        self._scorer = scorer
        self._slots = asyncio.Semaphore(slots or default_score_slots())
        isolation: Any = getattr(scorer, "isolation", None)
        level = str(isolation.level) if isolation is not None else "unknown"
        layers = tuple((str(k), bool(v)) for k, v in (getattr(isolation, "layers", None) or {}).items())
        warnings = tuple(str(w) for w in getattr(isolation, "warnings", ()))
        self._worker = WorkerInfo("local", level, layers, warnings)
        self._label = f"local {level}"

    @property
    def workers(self) -> tuple[WorkerInfo, ...]:
        """The one worker: this process."""
        return (self._worker,)

    async def score(self, code: str | None, task: Task) -> Scored:
        """Score in a thread; a scorer crash comes back as data, never as an exception."""
        async with self._slots:
            try:
                result = await asyncio.to_thread(self._scorer.score, code, task)
            except Exception as exc:  # a scorer crash is data about this iteration, not the end of the run
                return scorer_error(exc, self._label)
        return Scored(result, self._label)
