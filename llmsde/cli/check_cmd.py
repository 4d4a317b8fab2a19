"""``llmsde check FIT --rules RULES.toml``: declarative CI gates; exit 0 pass, 1 fail, 2 bad rules."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]


def check(
    fit: Annotated[Path, typer.Argument(help="fit.json, or a run directory holding one.")],
    rules: Annotated[Path, typer.Option("--rules", help="Rules TOML (see docs/check.md).")],
    baseline: Annotated[
        Path | None,
        typer.Option("--baseline", help="fit.json (or run dir) that relative_to rules compare with."),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print every result as one JSON object.")] = False,
) -> None:
    """Evaluate every rule for every strategy it selects: one line per failure, exit 1 if any rule fails."""
    from llmsde import api, render
    from llmsde.errors import CheckFailed

    result = api.check(fit, rules, baseline)
    if json_out:
        render.print_json(result.to_dict())
    else:
        for item in result.failures:
            typer.echo(item.line())
        n_ok = len(result.results) - len(result.failures)
        if result.passed:
            typer.echo(f"all checks passed ({n_ok} of {len(result.results)} rule results hold)")
    if not result.passed:
        raise CheckFailed(
            f"{len(result.failures)} of {len(result.results)} rule results failed",
            "see the FAIL lines (or --json) for rule, value, CI and threshold",
        )


def register(app: typer.Typer) -> None:
    """Add ``check`` to the app."""
    app.command("check")(check)
