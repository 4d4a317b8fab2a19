"""The Ray executor against a real local Ray head: same trajectories as local, a killed worker, a killed
driver, Ctrl-C, and bad input. One cluster serves every test (Ray takes seconds to start) and its teardown
checks that none of its processes survived.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import run_main
from ray_cluster import leftover, ray_head, ray_processes

from llmsde import api
from llmsde.config import StudyConfig, build_config
from llmsde.errors import SandboxError
from llmsde.store import RunStore

pytestmark = pytest.mark.slow

STUDY: dict[str, Any] = {
    "sessions": 2,
    "iterations": 4,
    "strategies": ["EF", "SF"],
    "tasks": ["merge_intervals", "evaluate_rpn"],
    "concurrency": 4,
    "seed": 3,
}
TOTAL = 2 * 2 * 5
FLAGS = [
    *("--sessions", "2", "--iterations", "4", "--strategies", "EF,SF"),
    *("--tasks", "merge_intervals,evaluate_rpn", "--concurrency", "4", "--seed", "3"),
]


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    with ray_head() as (address, temp_dir):
        yield address
    deadline = time.monotonic() + 20
    while leftover(temp_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert leftover(temp_dir) == {}, "Ray processes survived the cluster's shutdown"
    shutil.rmtree(temp_dir, ignore_errors=True)


def _config(out: Path, **executor: Any) -> StudyConfig:
    return build_config({**STUDY, "out": str(out), "executor": executor})


Key = tuple[str, int]


def _trajectories(run_dir: str | Path) -> dict[Key, dict[str, Any]]:
    with RunStore.open(run_dir) as store:
        return {(r["session"], r["k"]): r for r in store.iteration_rows()}


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory) -> dict[Key, dict[str, Any]]:
    summary = api.run_study(_config(tmp_path_factory.mktemp("local")))
    assert summary.status == "complete" and summary.executor == "local"
    return _trajectories(summary.run_dir)


def _same(a: float | None, b: float | None) -> bool:
    nan_a = a is None or math.isnan(a)
    nan_b = b is None or math.isnan(b)
    return nan_a == nan_b and (nan_a or a == b)


def _assert_same_as_local(rows: dict[Key, dict[str, Any]], local: dict[Key, dict[str, Any]]) -> None:
    assert rows.keys() == local.keys() and len(rows) == TOTAL
    for key, row in rows.items():
        ref = local[key]
        assert row["code_sha256"] == ref["code_sha256"], key
        assert _same(row["security"], ref["security"]) and _same(row["functionality"], ref["functionality"]), key
        assert math.isnan(row["efficiency"] or math.nan) == math.isnan(ref["efficiency"] or math.nan), key


def _stored(run_root: Path) -> tuple[Path | None, int]:
    dbs = list(run_root.glob("*/store.sqlite")) if run_root.exists() else []
    if not dbs:
        return None, 0
    try:
        with sqlite3.connect(f"file:{dbs[0]}?mode=ro", uri=True, timeout=5) as conn:
            return dbs[0], int(conn.execute("SELECT COUNT(*) FROM iterations").fetchone()[0])
    except sqlite3.OperationalError:
        return dbs[0], 0


def _exactly_once(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        keys = Counter(conn.execute("SELECT session_id, k FROM iterations").fetchall())
    assert len(keys) == TOTAL and set(keys.values()) == {1}


def _cli(args: list[str], **kw: Any) -> subprocess.Popen[str]:
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
    return subprocess.Popen(
        [sys.executable, "-m", "llmsde", "run", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True, **kw,
    )  # fmt: skip


def _signal_after(proc: subprocess.Popen[str], run_root: Path, at_least: int, sig: int) -> tuple[Path, str]:
    """Once ``at_least`` iterations are stored, send SIGINT to the CLI's process group (as a terminal's Ctrl-C
    does) or any other signal to the CLI process alone; return the store and what the CLI wrote to stderr."""
    deadline = time.monotonic() + 180
    db, n = None, 0
    while time.monotonic() < deadline and proc.poll() is None:
        db, n = _stored(run_root)
        if n >= at_least:
            break
        time.sleep(0.05)
    assert proc.poll() is None and db is not None, "the run ended before the signal; make the study bigger"
    if sig == signal.SIGINT:
        os.killpg(proc.pid, sig)
    else:
        os.kill(proc.pid, sig)
    _, err = proc.communicate(timeout=120)
    return db, err


def _run_signalled(
    extra: list[str], run_root: Path, at_least: int, sig: int
) -> tuple[subprocess.Popen[str], Path, str]:
    """Start ``llmsde run`` on Ray with ``extra`` flags, signal it once ``at_least`` iterations are stored
    (:func:`_signal_after`), and make sure it is gone whatever happens; the process, its store and stderr."""
    proc = _cli([*FLAGS, "--executor", "ray", *extra, "--out", str(run_root)])
    try:
        db, err = _signal_after(proc, run_root, at_least, sig)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    return proc, db, err


def test_ray_run_matches_local_and_records_workers(
    cluster: str, local_run: dict[Key, dict[str, Any]], tmp_path: Path
) -> None:
    summary = api.run_study(_config(tmp_path, kind="ray", address=cluster))
    assert summary.status == "complete" and summary.executor == "ray" and len(summary.workers) == 2
    rows = _trajectories(summary.run_dir)
    _assert_same_as_local(rows, local_run)
    assert all(r["worker"].startswith("local ") for r in local_run.values())
    labels = {r["worker"] for r in rows.values()}
    assert labels <= set(summary.workers) and len(labels) == 2
    assert all(label.startswith("ray:") and label.endswith(summary.isolation_level) for label in labels)
    with RunStore.open(summary.run_dir) as store:
        versions = store.manifest().versions
    assert versions["executor"] == "ray" and versions["workers"].split("; ") == list(summary.workers)


def test_killed_worker_loses_only_in_flight_scorings(
    cluster: str, local_run: dict[Key, dict[str, Any]], tmp_path: Path
) -> None:
    killed: list[int] = []
    pids: list[int] = []

    def on_start(info: api.RunStart) -> None:
        pids.extend(int(w.split()[0].rsplit(":", 1)[1]) for w in info.workers)

    def on_progress(p: api.Progress) -> None:
        if not killed and p.new_iterations >= 4:
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])

    summary = api.run_study(_config(tmp_path, kind="ray", address=cluster), on_start=on_start, on_progress=on_progress)
    assert killed and summary.status == "complete" and summary.iterations == TOTAL
    rows = _trajectories(summary.run_dir)
    _assert_same_as_local(rows, local_run)
    _exactly_once(Path(summary.run_dir) / "store.sqlite")
    assert any(f":{killed[0]} " in r["worker"] for r in rows.values())


def test_killed_driver_leaves_no_ray_and_resumes_on_a_cluster_exactly_once(
    cluster: str, local_run: dict[Key, dict[str, Any]], tmp_path: Path
) -> None:
    root = tmp_path / "runs"
    before = set(ray_processes())
    proc, db, _ = _run_signalled([], root, 5, signal.SIGKILL)
    _, stored = _stored(root)
    assert proc.returncode == -signal.SIGKILL and 5 <= stored < TOTAL
    _assert_no_new_ray_process(before)
    summary = api.resume_run(db.parent, executor={"kind": "ray", "address": cluster})
    assert summary.status == "complete" and summary.new_iterations == TOTAL - stored
    _exactly_once(db)
    _assert_same_as_local(_trajectories(db.parent), local_run)


def _assert_no_new_ray_process(before: set[int]) -> None:
    deadline = time.monotonic() + 30
    while (new := set(ray_processes()) - before) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not new, f"Ray processes left behind: {[ray_processes().get(p) for p in new]}"


def test_ctrl_c_on_a_local_ray_instance_leaves_no_process(
    cluster: str, local_run: dict[Key, dict[str, Any]], tmp_path: Path
) -> None:
    root = tmp_path / "runs"
    before = set(ray_processes())
    proc, db, err = _run_signalled([], root, 3, signal.SIGINT)
    assert proc.returncode == 130 and "Traceback" not in err and f"--resume {db.parent}" in err
    _assert_no_new_ray_process(before)
    resumed = _cli(["--resume", str(db.parent), "--executor", "ray", "--ray-address", cluster, "--json"])
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert json.loads(out)["executor"] == "ray"
    _exactly_once(db)
    _assert_same_as_local(_trajectories(db.parent), local_run)


def test_require_isolation_applies_to_every_worker(cluster: str, tmp_path: Path) -> None:
    env = {
        "env_vars": {"PYTHONPATH": str(Path(__file__).parent)},
        "worker_process_setup_hook": "ray_cluster.deny_namespaces",
    }
    config = _config(tmp_path / "runs", kind="ray", address=cluster, runtime_env=env)
    with pytest.raises(SandboxError, match="a Ray worker's sandbox: .*missing netns"):
        api.run_study(
            config.model_copy(update={"sandbox": config.sandbox.model_copy(update={"require_isolation": True})})
        )
    assert not (tmp_path / "runs").exists()
    weak = api.run_study(_config(tmp_path / "weak", kind="ray", address=cluster, runtime_env=env))
    assert weak.status == "complete" and "netns" not in weak.isolation_level.split("+")
    assert any(w.startswith("no network namespace") for w in weak.isolation_warnings)


def test_ctrl_c_on_a_cluster_leaves_no_actor(cluster: str, tmp_path: Path) -> None:
    root = tmp_path / "runs"
    proc, _, _ = _run_signalled(["--ray-address", cluster], root, 3, signal.SIGINT)
    assert proc.returncode == 130
    deadline = time.monotonic() + 30
    while (actors := ray_processes("ScoringWorker")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert actors == {}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    return lines[0]


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--executor", "ray", "--ray-address", "127.0.0.1:{port}"], "cannot reach the Ray cluster at 127.0.0.1:"),
        (["--executor", "local", "--ray-address", "127.0.0.1:1"], "--ray-address needs --executor ray"),
        (["--executor", "dask"], "unknown executor 'dask'"),
    ],
)
def test_bad_executor_input_is_one_line_before_a_run_dir(
    flags: list[str], says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [f.format(port=_free_port()) for f in flags]
    code, out, err = run_main(["run", *FLAGS, *args, "--out", str(tmp_path / "runs")], capsys)
    assert code == 2 and says in _one_line(err)
    assert not (tmp_path / "runs").exists()


def test_missing_ray_extra_is_an_install_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    code, out, err = run_main(["run", *FLAGS, "--executor", "ray", "--out", str(tmp_path / "runs")], capsys)
    assert code == 2 and "pip install 'llmsde[ray]'" in _one_line(err)
    assert not (tmp_path / "runs").exists()


def test_local_path_never_imports_ray() -> None:
    code = "import sys, llmsde.api, llmsde.runner.study, llmsde.runner.executors; print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
