"""``llmsde run`` as a user runs it: the real entry point in-process, and real subprocesses for exit codes and
for a resume after SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from cli_helpers import run_main as _run

TASK = "merge_intervals"


def _small(tmp_path: Path) -> list[str]:
    return ["--sessions", "1", "--iterations", "1", "--strategies", "EF,SF", "--tasks", TASK,
            "--out", str(tmp_path / "runs")]  # fmt: skip


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    return lines[0]


def test_json_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["run", *_small(tmp_path), "--json"], capsys)
    assert code == 0, err
    summary = json.loads(out)
    assert {"run_dir", "sessions", "iterations", "failed_iterations", "wall_s"} <= summary.keys()
    assert (summary["sessions"], summary["iterations"], summary["status"]) == (2, 4, "complete")
    assert Path(summary["run_dir"]).is_dir() and summary["wall_s"] > 0
    assert summary["sessions_waiting"] == [] and summary["endpoint_error"] is None
    assert summary["concurrency"] == {"sessions": 8, "endpoints": []}, "the offline surrogate has no endpoint"


def test_unknown_key_strategy_task_exit_2_with_choices(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("sesions = 3\n", encoding="utf-8")
    code, _, err = _run(["run", str(bad)], capsys)
    line = _one_error_line(err)
    assert code == 2 and "sesions" in line and "sessions" in line.split("sesions")[1]
    code, _, err = _run(["run", "--strategies", "EF,XYZ", "--out", str(tmp_path)], capsys)
    line = _one_error_line(err)
    assert code == 2 and "XYZ" in line and "SF" in line
    code, _, err = _run(["run", "--tasks", "nope_task", "--out", str(tmp_path)], capsys)
    line = _one_error_line(err)
    assert code == 2 and "nope_task" in line and TASK in line
    assert not (tmp_path / "runs").exists()


def test_resume_refuses_other_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["run", "--resume", str(tmp_path), "--sessions", "3"], capsys)
    assert code == 2 and "--sessions" in _one_error_line(err)
    code, _, err = _run(["run", "--resume", str(tmp_path)], capsys)
    assert code == 2 and "not a run directory" in _one_error_line(err)


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}


def test_subprocess_bad_flag_exit_2_without_traceback(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "llmsde", "run", "--strategies", "NOPE", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120, env=_env(),
    )  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "NOPE" in proc.stderr


def _stored(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM iterations").fetchone()[0])
    except sqlite3.OperationalError:  # tables not created yet
        return 0


@pytest.mark.slow
def test_resume_after_sigkill_stores_every_iteration_once(tmp_path: Path) -> None:
    sessions, iterations, strategies = 3, 4, ["EF", "SF"]
    total = sessions * len(strategies) * (iterations + 1)
    args = [
        *("--sessions", str(sessions), "--iterations", str(iterations), "--strategies", ",".join(strategies)),
        *("--tasks", f"{TASK},evaluate_rpn", "--concurrency", "2", "--out", str(tmp_path / "runs")),
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmsde", "run", *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(), start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        db: Path | None = None
        while time.monotonic() < deadline and proc.poll() is None:
            dirs = list((tmp_path / "runs").glob("*/store.sqlite")) if (tmp_path / "runs").exists() else []
            if dirs and _stored(dirs[0]) >= 6:
                db = dirs[0]
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the run finished before it could be killed; make the study bigger"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    assert db is not None and proc.returncode == -signal.SIGKILL
    before = _stored(db)
    assert 6 <= before < total
    resumed = subprocess.run(
        [sys.executable, "-m", "llmsde", "run", "--resume", str(db.parent), "--json", "--concurrency", "3"],
        capture_output=True, text=True, timeout=300, env=_env(),
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["status"] == "complete" and summary["iterations"] == total
    assert summary["new_iterations"] == total - before and summary["resumed"] is True
    with sqlite3.connect(db) as conn:
        keys = Counter(conn.execute("SELECT session_id, k FROM iterations").fetchall())
        n_sessions = conn.execute("SELECT COUNT(*) FROM sessions WHERE status = 'done'").fetchone()[0]
    assert set(keys.values()) == {1} and len(keys) == total and n_sessions == sessions * len(strategies)
    assert {k for _, k in keys} == set(range(iterations + 1))


@pytest.mark.slow
def test_ctrl_c_prints_the_resume_command_and_exits_130(tmp_path: Path) -> None:
    args = [
        *("--sessions", "3", "--iterations", "4", "--strategies", "EF,SF", "--json"),
        *("--tasks", f"{TASK},evaluate_rpn", "--concurrency", "2", "--out", str(tmp_path / "runs")),
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmsde", "run", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            dbs = list((tmp_path / "runs").glob("*/store.sqlite")) if (tmp_path / "runs").exists() else []
            if dbs and _stored(dbs[0]) >= 4:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the run finished before it could be interrupted"
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    run_dir = dbs[0].parent
    assert proc.returncode == 130 and out == ""
    assert "Traceback" not in err and f"llmsde run --resume {run_dir}" in err
    assert f"run directory: {run_dir}" in err
    resumed = subprocess.run(
        [sys.executable, "-m", "llmsde", "run", "--resume", str(run_dir), "--json"],
        capture_output=True, text=True, timeout=300, env=_env(),
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["iterations"] == 2 * 3 * 5
