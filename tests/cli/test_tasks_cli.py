"""``llmsde tasks list|show|import`` as a user runs them: CliRunner in-process plus one real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import run_main as _run
from typer.testing import CliRunner

FIXTURES = Path(__file__).parents[1] / "tasks" / "fixtures"


def test_import_json_then_list_and_show(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = _run(
        [
            "tasks",
            "import",
            str(FIXTURES / "mbpp_full_mini.jsonl"),
            "--no-verify",
            "--json",
            "--license",
            "CC-BY",
        ],
        capsys,
    )
    assert code == 0
    report = json.loads(out)
    assert report["imported"] == 4 and report["reference_passed"] is None and report["reference_total"] is None
    assert report["skipped"] == [{"id": "mbpp/903", "reason": report["skipped"][0]["reason"]}]
    assert report["out_dir"] == str(Path("tasks") / "mbpp_full_mini")

    code, out, _ = _run(["tasks", "list", "--json"], capsys)
    assert code == 0
    rows = {r["id"]: r for r in json.loads(out)}
    assert rows["mbpp/902"]["origin"] == str(Path("tasks") / "mbpp_full_mini")
    assert rows["mbpp/902"]["license"] == "CC-BY" and rows["mbpp/902"]["tests"] == 3
    assert rows["mbpp/902"]["io_tests"] == 2
    assert any(r["origin"] == "builtin" for r in rows.values()), "built-in tasks are listed too"

    code, out, _ = _run(["tasks", "show", "mbpp/901", "--json"], capsys)
    assert code == 0
    shown = json.loads(out)
    assert shown["task"]["entry_point"] == "digit_sum" and shown["task"]["tests"][0]["kind"] == "io"

    code, out, _ = _run(["tasks", "show", "mbpp/901"], capsys)
    assert code == 0 and "digit_sum" in out and "f(123) == 6" in out


def test_show_unknown_id_is_one_line_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    _run(["tasks", "import", str(FIXTURES / "sallm_mini.jsonl"), "--no-verify", "--out", "sec"], capsys)
    code, _, err = _run(["tasks", "show", "sallm_fixture_9", "--source", "sec"], capsys)
    assert code == 2
    assert "unknown task 'sallm_fixture_9'" in err and "sallm_fixture_1" in err
    assert "Traceback" not in err


def test_import_human_summary_with_sandbox_verification(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = _run(["tasks", "import", str(FIXTURES / "humaneval_mini.jsonl"), "--out", "he"], capsys)
    assert code == 0, out
    assert "4/5" in out and "Mini/2" in out and "reference fails its own tests" in out
    assert 'tasks = ["builtin", "he"]' in out
    code, out, _ = _run(["tasks", "list", "--source", "he"], capsys)
    assert code == 0 and "Mini/0" in out and "Mini/2" not in out


def test_existing_out_and_bad_map_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["tasks", "import", str(FIXTURES / "sallm_mini.jsonl"), "--no-verify", "--out", "s"]
    assert _run(args, capsys)[0] == 0
    code, _, err = _run(args, capsys)
    assert code == 2 and "already exists" in err and "--force" in err
    assert _run([*args, "--force"], capsys)[0] == 0
    code, _, err = _run([*args[:-2], "--out", "t", "--map", "bogus=x"], capsys)
    assert code == 2 and "unknown field" in err


def test_malformed_dataset_subprocess_exit_2_without_traceback(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "llmsde", "tasks", "import", str(FIXTURES / "malformed.jsonl"), "--out", "x"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "line 4" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x").exists()


def test_tasks_help_lists_subcommands() -> None:
    from llmsde.cli import app

    result = CliRunner().invoke(app, ["tasks", "--help"])
    assert result.exit_code == 0
    for word in ("list", "show", "import"):
        assert word in result.output
