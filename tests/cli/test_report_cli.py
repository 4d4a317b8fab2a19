"""``llmsde report``: flags, formats and one-line errors (in-process with CliRunner)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from llmsde.cli import app, main

runner = CliRunner()


def test_report_on_a_non_run_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["report", str(tmp_path)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "is not a run directory" in err and "Traceback" not in err


def test_unknown_format_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["report", str(tmp_path), "--format", "pdf"])
    assert exc.value.code == 2
    assert "unknown --format 'pdf'" in capsys.readouterr().err


def test_help_lists_options() -> None:
    res = runner.invoke(app, ["report", "--help"])
    assert res.exit_code == 0
    assert "--format" in res.output and "--out" in res.output
