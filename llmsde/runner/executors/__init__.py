"""Executors: where candidates are scored. ``local`` (threads in this process) or ``ray`` (actors on a cluster).

Only :func:`open_executor` chooses; Ray is imported when, and only when, ``executor.kind = "ray"``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from llmsde.config import StudyConfig
from llmsde.runner.executors.base import (
    Executor,
    Scored,
    ScoreFn,
    ScorerLike,
    WorkerInfo,
    common_isolation,
    scorer_error,
)
from llmsde.runner.executors.local import LocalExecutor, default_score_slots
from llmsde.tasks.model import Task

__all__ = [
    "Executor",
    "LocalExecutor",
    "ScoreFn",
    "Scored",
    "ScorerLike",
    "WorkerInfo",
    "common_isolation",
    "default_score_slots",
    "open_executor",
    "scorer_error",
]


@contextmanager
def open_executor(config: StudyConfig, tasks: Mapping[str, Task]) -> Iterator[Executor]:
    """The executor ``config.executor`` names, ready to score ``tasks``; stopped on every exit path."""
    if config.executor.kind == "ray":
        from llmsde.runner.executors.ray_pool import RayExecutor

        executor = RayExecutor.start(config, tasks)
        try:
            yield executor
        finally:
            executor.close()
        return
    from llmsde.scoring import Scorer

    with Scorer(config.scoring, config.sandbox) as scorer:
        yield LocalExecutor(scorer)
