"""Lint, format, type and import-layer checks run as part of the test command, so `.ci/run` enforces them.

The tools run as ``python -m <tool>`` of the interpreter running the suite (they are in the ``test`` extra), so
a missing tool is a failure that names the install command, never a skip, and a tool on ``PATH`` from some other
environment is never used by accident.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INSTALL_HINT = "pip install -e '.[test]'"


def _run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec(tool) is None:
        pytest.fail(f"{tool} is not installed in {sys.executable}: {INSTALL_HINT}")
    return subprocess.run([sys.executable, "-m", tool, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_check_is_clean() -> None:
    res = _run("ruff", "check", "llmsde", "tests", "benchmarks")
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]


def test_ruff_format_is_clean() -> None:
    res = _run("ruff", "format", "--check", "llmsde", "tests", "benchmarks")
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]


def test_mypy_strict_is_clean() -> None:
    res = _run("mypy")
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]


def test_a_missing_tool_fails_instead_of_skipping(tmp_path: Path) -> None:
    """With ruff off PATH and unimportable, the ruff test must fail, not skip or pass."""
    shadow = tmp_path / "sitecustomize.py"
    shadow.write_text(
        "import importlib.util, sys\n"
        "_real = importlib.util.find_spec\n"
        "def _find(name, *a, **k):\n"
        "    return None if name == 'ruff' else _real(name, *a, **k)\n"
        "importlib.util.find_spec = _find\n"
    )
    env = {**os.environ, "PATH": str(tmp_path), "PYTHONPATH": str(tmp_path)}
    test_id = f"{Path(__file__).relative_to(ROOT)}::test_ruff_format_is_clean"
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test_id],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert res.returncode == 1 and "1 failed" in res.stdout, res.stdout[-2000:]
    assert "ruff is not installed" in res.stdout
