"""End to end: ``llmsde run --provider openai`` against ``llmsde serve`` on 127.0.0.1, as a user runs it.

Each test runs the real CLI in a subprocess (exit codes and stderr as a user sees them) against a real server
thread, then reads the run store back through the public API.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from llmsde.api import load_run_rows
from llmsde.providers.server import ServerOptions, serve_in_thread

pytestmark = pytest.mark.slow

FAKE_KEY = "sk-test-LEAKCHECK-1234"
SESSIONS, ITERATIONS, STRATEGIES = 2, 3, ("SF", "EF")

CONFIG = """
[provider]
timeout_s = 2.0
max_retries = {retries}
backoff_base_s = 0.02
backoff_max_s = 0.5
breaker_failures = 3
"""


def _run(tmp: Path, *args: str, retries: int = 6) -> subprocess.CompletedProcess[str]:
    config = tmp / "study.toml"
    config.write_text(CONFIG.format(retries=retries), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["OPENAI_API_KEY"] = FAKE_KEY
    return subprocess.run(
        [sys.executable, "-m", "llmsde", "run", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=tmp,
    )


def _study_args(tmp: Path, base_url: str) -> list[str]:
    return [
        str(tmp / "study.toml"),
        "--provider", "openai",
        "--base-url", base_url,
        "--model", "surrogate",
        "--sessions", str(SESSIONS),
        "--iterations", str(ITERATIONS),
        "--strategies", ",".join(STRATEGIES),
        "--out", str(tmp / "runs"),
    ]  # fmt: skip


def _run_dir(tmp: Path) -> Path:
    [run_dir] = [p for p in (tmp / "runs").iterdir() if p.is_dir()]
    return run_dir


def _assert_complete(run_dir: Path) -> list[dict[str, object]]:
    rows = load_run_rows(run_dir)
    keys = Counter((r["session"], r["k"]) for r in rows)
    sessions = {s for s, _ in keys}
    assert len(sessions) == SESSIONS * len(STRATEGIES)
    assert set(keys.values()) == {1}
    for session in sessions:
        assert sorted(k for s, k in keys if s == session) == list(range(ITERATIONS + 1))
    assert Counter(r["strategy"] for r in rows) == dict.fromkeys(STRATEGIES, SESSIONS * (ITERATIONS + 1))
    return rows


def _assert_no_key(run_dir: Path) -> None:
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert b"LEAKCHECK" not in path.read_bytes(), f"API key found in {path}"


def test_run_against_served_surrogate(tmp_path: Path) -> None:
    with serve_in_thread(ServerOptions(api_key=FAKE_KEY)) as url:
        proc = _run(tmp_path, *_study_args(tmp_path, url), "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["status"] == "complete"
    rows = _assert_complete(_run_dir(tmp_path))
    called = [r for r in rows if int(r["k"]) > 0]  # type: ignore[call-overload]
    assert all(r["error"] is None and r["model_id"] == "llmsde-surrogate-1" for r in called)
    assert all(int(r["prompt_tokens"]) > 0 for r in called)  # type: ignore[call-overload]
    _assert_no_key(_run_dir(tmp_path))
    assert "LEAKCHECK" not in proc.stdout + proc.stderr


def test_run_with_injected_faults_completes_with_retries(tmp_path: Path) -> None:
    options = ServerOptions(api_key=FAKE_KEY, fail_rate=0.2, retry_after_s=0.05, seed=2)
    with serve_in_thread(options) as url:
        proc = _run(tmp_path, *_study_args(tmp_path, url), "--json")
    assert proc.returncode == 0, proc.stderr
    rows = _assert_complete(_run_dir(tmp_path))
    called = [r for r in rows if int(r["k"]) > 0]  # type: ignore[call-overload]
    assert all(r["error"] is None for r in called)
    assert sum(int(r["retries"]) for r in called) > 0  # type: ignore[call-overload]
    _assert_no_key(_run_dir(tmp_path))


def test_server_down_stops_cleanly_then_resume_completes(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    url = f"http://127.0.0.1:{port}/v1"
    down = _run(tmp_path, *_study_args(tmp_path, url), "--no-preflight", retries=1)
    assert down.returncode == 1, down.stderr
    assert "Traceback" not in down.stderr
    last = [line for line in down.stderr.splitlines() if line.strip()][-1]
    assert last.startswith("error:") and "--resume" in last and "127.0.0.1" in last
    assert f"{SESSIONS * len(STRATEGIES)} sessions wait for the endpoint" in last
    run_dir = _run_dir(tmp_path)
    with serve_in_thread(ServerOptions(api_key=FAKE_KEY), port=port):
        resumed = _run(tmp_path, "--resume", str(run_dir), "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["status"] == "complete"
    rows = _assert_complete(run_dir)
    assert all(r["error"] is None for r in rows), "a dead endpoint leaves no failed iteration behind"
    _assert_no_key(run_dir)
