"""Two models behind two real ``llmsde serve`` endpoints on 127.0.0.1, reached through the openai SDK: each
model's sessions go to its own endpoint, and a dead endpoint stops only its model's sessions until resumed."""

from __future__ import annotations

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

CONFIG = """
sessions = 2
iterations = 2
strategies = ["SF", "EF"]
tasks = ["find_users", "parse_settings"]
concurrency = 4

[provider]
name = "openai"
model = "surrogate"
timeout_s = 2.0
max_retries = 1
backoff_base_s = 0.02
backoff_max_s = 0.1
breaker_failures = 2

[[models]]
label = "alpha"
base_url = "{alpha}"
temperature = 0.2

[[models]]
label = "beta"
base_url = "{beta}"
temperature = 1.2
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _llmsde(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    return subprocess.run(
        [sys.executable, "-m", "llmsde", *args], capture_output=True, text=True, timeout=600, env=env, cwd=cwd
    )


def test_dead_endpoint_stops_only_its_model_and_resume_finishes(tmp_path: Path) -> None:
    port = _free_port()
    beta_url = f"http://127.0.0.1:{port}/v1"
    with serve_in_thread(ServerOptions(model_id="srv-alpha")) as alpha_url:
        config = tmp_path / "two.toml"
        config.write_text(CONFIG.format(alpha=alpha_url, beta=beta_url), encoding="utf-8")
        refused = _llmsde(tmp_path, "run", str(config), "--out", str(tmp_path / "runs"))
        assert refused.returncode == 1 and "no run was created" in refused.stderr
        assert f"127.0.0.1:{port}" in refused.stderr
        assert not (tmp_path / "runs").exists()
        res = _llmsde(tmp_path, "run", str(config), "--out", str(tmp_path / "runs"), "--no-preflight")
        assert res.returncode == 1, res.stderr
        assert "Traceback" not in res.stderr
        error_lines = [line for line in res.stderr.splitlines() if line.startswith("error:")]
        assert len(error_lines) == 1 and f"127.0.0.1:{port}" in error_lines[0] and "--resume" in error_lines[0]
        [run_dir] = list((tmp_path / "runs").iterdir())
        rows = load_run_rows(run_dir)
        alpha = [r for r in rows if r["model"] == "alpha"]
        assert len(alpha) == 4 * 3 and {r["model_id"] for r in alpha if r["k"] >= 1} == {"srv-alpha"}
        assert all(r["error"] is None for r in alpha)
        assert all(r["error"] for r in rows if r["model"] == "beta" and r["k"] >= 1)  # no answer from beta
        with serve_in_thread(ServerOptions(model_id="srv-beta"), port=port):
            res = _llmsde(tmp_path, "run", "--resume", str(run_dir))
        assert res.returncode == 0, res.stderr
    rows = load_run_rows(run_dir)
    assert Counter(r["model"] for r in rows) == {"alpha": 12, "beta": 12}
    assert {r["model_id"] for r in rows if r["model"] == "beta" and r["k"] >= 1 and not r["error"]} == {"srv-beta"}
    pairs = {(r["strategy"], r["task"], r["k"]) for r in rows if r["model"] == "alpha"}
    assert pairs == {(r["strategy"], r["task"], r["k"]) for r in rows if r["model"] == "beta"}
