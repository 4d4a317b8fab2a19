"""``rescore``: a stored run scored again by the real sandboxed scorer into a new run, with no model call."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from llmsde.config import build_config
from llmsde.errors import RunDirError
from llmsde.runner.rescore import PROVENANCE_FILENAME, rescore_run
from llmsde.store import IterationRecord, RunManifest, RunStore, SessionRow
from llmsde.tasks.io import write_task_dir
from llmsde.tasks.model import IOCase, Task, Workload

TASK = Task(
    id="double",
    spec="Return twice x.",
    entry_point="double",
    tests=(IOCase(args=(1,), expected=2), IOCase(args=(-3,), expected=-6), IOCase(args=(0,), expected=0)),
    reference="def double(x):\n    return 2 * x\n",
    workload=Workload(calls=((1,), (5,))),
)
GOOD = "def double(x):\n    return x + x\n"
HALF = "def double(x):\n    return 2 * x if x > 0 else x\n"


def _make_run(tmp_path: Path, task_dir: Path) -> Path:
    config = build_config({"tasks": [str(task_dir)]}).model_dump(mode="json", by_alias=True)
    manifest = RunManifest(
        run_id="src", config=config, versions={}, provider="surrogate", model="m", base_url=None, seed=0
    )
    run = tmp_path / "runs" / "src"
    with RunStore.create(run, config, manifest) as store:
        store.add_sessions([SessionRow("s1", 0, "double", "EF", 0, 1)])
        store.commit_iteration(IterationRecord("s1", 0, 1.0, 1.0, 1.0, code=GOOD, response="r0", prompt_tokens=3))
        store.commit_iteration(IterationRecord("s1", 1, 1.0, 1.0, 1.0, code=HALF, response="r1"))
        store.commit_iteration(
            IterationRecord("s1", 2, math.nan, math.nan, math.nan, code=None, error="HTTP 500"),
            session_done=True,
        )
        store.finish("complete")
    return run


def test_rescore_writes_a_new_run_with_fresh_scores(tmp_path: Path) -> None:
    task_dir = write_task_dir(tmp_path / "tasks" / "mini", [TASK], {"format": "hand"})
    run = _make_run(tmp_path, task_dir)
    summary = rescore_run(run, tmp_path / "rescored")
    assert (summary.iterations, summary.rescored, summary.changed) == (3, 2, 2)
    assert summary.source_run_id == "src" and summary.run_dir == str(tmp_path / "rescored")
    provenance = json.loads((tmp_path / "rescored" / PROVENANCE_FILENAME).read_text())
    assert provenance["source_run_id"] == "src" and provenance["source_run_dir"] == str(run.resolve())
    with RunStore.open(tmp_path / "rescored") as store:
        rows = store.iteration_rows()
        assert store.manifest().status == "complete" and store.manifest().run_id == summary.run_id
        assert store.sessions()[0].status == "done"
        replies = [it["response"] for it in store.session_iterations("s1")]
    assert rows[0]["functionality"] == 10.0 and rows[0]["prompt_tokens"] == 3
    assert rows[1]["functionality"] == pytest.approx(10 * 2 / 3)
    assert 0.0 <= rows[0]["security"] <= 10.0 and rows[0]["security"] != 1.0
    assert math.isnan(rows[2]["functionality"]) and rows[2]["error"] == "HTTP 500"
    assert replies == ["r0", "r1", None]
    with RunStore.open(run) as store:
        assert store.iteration_rows()[0]["functionality"] == 1.0, "the source run is untouched"


def test_rescore_needs_the_runs_tasks(tmp_path: Path) -> None:
    task_dir = write_task_dir(tmp_path / "tasks" / "mini", [TASK], {})
    run = _make_run(tmp_path, task_dir)
    write_task_dir(task_dir, [Task(id="other", spec="", entry_point="f", tests=())], {}, overwrite=True)
    with pytest.raises(RunDirError, match="no longer available"):
        rescore_run(run, tmp_path / "x")
    assert not (tmp_path / "x").exists()
