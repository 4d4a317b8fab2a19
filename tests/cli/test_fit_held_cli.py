"""``fit``, ``report`` and ``check`` when an objective never moves or a strategy cannot be fitted (issues #5, #7)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_main as _main

from llmsde.dynamics import reference_truth, simulate_panel


def _write_rules(path: Path, rules: list[dict[str, object]]) -> Path:
    lines = ["version = 1"]
    for rule in rules:
        lines.append("[[rule]]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in rule.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _write_panel(path: Path) -> None:
    """EF as simulated; SEC with no functionality score at all (a task without tests); ONE with one session."""
    x, labels = simulate_panel(reference_truth(), 30, 8, np.random.default_rng(0))
    keep = [i for i, lab in enumerate(labels) if lab in ("EF", "SF")]
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["session", "strategy", "k", "security", "efficiency", "functionality"])
        for s in keep:
            name = "EF" if labels[s] == "EF" else "SEC"
            for k in range(x.shape[1]):
                f = "" if name == "SEC" else x[s, k, 2]
                w.writerow([f"s{s}", name, k, x[s, k, 0], x[s, k, 1], f])
        for k in range(x.shape[1]):
            w.writerow(["lone", "ONE", k, *x[0, k]])


def test_panel_with_missing_objective_and_unfittable_strategy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_panel(tmp_path / "p.csv")
    code, out, err = _main(["fit", str(tmp_path / "p.csv"), "--bootstrap", "30"], capsys)
    assert code == 0, err
    assert "functionality is missing in every state of SEC: held fixed" in err
    assert "strategy 'ONE' skipped: one session" in err
    assert "skipped strategies" in out and "held fixed (not fitted)" in out
    doc = json.loads((tmp_path / "fit.json").read_text(), parse_constant=lambda c: pytest.fail(f"non-JSON {c}"))
    assert set(doc["strategies"]) == {"EF", "SEC"} and set(doc["skipped"]) == {"ONE"}
    sec = doc["strategies"]["SEC"]
    assert sec["held"] == {"functionality": None} and sec["equilibrium"]["value"][2] is None
    assert len(sec["eigenvalues"]["value"]) == 2 and doc["strategies"]["EF"]["held"] == {}
    md = (tmp_path / "fit.md").read_text()
    assert "## Skipped strategies" in md and "| ONE | one session" in md and "functionality missing" in md

    rules = _write_rules(
        tmp_path / "rules.toml",
        [
            {"metric": "rho", "op": ">", "value": 0},
            {"metric": "equilibrium.functionality", "strategy": "SEC", "op": ">=", "value": 5},
        ],
    )
    code, out, err = _main(["check", str(tmp_path), "--rules", str(rules)], capsys)
    assert code == 1 and "Traceback" not in err
    fails = [ln for ln in out.splitlines() if ln.startswith("FAIL")]
    assert len(fails) == 2, out
    assert any("[ONE]" in ln and "not fitted: one session" in ln for ln in fails)
    assert any("[SEC]" in ln and "value not available" in ln for ln in fails)


def test_no_fittable_strategy_is_exit_0_and_says_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 10 section 4: data that allow no fit are a result (fit.json/fit.md say why), not bad input."""
    with (tmp_path / "p.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["session", "strategy", "k", "security", "efficiency", "functionality"])
        for k in range(4):
            w.writerow(["a", "A", k, 1 + k, 2, 3 * k])
            w.writerow(["b", "B", k, 10, 10, 10])
            w.writerow(["c", "B", k, 10, 10, 10])
    code, out, err = _main(["fit", str(tmp_path / "p.csv"), "--bootstrap", "20"], capsys)
    assert code == 0 and "Traceback" not in err, err
    assert "nothing could be fitted" in out and "one session" in out and "every objective is constant" in out
    assert "no strategy could be fitted" in err
    doc = json.loads((tmp_path / "fit.json").read_text())
    assert doc["strategies"] == {} and doc["model_comparison"] == []
    assert doc["skipped"]["A"].startswith("one session") and doc["skipped"]["B"].startswith("every objective")
    md = (tmp_path / "fit.md").read_text()
    assert "## Nothing could be fitted" in md and "| A | one session" in md


@pytest.mark.slow
def test_reproduce_secure_task_run_fits_reports_and_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The issue's commands: SF keeps security at 10 on merge_intervals (already secure)."""
    args = ["run", "--sessions", "4", "--iterations", "3", "--tasks", "merge_intervals", "--strategies", "SF,FF"]
    code, out, err = _main([*args, "--out", str(tmp_path / "runs"), "--json"], capsys)
    assert code == 0, err
    run_dir = Path(json.loads(out)["run_dir"])
    code, out, err = _main(["fit", str(run_dir), "--bootstrap", "50"], capsys)
    assert code == 0, err
    doc = json.loads((run_dir / "fit.json").read_text())
    assert doc["strategies"]["SF"]["held"] == {"security": 10.0}
    assert all("held" in s for s in doc["strategies"].values())
    assert "security is constant at 10 in SF: held fixed" in err
    code, out, err = _main(["report", str(run_dir)], capsys)
    assert code == 0, err
    md = (run_dir / "report" / "report.md").read_text()
    assert "| SF |" in md and (run_dir / "report" / "figures" / "phase_portraits.png").stat().st_size > 0
    rules = _write_rules(
        tmp_path / "rules.toml",
        [
            {"metric": "equilibrium.security", "strategy": "SF", "op": ">=", "value": 9.5},
            {"metric": "drift.security_from_efficiency", "strategy": "SF", "op": "<=", "value": 0},
        ],
    )
    code, out, err = _main(["check", str(run_dir), "--rules", str(rules)], capsys)
    assert code == 0, out + err
    assert not math.isnan(doc["strategies"]["SF"]["equilibrium"]["value"][0])
