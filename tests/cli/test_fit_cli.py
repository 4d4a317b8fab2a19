"""``llmsde fit``, ``simulate`` and ``calibrate`` as a user runs them (CliRunner, main(), one subprocess)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_main as _main
from typer.testing import CliRunner

from llmsde.cli import app
from llmsde.dynamics import reference_truth, simulate_panel

runner = CliRunner()


def _write_panel(path: Path, sessions: int = 30, clip: bool = True) -> None:
    x, labels = simulate_panel(reference_truth(), sessions, 8, np.random.default_rng(0))
    if clip:
        x = np.clip(x, 0, 10)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["session", "strategy", "k", "security", "efficiency", "functionality"])
        for s in range(len(x)):
            for k in range(x.shape[1]):
                w.writerow([f"s{s}", labels[s], k, *x[s, k]])


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("fit")
    _write_panel(d / "panel.csv")
    result = runner.invoke(app, ["fit", str(d / "panel.csv"), "--bootstrap", "60", "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert "rho [CI]" in result.output and "model comparison" in result.output
    return d


def test_fit_writes_strict_json_and_markdown(fitted: Path) -> None:
    doc = json.loads((fitted / "fit.json").read_text(), parse_constant=lambda c: pytest.fail(f"non-JSON {c}"))
    assert doc["schema_version"] == 3 and set(doc["strategies"]) == {"EF", "SF", "FF", "AI"} and not doc["skipped"]
    assert doc["meta"]["n_bootstrap"] == 60
    md = (fitted / "fit.md").read_text()
    assert md.startswith("# SDE fit") and "## Strategy SF" in md and "## Model comparison" in md
    assert not list(fitted.glob(".*.tmp"))


def test_fit_json_flag_and_options(tmp_path: Path) -> None:
    _write_panel(tmp_path / "p.csv")
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "fit",
            str(tmp_path / "p.csv"),
            "--json",
            "--bootstrap",
            "30",
            "--folds",
            "3",
            "--model",
            "pooled",
            "--method",
            "exact",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["meta"]["model"] == "pooled" and doc["meta"]["folds"] == 3
    assert (out / "fit.json").is_file() and (out / "fit.md").is_file()


def test_fit_bad_input_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write_panel(tmp_path / "p.csv", sessions=2)
    cases = [
        ["fit", str(tmp_path / "nope.csv")],
        ["fit", str(tmp_path / "p.csv"), "--method", "rk4"],
        ["fit", str(tmp_path / "p.csv"), "--folds", "1"],
    ]
    for args in cases:
        code, _, err = _main(args, capsys)
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert code == 2 and len(lines) == 1 and lines[0].startswith("error:"), (args, err)


def test_fit_missing_file_subprocess(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "llmsde", "fit", "missing.csv"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "missing.csv" in proc.stderr


def test_simulate_writes_csv_and_png(fitted: Path) -> None:
    out = fitted / "sim"
    result = runner.invoke(
        app,
        [
            "simulate",
            str(fitted / "fit.json"),
            "--strategy",
            "SF",
            "--from",
            "2,3,4",
            "--steps",
            "6",
            "--paths",
            "50",
            "--out",
            str(out),
            "--plot",
        ],
    )
    assert result.exit_code == 0, result.output
    with (out / "paths.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 50 * 7
    assert {float(r["security"]) for r in rows if r["k"] == "0"} == {2.0}
    assert all(0 <= float(r[c]) <= 10 for r in rows for c in ("security", "efficiency", "functionality"))
    with (out / "bands.csv").open() as fh:
        bands = list(csv.DictReader(fh))
    assert len(bands) == 7 * 3 and {"mean", "q05", "q95"} <= set(bands[0])
    assert (out / "simulation.png").read_bytes()[:4] == b"\x89PNG"


def test_simulate_parquet(fitted: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    out = fitted / "simpq"
    result = runner.invoke(
        app,
        [
            "simulate",
            str(fitted),
            "--strategy",
            "EF",
            "--paths",
            "5",
            "--format",
            "parquet",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert pq.read_table(out / "paths.parquet").num_rows == 5 * 11


def test_simulate_bad_input(fitted: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for args in (
        ["simulate", str(fitted / "fit.json"), "--strategy", "XX"],
        ["simulate", str(fitted / "fit.json"), "--strategy", "SF", "--from", "1,2"],
        ["simulate", str(fitted / "panel.csv"), "--strategy", "SF"],
    ):
        code, _, err = _main(args, capsys)
        assert code == 2 and err.startswith("error:"), (args, err)


def test_calibrate_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    truth = reference_truth().to_dict()
    truth["strategies"] = {"SF": truth["strategies"]["SF"]}
    (tmp_path / "truth.json").write_text(json.dumps(truth))
    code, out, _ = _main(
        [
            "calibrate",
            "--truth",
            str(tmp_path / "truth.json"),
            "--sessions",
            "20",
            "--replications",
            "3",
            "--bootstrap",
            "30",
            "--json",
        ],
        capsys,
    )
    assert code == 0
    doc = json.loads(out)
    assert set(doc["strategies"]) == {"SF"}
    for param in ("rho", "half_life", "A", "b", "Sigma"):
        assert {"bias", "rmse", "coverage"} <= set(doc["strategies"]["SF"][param])
    assert doc["settings"]["method"] == "em"
    args = ["calibrate", "--truth", str(tmp_path / "truth.json"), "--sessions", "20", "--replications", "2"]
    code, out, _ = _main([*args, "--bootstrap", "30", "--method", "exact", "--json"], capsys)
    assert code == 0 and json.loads(out)["settings"]["method"] == "exact"
    code, _, err = _main([*args, "--method", "rk4"], capsys)
    assert code == 2 and "method must be one of em, exact" in err
    code, _, err = _main(["calibrate", "--truth", str(tmp_path / "none.json")], capsys)
    assert code == 2 and "truth file not found" in err
