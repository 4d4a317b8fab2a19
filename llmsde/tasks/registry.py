"""Resolve the ``tasks`` selectors of a study config into a list of tasks.

A selector is ``builtin`` (the whole built-in suite), a directory of imported tasks (read with
:func:`llmsde.tasks.io.read_task_dir`, imported lazily so the CLI starts fast), or a task id. Ids are looked
up
among the built-ins and among the tasks of every directory named in the same list, so
``["tasks/humaneval", "HumanEval/3"]`` is valid even though the id holds a slash.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from llmsde.errors import ConfigError
from llmsde.tasks.builtin import builtin_tasks
from llmsde.tasks.model import Task

__all__ = ["load_tasks"]


def _read_dir(path: Path) -> list[Task]:
    from llmsde.tasks.io import read_task_dir

    return read_task_dir(path)


def load_tasks(selectors: Sequence[str]) -> list[Task]:
    """The tasks the selectors name, de-duplicated by id (first occurrence wins), in selector order.

    An unknown id raises :class:`ConfigError` listing the known ids; an empty selection is an error too,
    because a
    study without tasks would silently do nothing.
    """
    builtins = builtin_tasks()
    dirs = {sel: _read_dir(Path(sel)) for sel in selectors if sel != "builtin" and Path(sel).is_dir()}
    known: dict[str, Task] = {t.id: t for t in builtins}
    for tasks in dirs.values():
        for task in tasks:
            known.setdefault(task.id, task)
    chosen: dict[str, Task] = {}
    for sel in selectors:
        if sel == "builtin":
            group = builtins
        elif sel in dirs:
            group = dirs[sel]
        elif sel in known:
            group = [known[sel]]
        else:
            names = ", ".join(sorted(known))
            hint = f"known tasks: {names}; or 'builtin', or a directory written by `llmsde tasks import`"
            raise ConfigError(f"unknown task '{sel}'", hint)
        for task in group:
            chosen.setdefault(task.id, task)
    if not chosen:
        raise ConfigError("no tasks selected", 'set tasks = ["builtin"] or name task ids / task directories')
    return list(chosen.values())
