"""``llmsde check`` on a fit.json written from data with known parameters: exit 0 / 1 / 2 as documented."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from llmsde.cli import main
from llmsde.dynamics import LinearSdeEstimator, reference_truth, simulate_panel

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "rules.toml"


@pytest.fixture(scope="module")
def fit_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    x, labels = simulate_panel(reference_truth(10), 40, 10, np.random.default_rng(3))
    fit = LinearSdeEstimator(n_bootstrap=100, folds=3, random_state=0, compare_models=False).fit(x, labels)
    d = tmp_path_factory.mktemp("fit")
    (d / "fit.json").write_text(json.dumps(fit.to_dict(), allow_nan=False), encoding="utf-8")
    return d


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = 0
    try:
        main(args)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_shipped_example_fails_where_the_truth_says(fit_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Reference truth: SF x*_security = 5.75 (< 6) and AI rho = 0.15 (< 0.2); everything else holds."""
    code, out, err = _run(["check", str(fit_dir), "--rules", str(EXAMPLES)], capsys)
    assert code == 1
    fails = [ln for ln in out.splitlines() if ln.startswith("FAIL")]
    assert len(fails) == 2
    assert "equilibrium.security >= 6 [SF]" in fails[0] and "rho > 0.2 [AI]" in fails[1]
    assert "rule results failed" in err


def test_passing_rules_exit_0_json(fit_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = tmp_path / "r.toml"
    rules.write_text('[[rule]]\nmetric = "rho"\nstrategy = ["SF", "FF"]\nop = ">"\nvalue = 0.5\n', encoding="utf-8")
    code, out, _ = _run(["check", str(fit_dir / "fit.json"), "--rules", str(rules), "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["passed"] is True and [r["strategy"] for r in data["results"]] == ["SF", "FF"]


def test_baseline_rule(fit_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = tmp_path / "b.toml"
    rules.write_text(
        '[[rule]]\nmetric = "equilibrium.security"\nrelative_to = "baseline"\nop = ">="\nvalue = -0.5\n',
        encoding="utf-8",
    )
    code, _, err = _run(["check", str(fit_dir), "--rules", str(rules)], capsys)
    assert code == 2 and "pass --baseline" in err
    code, out, _ = _run(["check", str(fit_dir), "--rules", str(rules), "--baseline", str(fit_dir)], capsys)
    assert code == 0 and "all checks passed" in out


def test_invalid_rules_exit_2_one_line(fit_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = tmp_path / "bad.toml"
    rules.write_text('[[rule]]\nmetric = "rho"\nop = "≥"\nvalue = 1\n', encoding="utf-8")
    code, _, err = _run(["check", str(fit_dir), "--rules", str(rules)], capsys)
    assert code == 2
    assert "unknown op '≥'" in err and "not_significantly_below" in err and "Traceback" not in err


def test_missing_fit_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["check", str(tmp_path), "--rules", str(EXAMPLES)], capsys)
    assert code == 2 and "fit file not found" in err
