"""The built-in suite is well-formed, its references correct, its seeds really insecure or slow."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import task_exec

from llmsde.tasks import IOCase, Task, builtin_tasks, task_from_dict, task_to_dict

TASKS = builtin_tasks()
IDS = [t.id for t in TASKS]


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Task code may write files in its cwd (spill_sort); keep them out of the repository."""
    monkeypatch.chdir(tmp_path)


def test_suite_size_and_unique_ids() -> None:
    assert len(TASKS) >= 12
    assert len(set(IDS)) == len(IDS)


@pytest.mark.parametrize("task", TASKS, ids=IDS)
def test_task_is_well_formed(task: Task) -> None:
    assert task.seed_code and task.reference and task.workload and task.workload.calls
    assert len(task.tests) >= 5
    assert task.entry_point in task.spec
    for code in (task.seed_code, task.reference):
        tree = ast.parse(code)
        assert any(isinstance(n, ast.FunctionDef) and n.name == task.entry_point for n in tree.body)
    assert sum(isinstance(c, IOCase) for c in task.tests) >= 3
    assert task_from_dict(json.loads(json.dumps(task_to_dict(task)))) == task


@pytest.mark.parametrize("task", TASKS, ids=IDS)
def test_reference_passes_every_test_and_seed_mostly_works(task: Task) -> None:
    assert task.reference is not None and task.seed_code is not None
    assert task_exec.passes(task, task.reference) == [True] * len(task.tests)
    assert task_exec.functionality(task, task.seed_code) >= 8.0


def test_a_broken_solution_fails_the_tests() -> None:
    task = next(t for t in TASKS if t.id == "merge_intervals")
    broken = "def merge_intervals(intervals):\n    return sorted(intervals)\n"
    assert task_exec.functionality(task, broken) < 10


def test_half_the_seeds_have_real_bandit_findings() -> None:
    from llmsde.scoring.security import BanditRunner

    bandit = BanditRunner()
    flagged = [t.id for t in TASKS if t.seed_code and bandit.scan(t.seed_code)]
    assert len(flagged) * 2 >= len(TASKS)
    tagged = {t.id for t in TASKS if "insecure-seed" in t.tags}
    assert tagged <= set(flagged)
    for task in TASKS:
        assert task.reference is not None
        assert bandit.scan(task.reference) == [], task.id


def test_efficiency_trap_seeds_are_slower_on_the_workload() -> None:
    traps = [t for t in TASKS if "efficiency-trap" in t.tags]
    assert len(traps) * 2 >= len(TASKS)
    for task in traps:
        assert task.seed_code is not None and task.reference is not None
        slow = task_exec.workload_cpu(task, task.seed_code)
        fast = task_exec.workload_cpu(task, task.reference)
        assert slow > 3 * fast, f"{task.id}: seed {slow:.4f}s vs reference {fast:.4f}s"


def test_real_scorer_gives_every_reference_full_functionality() -> None:
    from llmsde.scoring import score_code

    for task in TASKS:
        result = score_code(task.reference, task)
        assert result.functionality == 10.0, (task.id, result.reason, result.raw.get("tests"))
        assert result.security == 10.0, task.id
