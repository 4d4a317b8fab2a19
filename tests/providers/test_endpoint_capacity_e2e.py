"""A study against a server that serves one request at a time, and against one that goes away mid-run.

Real HTTP through the openai SDK against ``llmsde serve`` on 127.0.0.1 (its ``--slots``/``--tokens-per-s``
capacity), and the real CLI in a subprocess, so exit codes and the closing line are what a user sees.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from llmsde.api import load_run_rows
from llmsde.config import ProviderConfig
from llmsde.errors import RunDirError
from llmsde.providers.base import EndpointUnavailable
from llmsde.providers.openai_compat import OpenAIProvider
from llmsde.providers.server import ServerOptions, serve_in_thread
from llmsde.tasks import load_tasks
from llmsde.tasks.strategies import get_strategy
from llmsde.types import GenerationParams

pytestmark = pytest.mark.slow

ONE_SLOT = ServerOptions(slots=1, tokens_per_s=600.0)
"""Surrogate replies are ~150 tokens: a quarter of a second each, one at a time."""
CONFIG = """
[provider]
timeout_s = {timeout}
max_retries = {retries}
backoff_base_s = 0.05
backoff_max_s = 0.2
breaker_failures = 3
"""


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}


def _args(tmp: Path, url: str, *extra: str, timeout: float = 1.5, retries: int = 0) -> list[str]:
    config = tmp / "study.toml"
    config.write_text(CONFIG.format(timeout=timeout, retries=retries), encoding="utf-8")
    return [
        sys.executable, "-m", "llmsde", "run", str(config),
        "--provider", "openai", "--base-url", url, "--model", "surrogate",
        "--sessions", "4", "--iterations", "2", "--strategies", "EF,SF",
        "--out", str(tmp / "runs"), *extra,
    ]  # fmt: skip


def _keys(run_dir: Path) -> Counter[tuple[str, int]]:
    return Counter((str(r["session"]), int(r["k"])) for r in load_run_rows(run_dir))  # type: ignore[call-overload]


def _fixed_concurrency_timeouts(url: str, n: int) -> int:
    """The control: ``n`` requests at once with the adaptive limit off and no retries; count the timeouts."""
    config = {"name": "openai", "base_url": url, "timeout_s": 1.5, "max_retries": 0, "adaptive": False}
    provider = OpenAIProvider(ProviderConfig.model_validate(config), seed=0)
    tasks = [t for t in load_tasks(["builtin"]) if t.seed_code is not None]
    ef = get_strategy("EF", {})
    prompts = [ef.messages(tasks[i % len(tasks)], tasks[i % len(tasks)].seed_code or "", 1, i) for i in range(n)]

    async def go() -> list[object]:
        try:
            calls = [provider.complete(m, GenerationParams(seed=i)) for i, m in enumerate(prompts)]
            return list(await asyncio.gather(*calls, return_exceptions=True))
        finally:
            await provider.aclose()

    outcomes = asyncio.run(go())
    return sum(isinstance(o, EndpointUnavailable) and "timeout" in o.message for o in outcomes)


def test_one_slot_server_at_concurrency_8_completes_without_a_timeout(tmp_path: Path) -> None:
    with serve_in_thread(ONE_SLOT) as url:
        assert _fixed_concurrency_timeouts(url, 8) > 0, "the control: eight at once must overrun this server"
        proc = subprocess.run(
            _args(tmp_path, url, "--concurrency", "8", "--json"),
            capture_output=True,
            text=True,
            timeout=600,
            env=_env(),
        )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["status"] == "complete" and summary["sessions_waiting"] == []
    [endpoint] = summary["concurrency"]["endpoints"]
    assert endpoint["timeouts"] == 0 and endpoint["adaptive"] is True
    assert 1 <= endpoint["settled"] <= 4 and endpoint["ceiling"] == summary["concurrency"]["sessions"] == 8
    [run_dir] = (tmp_path / "runs").iterdir()
    keys = _keys(run_dir)
    assert len(keys) == 8 * 3 and set(keys.values()) == {1}
    assert all(r["error"] is None for r in load_run_rows(run_dir))
    assert summary["usage"]["retries"] == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_iterations(runs: Path, n: int) -> None:
    """Until the run under ``runs`` has ``n`` committed iterations (the store may not exist yet, or be half made)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        stores = list(runs.glob("*/store.sqlite"))
        try:
            if stores and sum(_keys(stores[0].parent).values()) >= n:
                return
        except RunDirError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"the run did not commit {n} iterations within 120 s")


def test_server_stopped_mid_run_then_resume_gives_every_iteration_exactly_once(tmp_path: Path) -> None:
    port = _free_port()
    with serve_in_thread(ONE_SLOT, port=port) as url:
        proc = subprocess.Popen(
            _args(tmp_path, url, "--concurrency", "4", retries=1),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        try:
            _wait_for_iterations(tmp_path / "runs", 12)
        except BaseException:
            proc.kill()
            proc.communicate()
            raise
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, err
    assert "Traceback" not in err
    last = [line for line in err.splitlines() if line.strip()][-1]
    assert last.startswith("error:") and "for the endpoint" in last
    [run_dir] = (tmp_path / "runs").iterdir()
    assert f"llmsde run --resume {run_dir}" in last
    partial = _keys(run_dir)
    assert 12 <= sum(partial.values()) < 24 and set(partial.values()) == {1}
    with serve_in_thread(ONE_SLOT, port=port):
        resumed = subprocess.run(
            [sys.executable, "-m", "llmsde", "run", "--resume", str(run_dir), "--json"],
            capture_output=True,
            text=True,
            timeout=600,
            env=_env(),
        )
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["status"] == "complete"
    keys = _keys(run_dir)
    assert set(keys.values()) == {1}
    assert set(keys) == {(s, k) for s in {s for s, _ in keys} for k in range(3)} and len(keys) == 24
    assert all(r["error"] is None for r in load_run_rows(run_dir)), "no transport failure is stored as data"
