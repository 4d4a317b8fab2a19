"""Task selectors: 'builtin', task ids, and task directories, de-duplicated in order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmsde.errors import ConfigError
from llmsde.tasks import IOCase, Task, builtin_tasks, load_tasks, task_to_dict


def test_builtin_selects_all_in_order() -> None:
    assert [t.id for t in load_tasks(["builtin"])] == [t.id for t in builtin_tasks()]


def test_ids_are_deduplicated_in_selector_order() -> None:
    got = [t.id for t in load_tasks(["grid_distance", "find_users", "grid_distance"])]
    assert got == ["grid_distance", "find_users"]
    assert len(load_tasks(["find_users", "builtin"])) == len(builtin_tasks())
    assert load_tasks(["find_users", "builtin"])[0].id == "find_users"


def test_unknown_id_names_the_known_ones() -> None:
    with pytest.raises(ConfigError) as err:
        load_tasks(["no_such_task"])
    assert "unknown task 'no_such_task'" in err.value.message
    assert "grid_distance" in err.value.hint


def test_empty_selection_is_an_error() -> None:
    with pytest.raises(ConfigError):
        load_tasks([])


def test_task_directory_and_its_ids(tmp_path: Path) -> None:
    task = Task(
        id="Mine/1",
        spec="Write add(a, b).",
        entry_point="add",
        tests=(IOCase(args=(1, 2), expected=3),),
        seed_code="def add(a, b):\n    return a + b\n",
        source="mine",
    )
    (tmp_path / "t1.json").write_text(json.dumps(task_to_dict(task)))
    got = load_tasks([str(tmp_path), "Mine/1", "find_users"])
    assert [t.id for t in got] == ["Mine/1", "find_users"]
    assert got[0] == task
