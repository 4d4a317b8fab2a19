"""Lint, format and type checks run as part of the test command, so `.ci/run` enforces them on every change."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff not installed (pip install -e '.[test]')")
def test_ruff_check_is_clean() -> None:
    res = _run("ruff", "check", "llmsde", "tests", "benchmarks")
    assert res.returncode == 0, res.stdout[-4000:]


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff not installed (pip install -e '.[test]')")
def test_ruff_format_is_clean() -> None:
    res = _run("ruff", "format", "--check", "llmsde", "tests", "benchmarks")
    assert res.returncode == 0, res.stdout[-4000:]


def test_mypy_strict_is_clean() -> None:
    pytest.importorskip("mypy", reason="mypy not installed (pip install -e '.[test]')")
    res = _run(sys.executable, "-m", "mypy")
    assert res.returncode == 0, res.stdout[-4000:]
