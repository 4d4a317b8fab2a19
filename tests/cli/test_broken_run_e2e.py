"""A study whose model answers with code that does not parse: ``fit`` and ``report`` explain it, not refuse it.

The served model (``llmsde serve``'s app on 127.0.0.1 with a reply function) answers every request with code that
does not parse, as small real models often do: only the seed code (k = 0) works, so there is no working-to-working
transition, every session breaks at k = 1 and none is repaired.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from llmsde.providers.server import ServerOptions, serve_in_thread

pytestmark = pytest.mark.slow

BROKEN = "```python\ndef solve(:\n    return\n```"


def _reply(messages: Sequence[object], seed: int, temperature: float) -> str:
    return BROKEN


def _llmsde(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["OPENAI_API_KEY"] = "sk-test"
    return subprocess.run([sys.executable, "-m", "llmsde", *args], capture_output=True, text=True, timeout=600,
                          env=env, cwd=tmp)  # fmt: skip


def test_fit_and_report_of_a_run_of_broken_code(tmp_path: Path) -> None:
    with serve_in_thread(ServerOptions(reply=_reply)) as url:
        run = _llmsde(tmp_path, "run", "--provider", "openai", "--base-url", url, "--model", "m", "--sessions", "2",
                      "--iterations", "3", "--strategies", "EF,SF", "--out", str(tmp_path / "runs"))  # fmt: skip
    assert run.returncode == 0, run.stderr
    [run_dir] = list((tmp_path / "runs").iterdir())
    fit = _llmsde(tmp_path, "fit", str(run_dir), "--bootstrap", "30")
    assert fit.returncode == 0, fit.stderr
    assert "breakage" in fit.stdout and "replies per iteration" in fit.stdout
    doc = json.loads((run_dir / "fit.json").read_text())
    assert doc["strategies"] == {} and set(doc["skipped"]) == {"EF", "SF"}
    ef = doc["breakage"]["EF"]
    assert ef["break_rate"]["value"] == 1.0 and ef["n_repairs"] == 0
    per_k = ef["per_iteration"]
    assert per_k[0][2] == 1.0 and all(row[2] == 0.0 for row in per_k[1:])
    report = _llmsde(tmp_path, "report", str(run_dir))
    assert report.returncode == 0, report.stderr
    md = (run_dir / "report" / "report.md").read_text()
    assert "## Breakage" in md and "could not be fitted" in md
    assert (run_dir / "report" / "figures" / "replies.png").is_file()
