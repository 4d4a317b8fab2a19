"""``llmsde export RUN --format jsonl|csv|parquet``: a run's iterations and sessions as flat files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]


def export(
    run: Annotated[Path, typer.Argument(help="Run directory (runs/<run-id>).")],
    fmt: Annotated[str, typer.Option("--format", help="jsonl, csv or parquet (needs pyarrow).")] = "csv",
    out: Annotated[Path | None, typer.Option("--out", help="Directory to write (default RUN/export).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print what was written as JSON.")] = False,
) -> None:
    """Export RUN's iterations (one row each) and sessions; `llmsde fit` reads the iterations file."""
    from llmsde import api, render

    result = api.export_run(run, fmt, out)
    if json_out:
        render.print_json(result.to_dict())
        return
    render.print_kv(
        f"exported {run}",
        [
            ("iterations", f"{result.iterations} rows -> {result.iterations_path}"),
            ("sessions", f"{result.sessions} rows -> {result.sessions_path}"),
        ],
    )


def register(app: typer.Typer) -> None:
    """Add the ``export`` command."""
    app.command("export")(export)
