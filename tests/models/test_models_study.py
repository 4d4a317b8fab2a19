"""A two-model study end to end, as a user runs it: two surrogate "models" (temperatures 0.2 and 1.2), the dry
run's estimate against the measured usage of the same study, fit/report/compare by model, and the budget."""

from __future__ import annotations

import csv
import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from cli_helpers import run_main

from llmsde.api import load_run_usage
from llmsde.cli import main

pytestmark = pytest.mark.slow

STUDY = """
sessions = 4
iterations = 3
strategies = ["SF", "EF"]
tasks = ["find_users", "parse_settings", "group_duplicates", "issue_tokens"]
concurrency = 4
{extra}

[provider]
prices = {{prompt_per_mtok = 2.0, completion_per_mtok = 8.0}}

[[models]]
label = "cold"
temperature = 0.2

[[models]]
label = "hot"
temperature = 1.2
"""


def _config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "two.toml"
    path.write_text(STUDY.format(extra=extra), encoding="utf-8")
    return path


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    return lines[0]


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object], dict[str, object]]:
    """(run dir, dry-run JSON, run summary JSON) of one two-model study."""
    tmp = tmp_path_factory.mktemp("models")
    config = _config(tmp)

    def call(args: list[str]) -> str:
        buf = io.StringIO()
        with redirect_stdout(buf):
            try:
                main(args)
            except SystemExit as exc:
                assert not exc.code, buf.getvalue()
        return buf.getvalue()

    plan = json.loads(call(["run", str(config), "--dry-run", "--json", "--out", str(tmp / "runs")]))
    assert not (tmp / "runs").exists()
    summary = json.loads(call(["run", str(config), "--json", "--out", str(tmp / "runs")]))
    return Path(str(summary["run_dir"])), plan, summary


def test_dry_run_estimate_is_within_25_percent_of_measured_usage(
    study: tuple[Path, dict[str, object], dict[str, object]],
) -> None:
    _, plan, summary = study
    usage = summary["usage"]
    assert isinstance(usage, dict) and isinstance(plan["models"], list)
    measured = usage["by_model"]
    assert [m["label"] for m in plan["models"]] == list(measured) == ["cold", "hot"]
    for m in plan["models"]:
        got = measured[m["label"]]
        assert m["calls"] == got["calls"] == 8 * 3 and m["sessions"] == 8
        for est, key in (("est_prompt_tokens", "prompt_tokens"), ("est_completion_tokens", "completion_tokens")):
            assert abs(m[est] - got[key]) <= 0.25 * got[key], (m["label"], key, m[est], got[key])
        assert abs(m["est_cost_usd"] - got["cost_usd"]) <= 0.25 * got["cost_usd"]
    total = plan["total"]
    assert isinstance(total, dict) and total["calls"] == usage["calls"]


