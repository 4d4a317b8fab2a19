"""``llmsde fit --model censored``, ``simulate --model censored``, ``calibrate --model censored`` and a run of
mostly broken code, as a user runs them."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_main as _main
from typer.testing import CliRunner

from llmsde.cli import app
from llmsde.dynamics import reference_truth, simulate_clipped_panel

runner = CliRunner()


def _write(path: Path, x: np.ndarray, labels: tuple[str, ...], broken: np.ndarray) -> None:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["session", "strategy", "k", "security", "efficiency", "functionality", "broken"])
        for s in range(len(x)):
            for k in range(x.shape[1]):
                w.writerow([f"s{s}", labels[s], k, *("" if np.isnan(v) else v for v in x[s, k]), int(broken[s, k])])


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("cens")
    rng = np.random.default_rng(0)
    x, labels = simulate_clipped_panel(reference_truth(), 40, 8, rng)
    broken = rng.random(x.shape[:2]) < 0.1
    broken[:, 0] = False
    _write(d / "panel.csv", x, labels, broken)
    args = ["fit", str(d / "panel.csv"), "--model", "censored", "--bootstrap", "60", "--threshold", "5,5,7"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "linear vs censored" in result.output and "breakage" in result.output
    return d


def test_fit_json_and_fit_md_hold_the_censored_fit_bound_shares_first_passage_and_breakage(fitted: Path) -> None:
    doc = json.loads((fitted / "fit.json").read_text())
    assert set(doc["censored"]) == {"EF", "SF", "FF", "AI"}
    ff = doc["censored"]["FF"]
    assert ff["first_passage"][2]["threshold"] == 7.0
    assert len(ff["first_passage"][0]["prob_by_k"]["value"]) == 8
    assert set(doc["breakage"]) == {"EF", "SF", "FF", "AI"}
    assert 0.02 < doc["breakage"]["EF"]["break_rate"]["value"] < 0.25
    md = (fitted / "fit.md").read_text()
    lines = md.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| strategy | rho linear"))
    ff_row = next(line for line in lines[start:] if line.startswith("| FF | "))
    assert ff_row.rstrip(" |").endswith("censored")
    assert ff["loglik_held_out"]["censored"] > ff["loglik_held_out"]["linear"]
    for heading in ("## Censored (bounded) model", "### Share of states on the bounds", "### First passage",
                    "## Breakage"):  # fmt: skip
        assert heading in md


def test_simulate_a_censored_fit_with_breakage(fitted: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = fitted / "sim"
    code, text, err = _main(
        ["simulate", str(fitted / "fit.json"), "--strategy", "FF", "--model", "censored", "--out", str(out)], capsys
    )
    assert code == 0, err
    with (out / "paths.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    values = [float(r["security"]) for r in rows if r["security"] not in ("", "nan")]
    assert values and min(values) >= 0.0 and max(values) <= 10.0
    assert any(r["security"] in ("", "nan") for r in rows)


def test_bad_model_and_threshold_are_one_line_exit_2(fitted: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _main(["fit", str(fitted / "panel.csv"), "--model", "censored", "--threshold", "4,x"], capsys)
    assert code == 2 and err.count("\n") == 1 and "--threshold" in err and "Traceback" not in err
    code, _, err = _main(["simulate", str(fitted / "fit.json"), "--strategy", "FF", "--model", "tobit"], capsys)
    assert code == 2 and "--model must be linear or censored" in err


def test_calibrate_censored_reports_both_estimators(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["calibrate", "--model", "censored", "--replications", "2", "--bootstrap", "20", "--sessions", "20",
            "--iterations", "5", "--json"]  # fmt: skip
    code, out, err = _main(args, capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert {"FF censored", "FF linear"} <= set(doc["strategies"])
    assert set(doc["strategies"]["FF censored"]) == {"rho", "A", "b", "Sigma", "equilibrium"}
    assert doc["settings"]["bound_share"][0] > 0.1


def test_mostly_broken_code_still_gives_a_result(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Nearly every state broken: the SDE cannot be fitted, the breakage rates are still reported."""
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 10, (12, 4, 3))
    broken = np.ones((12, 4), dtype=bool)
    broken[:, 0] = False
    broken[::3, 2] = False
    x[broken] = np.nan
    x[broken, 2] = 0.0
    _write(tmp_path / "p.csv", x, ("A",) * 6 + ("B",) * 6, broken)
    code, out, err = _main(["fit", str(tmp_path / "p.csv"), "--bootstrap", "30"], capsys)
    assert code == 0, err
    doc = json.loads((tmp_path / "fit.json").read_text())
    assert doc["strategies"] == {} and set(doc["skipped"]) == {"A", "B"}
    assert doc["breakage"]["A"]["break_rate"]["value"] == 1.0
    assert "## Breakage" in (tmp_path / "fit.md").read_text()


def test_linear_fit_recommends_censored_when_states_pile_on_a_bound(
    fitted: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _main(["fit", str(fitted / "panel.csv"), "--bootstrap", "20", "--out", str(tmp_path)], capsys)
    assert code == 0, err
    assert "strategy 'FF'" in err and "fit with --model censored" in err
    assert err.count("strategy 'FF'") == 1, "the recommendation is said once"
    assert "## Scores on the bounds" in (tmp_path / "fit.md").read_text()


def test_horizon_sets_the_first_passage_curve_and_is_checked(
    fitted: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["fit", str(fitted / "panel.csv"), "--model", "censored", "--bootstrap", "20", "--out", str(tmp_path)]
    code, _, err = _main([*args, "--horizon", "3"], capsys)
    assert code == 0, err
    doc = json.loads((tmp_path / "fit.json").read_text())
    assert len(doc["censored"]["EF"]["first_passage"][0]["prob_by_k"]["value"]) == 3
    code, _, err = _main([*args, "--horizon", "0"], capsys)
    assert code == 2 and "--horizon must be an integer >= 1" in err
