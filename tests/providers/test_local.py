"""``--provider local`` without a real model: bad input exits 2 and writes nothing; the death-signal launcher.

The end-to-end tests with the real SmolLM2 model are in ``test_local_e2e.py``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import run_main
from gguf_helpers import llama_servers

from llmsde.config import ProviderConfig
from llmsde.errors import ConfigError
from llmsde.providers import make_provider
from llmsde.providers.local import GGUF_MAGIC, check_model_file, model_label

LAUNCHER = Path(__file__).parents[2] / "llmsde" / "providers" / "_die_with_parent.py"


def _run_local(tmp: Path, capsys: pytest.CaptureFixture[str], model: str, *extra: str) -> tuple[int, str, str]:
    args = ["run", "--provider", "local", "--model", model, "--sessions", "1", "--iterations", "1"]
    return run_main([*args, "--strategies", "SF", "--out", str(tmp / "runs"), *extra], capsys)


def _assert_one_line_exit_2(tmp: Path, result: tuple[int, str, str]) -> str:
    code, out, err = result
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    assert "Traceback" not in err and out == ""
    assert not (tmp / "runs").exists()
    return lines[0]


def test_missing_file_exits_2_writing_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = _assert_one_line_exit_2(tmp_path, _run_local(tmp_path, capsys, str(tmp_path / "nope.gguf")))
    assert "model file not found" in line and "nope.gguf" in line


def test_file_that_is_not_gguf_exits_2_writing_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"PK\x03\x04 this is a zip, not a model")
    line = _assert_one_line_exit_2(tmp_path, _run_local(tmp_path, capsys, str(fake)))
    assert "is not a GGUF file" in line


def test_missing_extra_exits_2_with_the_install_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "model.gguf"
    model.write_bytes(GGUF_MAGIC + b"\x03\x00\x00\x00")
    real_find_spec = importlib.util.find_spec

    def without_llama(name: str, package: str | None = None) -> object:
        return None if name == "llama_cpp" else real_find_spec(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", without_llama)
    line = _assert_one_line_exit_2(tmp_path, _run_local(tmp_path, capsys, str(model)))
    assert "llama-cpp-python[server]" in line and "missing: llama_cpp" in line
    assert "pip install 'llmsde[local]'" in line


def test_max_tokens_that_fill_the_context_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "model.gguf"
    model.write_bytes(GGUF_MAGIC + b"\x03\x00\x00\x00")
    line = _assert_one_line_exit_2(tmp_path, _run_local(tmp_path, capsys, str(model), "--ctx", "2048"))
    assert "max_tokens (2048) leaves no room" in line and "--ctx" in line


def test_base_url_with_local_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "model.gguf"
    model.write_bytes(GGUF_MAGIC + b"\x03\x00\x00\x00")
    result = _run_local(tmp_path, capsys, str(model), "--base-url", "http://127.0.0.1:9/v1")
    assert "--base-url has no meaning with --provider local" in _assert_one_line_exit_2(tmp_path, result)


def test_server_that_cannot_load_the_file_exits_2_with_its_output_and_leaves_no_process(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(GGUF_MAGIC + os.urandom(4096))
    line = _assert_one_line_exit_2(tmp_path, _run_local(tmp_path, capsys, str(broken), "--ctx", "4096"))
    assert "llama.cpp server exited with code" in line and "broken.gguf" in line
    assert llama_servers(broken) == []


def test_model_label_is_file_name_and_sha256_prefix(tmp_path: Path) -> None:
    model = tmp_path / "tiny.gguf"
    content = GGUF_MAGIC + b"weights"
    model.write_bytes(content)
    assert model_label(model) == f"tiny.gguf@sha256:{hashlib.sha256(content).hexdigest()[:12]}"
    model.write_bytes(content + b"!")
    assert model_label(model) != f"tiny.gguf@sha256:{hashlib.sha256(content).hexdigest()[:12]}"


def test_model_path_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "m.gguf").write_bytes(GGUF_MAGIC)
    monkeypatch.chdir(tmp_path)
    assert check_model_file("m.gguf") == tmp_path / "m.gguf"


def test_local_provider_needs_its_server() -> None:
    with pytest.raises(ConfigError, match="no server"):
        make_provider(ProviderConfig(name="local", model="m.gguf"), seed=0)


def test_launcher_execs_the_command_and_refuses_an_orphaned_start() -> None:
    ok = subprocess.run([sys.executable, str(LAUNCHER), str(os.getpid()), "/bin/sh", "-c", "exit 7"], timeout=30)
    assert ok.returncode == 7
    orphan = subprocess.run([sys.executable, str(LAUNCHER), "1", "/bin/sh", "-c", "exit 0"], timeout=30)
    assert orphan.returncode == 71


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_launched_command_dies_with_its_parent_even_on_sigkill(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    parent_code = (
        "import os, subprocess, sys, time\n"
        f"p = subprocess.Popen([sys.executable, {str(LAUNCHER)!r}, str(os.getpid()), '/bin/sleep', '120'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", parent_code])
    try:
        deadline = time.monotonic() + 30
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline, "the launcher did not start"
            time.sleep(0.05)
        child = int(pid_file.read_text())
        time.sleep(0.5)
        assert _alive(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait(30)
        deadline = time.monotonic() + 10
        while _alive(child):
            assert time.monotonic() < deadline, "the launched command outlived its SIGKILLed parent"
            time.sleep(0.05)
    finally:
        parent.kill()
        parent.wait()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@pytest.mark.parametrize("sigint", ["default", "ignored"])
def test_sigterm_unwinds_like_ctrl_c_while_the_server_runs(sigint: str) -> None:
    code = (
        "import os, signal, time\n"
        "from llmsde.providers.local import _stop_on_sigterm\n"
        f"if {sigint == 'ignored'}:\n"
        "    signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "try:\n"
        "    with _stop_on_sigterm():\n"
        "        os.kill(os.getpid(), signal.SIGTERM)\n"
        "        time.sleep(30)\n"
        "except KeyboardInterrupt:\n"
        "    print('unwound', signal.getsignal(signal.SIGTERM) == signal.SIG_DFL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "unwound True"
