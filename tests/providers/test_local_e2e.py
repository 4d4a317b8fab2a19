"""``--provider local`` with a real model: SmolLM2-135M-Instruct (GGUF) served by llama.cpp, end to end.

A small study (2 strategies x 2 built-in tasks x 3 iterations) runs through the real CLI in a subprocess, then
``fit`` and ``report`` run on it. Other tests stop llmsde by SIGTERM and SIGKILL, or raise inside the server's
context, and check that no llama.cpp process is left. Each test reaches the model through its own symlink, so
the server processes it looks for are its own even when other test sessions use the same cached file.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from gguf_helpers import FILE_NAME, SHA256, fetch_smollm2, llama_servers, model_cache

from llmsde.api import load_run_rows
from llmsde.config import ProviderConfig
from llmsde.providers.local import SLOWEST_TOKENS_PER_S, serve_local

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

STRATEGIES, TASKS, ITERATIONS = ("EF", "SF"), ("dedupe_emails", "word_frequencies"), 3
LABEL = f"{FILE_NAME}@sha256:{SHA256[:12]}"

STUDY = """
sessions = 2
iterations = {iterations}
strategies = ["EF", "SF"]
tasks = ["dedupe_emails", "word_frequencies"]

[provider]
max_tokens = 192
"""
"""Two sessions per strategy spread over the two tasks; replies are capped so a call takes a few seconds."""


@pytest.fixture(scope="session")
def smollm2_gguf() -> Path:
    """The real model file, fetched once into the cache outside the repository."""
    return fetch_smollm2(model_cache())


def _linked(smollm2_gguf: Path, where: Path) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    link = where / FILE_NAME
    link.symlink_to(smollm2_gguf)
    return link


def _llmsde(cwd: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "llmsde", *args]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if "proxy" not in k.lower() and k != "OPENAI_API_KEY"}


def _study(tmp: Path, model: Path, iterations: int = ITERATIONS) -> list[str]:
    config = tmp / "study.toml"
    config.write_text(STUDY.format(iterations=iterations), encoding="utf-8")
    args = ["run", str(config), "--provider", "local", "--model", str(model), "--threads", "1"]
    return _llmsde(tmp, *args, "--out", str(tmp / "runs"), "--json")


@pytest.fixture(scope="module")
def smol_run(smollm2_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, dict]]:
    """The study, run once for the tests of this module: (run directory, model link, summary)."""
    tmp = tmp_path_factory.mktemp("smol")
    model = _linked(smollm2_gguf, tmp / "model")
    proc = subprocess.run(_study(tmp, model), capture_output=True, text=True, timeout=900, env=_env(), cwd=tmp)
    assert proc.returncode == 0, proc.stderr
    [run_dir] = [p for p in (tmp / "runs").iterdir() if p.is_dir()]
    yield run_dir, model, json.loads(proc.stdout)


def test_smollm2_study_completes_with_every_iteration_stored_once(smol_run: tuple[Path, Path, dict]) -> None:
    run_dir, model, summary = smol_run
    assert summary["status"] == "complete"
    rows = load_run_rows(run_dir)
    keys = Counter((r["session"], r["k"]) for r in rows)
    assert set(keys.values()) == {1}
    sessions = {s for s, _ in keys}
    assert len(sessions) == len(STRATEGIES) * 2
    for session in sessions:
        assert sorted(k for s, k in keys if s == session) == list(range(ITERATIONS + 1))
    assert {r["task"] for r in rows} == set(TASKS) and {r["strategy"] for r in rows} == set(STRATEGIES)
    called = [r for r in rows if int(r["k"]) > 0]
    assert all(r["error"] is None and r["model_id"] == LABEL for r in called)
    assert all(int(r["completion_tokens"]) > 0 and float(r["latency_s"]) > 0 for r in called)
    stored = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    assert stored["provider"]["name"] == "local" and stored["provider"]["model"] == str(model)
    assert llama_servers(model) == []


def test_fit_and_report_explain_the_smollm2_run(smol_run: tuple[Path, Path, dict], tmp_path: Path) -> None:
    run_dir, _, _ = smol_run
    fit = subprocess.run(
        _llmsde(tmp_path, "fit", str(run_dir), "--bootstrap", "50"), capture_output=True, text=True, timeout=600
    )
    assert fit.returncode == 0, fit.stderr
    assert (run_dir / "fit.json").is_file() and (run_dir / "fit.md").is_file()
    report = subprocess.run(
        _llmsde(tmp_path, "report", str(run_dir), "--bootstrap", "50"), capture_output=True, text=True, timeout=600
    )
    assert report.returncode == 0, report.stderr
    assert (run_dir / "report" / "report.html").is_file() and (run_dir / "report" / "report.md").is_file()


def test_server_answers_as_the_label_and_stops_when_the_run_raises(smollm2_gguf: Path, tmp_path: Path) -> None:
    model = _linked(smollm2_gguf, tmp_path)
    config = ProviderConfig(name="local", model=str(model), ctx=1024, max_tokens=512, threads=1)
    with pytest.raises(RuntimeError, match="the run failed"), serve_local(config) as served:
        assert served.model == LABEL and served.max_context_tokens == 1024 and served.max_in_flight == 1
        assert served.timeout_s == 512 / SLOWEST_TOKENS_PER_S > config.timeout_s
        assert served.base_url is not None and served.base_url.startswith("http://127.0.0.1:")
        listed = httpx.get(f"{served.base_url}/models", timeout=10, trust_env=False).json()
        assert [m["id"] for m in listed["data"]] == [LABEL]
        assert len(llama_servers(model)) == 1
        raise RuntimeError("the run failed")
    assert llama_servers(model) == []


def _start_and_wait_for_server(tmp: Path, model: Path) -> tuple[subprocess.Popen[str], int]:
    """A running ``llmsde run --provider local`` that has committed an iteration (server up, run under way)."""
    proc = subprocess.Popen(
        _study(tmp, model, iterations=40), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env()
    )
    deadline = time.monotonic() + 180
    while _committed(tmp / "runs") == 0:
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "the run did not start"
        time.sleep(0.1)
    [server] = llama_servers(model)
    return proc, server


def _committed(runs: Path) -> int:
    """Iterations stored so far in the one run under ``runs`` (0 while it is being created)."""
    stores = list(runs.glob("*/store.sqlite")) if runs.is_dir() else []
    if not stores:
        return 0
    try:
        with closing(sqlite3.connect(f"file:{stores[0]}?mode=ro", uri=True, timeout=1)) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM iterations").fetchone()[0])
    except sqlite3.Error:
        return 0


def _wait_gone(pid: int, model: Path, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while pid in llama_servers(model):
        assert time.monotonic() < deadline, f"llama.cpp server {pid} outlived llmsde"
        time.sleep(0.1)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_sigterm_or_ctrl_c_stops_the_server_and_a_resume_needs_the_same_file(
    smollm2_gguf: Path, tmp_path: Path, sig: signal.Signals
) -> None:
    model = _linked(smollm2_gguf, tmp_path / "model")
    proc, server = _start_and_wait_for_server(tmp_path, model)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "--resume" in err and "Traceback" not in err
    _wait_gone(server, model, seconds=1.0)
    [run_dir] = list((tmp_path / "runs").iterdir())
    assert json.loads((run_dir / "config.json").read_text())["provider"]["name"] == "local"
    other = tmp_path / "other.gguf"
    other.write_bytes(b"GGUF" + b"\0" * 64)
    model.unlink()
    model.symlink_to(other)
    resumed = subprocess.run(
        _llmsde(tmp_path, "run", "--resume", str(run_dir)), capture_output=True, text=True, timeout=120, env=_env()
    )
    assert resumed.returncode == 2, resumed.stderr
    assert f"but the run started with {LABEL}" in resumed.stderr and "Traceback" not in resumed.stderr


def test_sigkill_of_llmsde_kills_the_server(smollm2_gguf: Path, tmp_path: Path) -> None:
    model = _linked(smollm2_gguf, tmp_path / "model")
    proc, server = _start_and_wait_for_server(tmp_path, model)
    proc.kill()
    proc.communicate(timeout=60)
    _wait_gone(server, model)
