"""Tasks: the task model, the built-in suite, strategies and dataset importers."""

from __future__ import annotations

from llmsde.tasks.builtin import builtin_tasks
from llmsde.tasks.model import AssertCase, IOCase, Task, TestCase, Workload, task_from_dict, task_to_dict
from llmsde.tasks.registry import load_tasks
from llmsde.tasks.strategies import BUILTIN_STRATEGIES, Strategy, available_strategies, get_strategy

__all__ = [
    "BUILTIN_STRATEGIES",
    "AssertCase",
    "IOCase",
    "Strategy",
    "Task",
    "TestCase",
    "Workload",
    "available_strategies",
    "builtin_tasks",
    "get_strategy",
    "load_tasks",
    "task_from_dict",
    "task_to_dict",
]
