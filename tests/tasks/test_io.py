"""Task directories: atomic writes, reading back, hand-written directories, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmsde.errors import TaskFileError
from llmsde.tasks.io import (
    INDEX_NAME,
    catalogue,
    find_task_dirs,
    read_manifest,
    read_task_dir,
    safe_id,
    write_task_dir,
)
from llmsde.tasks.model import AssertCase, IOCase, Task, Workload, task_to_dict

TASKS = [
    Task(
        id="HumanEval/0",
        spec="add",
        entry_point="add",
        tests=(IOCase(args=(1, 2), expected=3), AssertCase(code="assert candidate(0, 0) == 0")),
        reference="def add(a, b):\n    return a + b\n",
        workload=Workload(calls=((1, 2),)),
        source="humaneval:x.jsonl",
        license="MIT",
    ),
    Task(id="HumanEval_0", spec="same stem", entry_point="f", tests=(), seed_code="def f():\n    pass\n"),
]


def test_write_then_read_round_trips_and_indexes(tmp_path: Path) -> None:
    out = write_task_dir(tmp_path / "he", TASKS, {"format": "humaneval", "license": "MIT"})
    assert read_task_dir(out) == TASKS
    manifest = read_manifest(out)
    assert manifest is not None and manifest["format"] == "humaneval" and manifest["schema_version"] == 1
    files = [e["file"] for e in manifest["tasks"]]
    assert files == ["HumanEval_0.json", "HumanEval_0-2.json"], "colliding stems get a suffix"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["he"], "no temp directory is left behind"


def test_existing_directory_needs_overwrite(tmp_path: Path) -> None:
    out = write_task_dir(tmp_path / "d", TASKS[:1], {})
    with pytest.raises(TaskFileError, match="already exists"):
        write_task_dir(out, TASKS[1:], {})
    write_task_dir(out, TASKS[1:], {}, overwrite=True)
    assert [t.id for t in read_task_dir(out)] == ["HumanEval_0"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    bad = Task(id="nan", spec="", entry_point="f", tests=(IOCase(args=(float("nan"),), expected=1),))
    with pytest.raises(ValueError):
        write_task_dir(tmp_path / "x", [bad], {})
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(TaskFileError, match="duplicate task ids"):
        write_task_dir(tmp_path / "y", [TASKS[0], TASKS[0]], {})


def test_hand_written_directory_without_index(tmp_path: Path) -> None:
    (tmp_path / "b.json").write_text(json.dumps(task_to_dict(TASKS[1])))
    (tmp_path / "a.json").write_text(json.dumps(task_to_dict(TASKS[0])))
    assert [t.id for t in read_task_dir(tmp_path)] == ["HumanEval/0", "HumanEval_0"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "invalid JSON"),
        ('{"spec": "x"}', "not a valid task"),
        ("[1]", "not a valid task"),
        ('{"id": "a", "spec": "", "entry_point": "not a name", "tests": []}', "not a Python name"),
    ],
)
def test_bad_task_files_are_task_file_errors(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "t.json").write_text(content)
    with pytest.raises(TaskFileError, match=message):
        read_task_dir(tmp_path)


def test_missing_or_empty_or_future_directory(tmp_path: Path) -> None:
    with pytest.raises(TaskFileError, match="not found"):
        read_task_dir(tmp_path / "nope")
    with pytest.raises(TaskFileError, match="no task files"):
        read_task_dir(tmp_path)
    (tmp_path / INDEX_NAME).write_text(json.dumps({"schema_version": 99, "tasks": []}))
    with pytest.raises(TaskFileError, match="schema_version 99"):
        read_task_dir(tmp_path)
    (tmp_path / INDEX_NAME).write_text(json.dumps({"tasks": [{"file": "../escape.json"}]}))
    with pytest.raises(TaskFileError, match="bad task entry"):
        read_task_dir(tmp_path)


def test_catalogue_and_discovery(tmp_path: Path) -> None:
    write_task_dir(tmp_path / "tasks" / "one", TASKS[1:], {"license": "CC-BY-4.0"})
    (tmp_path / "tasks" / "stray").mkdir()
    dirs = find_task_dirs(tmp_path / "tasks")
    assert dirs == [tmp_path / "tasks" / "one"]
    entries = catalogue(TASKS[:1], dirs)
    assert [(e.task.id, e.origin, e.license) for e in entries] == [
        ("HumanEval/0", "builtin", "MIT"),
        ("HumanEval_0", str(dirs[0]), "CC-BY-4.0"),
    ]
    assert find_task_dirs(tmp_path / "none") == []


def test_safe_id() -> None:
    assert safe_id("HumanEval/12") == "HumanEval_12"
    assert safe_id("cwe-89 query builder") == "cwe-89_query_builder"
    assert safe_id("../..") == "task"
