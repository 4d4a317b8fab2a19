"""The built-in task suite: small stdlib-only problems whose seeds are insecure, slow, or both.

Tasks are Python modules rather than data files so their workloads can be generated deterministically at
import
and their seed code stays readable in the repository. ``docs/tasks.md`` lists every task.
"""

from __future__ import annotations

import functools

from llmsde.tasks.builtin.efficiency_tasks import efficiency_tasks
from llmsde.tasks.builtin.mixed_tasks import mixed_tasks
from llmsde.tasks.builtin.security_tasks import security_tasks
from llmsde.tasks.model import Task

__all__ = ["builtin_tasks"]


@functools.cache
def _all() -> tuple[Task, ...]:
    return (*security_tasks(), *efficiency_tasks(), *mixed_tasks())


def builtin_tasks() -> list[Task]:
    """Every built-in task, in a stable order (security seeds, efficiency traps, mixed).

    Built once per process on first call (generating the workloads takes a few hundred milliseconds, which
    ``llmsde --help`` should not pay); tasks are frozen, so sharing them is safe.
    """
    return list(_all())