def test_fit_groups_by_model_and_strategy(
    study: tuple[Path, dict[str, object], dict[str, object]], capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir, _, _ = study
    code, _, err = run_main(["fit", str(run_dir), "--bootstrap", "30"], capsys)
    assert code == 0, err
    fit = json.loads((run_dir / "fit.json").read_text(encoding="utf-8"))
    assert sorted(fit["strategies"]) == ["cold/EF", "cold/SF", "hot/EF", "hot/SF"]
    md = (run_dir / "fit.md").read_text(encoding="utf-8")
    assert "| model | calls |" in md and "| cold |" in md and "| hot |" in md


def test_report_has_a_section_per_model_and_the_overview_figure(
    study: tuple[Path, dict[str, object], dict[str, object]], capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir, _, _ = study
    code, _, err = run_main(["report", str(run_dir), "--out", str(run_dir / "rep"), "--format", "md"], capsys)
    assert code == 0, err
    md = (run_dir / "rep" / "report.md").read_text(encoding="utf-8")
    assert "## Model cold" in md and "## Model hot" in md and "Spend per model" in md
    assert (run_dir / "rep" / "figures" / "models_overview.png").stat().st_size > 10_000


def test_compare_by_model_json(
    study: tuple[Path, dict[str, object], dict[str, object]], capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir, _, _ = study
    code, out, err = run_main(["compare", str(run_dir), "--by", "model", "--json", "--bootstrap", "40"], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert data["models"] == ["cold", "hot"] and data["mode"] == "paired_bootstrap"
    [pair] = data["pairs"]
    assert (pair["a"], pair["b"]) == ("cold", "hot")
    assert {d["strategy"] for d in pair["differences"]} == {"SF", "EF"}
    assert len(data["significant"]) == sum(d["significant"] for d in pair["differences"])
    assert 0 < data["n_valid"] <= 40


def test_compare_by_model_bad_usage_is_one_line(
    study: tuple[Path, dict[str, object], dict[str, object]], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    run_dir, _, _ = study
    for args in (["compare", str(run_dir)], ["compare", str(run_dir), str(run_dir), "--by", "model"],
                 ["compare", str(run_dir), "--by", "task"]):  # fmt: skip
        code, _, err = run_main(args, capsys)
        assert code == 2, args
        _one_error_line(err)


def test_max_cost_stops_cleanly_and_resume_with_a_larger_budget_finishes(
    study: tuple[Path, dict[str, object], dict[str, object]], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _, plan, _ = study
    total = plan["total"]
    assert isinstance(total, dict)
    budget = round(total["est_cost_usd"] / 3, 6)
    config = _config(tmp_path)
    code, _, err = run_main(["run", str(config), "--max-cost", str(budget), "--out", str(tmp_path / "runs")], capsys)
    assert code == 1
    errors = [x for x in err.splitlines() if x.startswith("error:")]
    assert len(errors) == 1 and err.rstrip().endswith(errors[0]), err  # the progress bar precedes it
    line = errors[0]
    [run_dir] = list((tmp_path / "runs").iterdir())
    assert "budget reached" in line and f"llmsde run --resume {run_dir} --max-cost" in line
    assert "cold $" in line and "hot $" in line
    spent = load_run_usage(run_dir)["cost_usd"]
    assert 0 < spent <= budget
    code, _, err = run_main(["run", "--resume", str(run_dir), "--max-cost", str(budget)], capsys)
    assert code == 1  # same budget: nothing more may be spent
    assert load_run_usage(run_dir)["cost_usd"] == spent
    code, out, err = run_main(["run", "--resume", str(run_dir), "--max-cost", "10", "--json"], capsys)
    assert code == 0, err
    summary = json.loads(out)
    assert summary["status"] == "complete" and summary["sessions_done"] == 16
    assert set(summary["usage"]["by_model"]) == {"cold", "hot"}


def test_max_cost_without_prices_and_bad_flags_are_refused_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "free.toml"
    config.write_text('[[models]]\nlabel = "a"\n[[models]]\nlabel = "b"\n', encoding="utf-8")
    out = str(tmp_path / "runs")
    for args in (["--max-cost", "1"], ["--max-cost", "0"], ["--models", "zz"]):
        code, _, err = run_main(["run", str(config), "--out", out, *args], capsys)
        assert code == 2, args
        _one_error_line(err)
    assert not (tmp_path / "runs").exists()
    code, _, err = run_main(["run", "--resume", str(tmp_path), "--models", "a"], capsys)
    assert code == 2 and "--models" in _one_error_line(err)


def test_export_keeps_the_model_and_a_fit_of_the_panel_file_groups_by_it(
    study: tuple[Path, dict[str, object], dict[str, object]], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    run_dir, _, _ = study
    code, _, err = run_main(["export", str(run_dir), "--format", "csv", "--out", str(tmp_path / "x")], capsys)
    assert code == 0, err
    with (tmp_path / "x" / "sessions.csv").open(encoding="utf-8") as fh:
        assert {row["model"] for row in csv.DictReader(fh)} == {"cold", "hot"}
    out = tmp_path / "fit"
    code, _, err = run_main(
        ["fit", str(tmp_path / "x" / "iterations.csv"), "--bootstrap", "0", "--out", str(out)], capsys
    )
    assert code == 0, err
    assert sorted(json.loads((out / "fit.json").read_text(encoding="utf-8"))["strategies"]) == [
        "cold/EF", "cold/SF", "hot/EF", "hot/SF"
    ]  # fmt: skip
