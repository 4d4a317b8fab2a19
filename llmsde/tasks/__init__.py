"""Tasks: the task model, the built-in suite, strategies and dataset importers."""

from __future__ import annotations

from llmsde.tasks.model import AssertCase, IOCase, Task, TestCase, Workload, task_from_dict, task_to_dict

__all__ = ["AssertCase", "IOCase", "Task", "TestCase", "Workload", "task_from_dict", "task_to_dict"]
