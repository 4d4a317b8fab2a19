"""``llmsde export`` and ``llmsde rescore`` through the real entry point, on a real run store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import run_main as _run

from llmsde.config import build_config
from llmsde.store import IterationRecord, RunManifest, RunStore, SessionRow
from llmsde.tasks.io import write_task_dir
from llmsde.tasks.model import IOCase, Task

TASK = Task(
    id="inc",
    spec="Add one.",
    entry_point="inc",
    tests=(IOCase(args=(1,), expected=2), IOCase(args=(5,), expected=6)),
    reference="def inc(x):\n    return x + 1\n",
)


@pytest.fixture()
def run_dir(tmp_path: Path) -> Path:
    tasks = write_task_dir(tmp_path / "tasks" / "inc", [TASK], {})
    config = build_config({"tasks": [str(tasks)]}).model_dump(mode="json", by_alias=True)
    manifest = RunManifest(run_id="r", config=config, versions={}, provider="p", model="m", base_url=None, seed=0)
    path = tmp_path / "runs" / "r"
    with RunStore.create(path, config, manifest) as store:
        store.add_sessions([SessionRow("a", 0, "inc", "EF", 0, 1), SessionRow("b", 1, "inc", "SF", 0, 2)])
        for sid in ("a", "b"):
            for k, code in enumerate(["def inc(x):\n    return x + 1\n", "def inc(x):\n    return x\n"]):
                store.commit_iteration(IterationRecord(sid, k, 0.0, 0.0, 0.0, code=code), session_done=k == 1)
        store.finish("complete")
    return path


def test_export_then_rescore_then_export(run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["export", str(run_dir), "--format", "jsonl", "--json"], capsys)
    assert code == 0 and json.loads(out)["iterations"] == 4
    code, out, _ = _run(["rescore", str(run_dir), "--out", str(tmp_path / "new"), "--json"], capsys)
    assert code == 0
    summary = json.loads(out)
    assert summary["rescored"] == 4 and summary["changed"] == 4 and summary["source_run_id"] == "r"
    code, out, _ = _run(["export", str(tmp_path / "new"), "--out", str(tmp_path / "csv")], capsys)
    assert code == 0 and "4 rows" in out
    lines = (tmp_path / "csv" / "iterations.csv").read_text().splitlines()
    header = lines[0].split(",")
    functionality = [float(line.split(",")[header.index("functionality")]) for line in lines[1:]]
    assert functionality == [10.0, 0.0, 10.0, 0.0]


def test_rescore_human_output_and_bad_run(run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["rescore", str(run_dir), "--out", str(tmp_path / "n2")], capsys)
    assert code == 0 and "scores changed" in out
    code, _, err = _run(["rescore", str(tmp_path / "missing")], capsys)
    assert code == 2 and "not a run directory" in err


def test_export_subprocess_bad_format_exit_2(run_dir: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "llmsde", "export", str(run_dir), "--format", "xlsx"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "unknown export format" in proc.stderr and "Traceback" not in proc.stderr
