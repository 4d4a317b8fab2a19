"""The class behind each Ray scoring actor: a warm Scorer with its own sandbox pool, on whichever node Ray
placed it.

It is a plain class (Ray wraps it in :mod:`llmsde.runner.executors.ray_pool`), so this module imports nothing of
Ray and nodes import it by name: every node needs llmsde installed (docs/scale.md). Tasks arrive by value once,
through the constructor (from the object store), so a node never reads task files and a replacement actor gets
them the same way.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

from llmsde.config import SandboxConfig, ScoringConfig
from llmsde.runner.executors.base import Scored, WorkerInfo, scorer_error
from llmsde.tasks.model import Task

__all__ = ["ScoringWorker"]


class ScoringWorker:
    """One actor: scores one candidate at a time with a one-slot sandbox pool (Ray gives it one CPU)."""

    def __init__(self, scoring: ScoringConfig, sandbox: SandboxConfig, tasks: Mapping[str, Task]) -> None:
        from llmsde.scoring import Scorer

        self._tasks: dict[str, Task] = dict(tasks)
        self._scorer = Scorer(scoring, sandbox.model_copy(update={"slots": 1}))
        isolation = self._scorer.isolation
        where = f"ray:{_node_address()}:{os.getpid()}"
        self._info = WorkerInfo(
            where,
            str(isolation.level),
            tuple((str(k), bool(v)) for k, v in isolation.layers.items()),
            tuple(str(w) for w in isolation.warnings),
        )
        self._label = f"{where} {isolation.level}"

    def info(self) -> WorkerInfo:
        """Who this worker is and the isolation its sandbox achieved; answering also means it is ready."""
        return self._info

    def score(self, code: str | None, task: Task | str) -> Scored:
        """Score one candidate; ``task`` is a task id shipped in the constructor, or a Task by value."""
        resolved = self._tasks[task] if isinstance(task, str) else task
        try:
            return Scored(self._scorer.score(code, resolved), self._label)
        except Exception as exc:  # a scorer crash is data about this iteration, not the end of the run
            return scorer_error(exc, self._label)

    def close(self) -> None:
        """Stop the sandbox servers before Ray ends the process."""
        self._scorer.close()


def _node_address() -> str:
    """The node's address as Ray knows it, so a worker label says which machine scored."""
    try:
        import ray

        return str(ray.util.get_node_ip_address())  # type: ignore[no-untyped-call]
    except Exception:  # outside Ray (unit use): the host name still says where
        return socket.gethostname()
