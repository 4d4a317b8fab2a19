"""Shared by the CLI tests: run the real console entry point in-process, as a user's shell would see it."""

from __future__ import annotations

import pytest

from llmsde.cli import main


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Call ``llmsde.cli.main(args)`` (which maps LlmsdeError to one line and an exit code); return code, out, err."""
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err
