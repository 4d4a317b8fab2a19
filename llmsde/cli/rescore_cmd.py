"""``llmsde rescore RUN``: score a run's stored code again with the current scorers, into a new run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]


def rescore(
    run: Annotated[Path, typer.Argument(help="Run directory whose stored code is scored again.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="New run directory (default: a new id next to RUN).")
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", min=1, help="Iterations scored in parallel.")] = 2,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object.")] = False,
) -> None:
    """Re-score every stored iteration of RUN without calling any model; the new run records its source."""
    from llmsde import api, render

    if json_out:
        summary = api.rescore_run(run, out, jobs=jobs)
        render.print_json(summary.to_dict())
        return
    total = api.run_counts(run)["iterations"]
    with render.progress_bar(total=total, description="rescoring") as update:
        summary = api.rescore_run(run, out, jobs=jobs, on_progress=lambda done, _n: update(done))
    render.print_kv(
        f"rescored {run}",
        [
            ("new run", summary.run_dir),
            ("iterations", str(summary.iterations)),
            ("scored again", str(summary.rescored)),
            ("scores changed", str(summary.changed)),
            ("isolation", summary.isolation_level),
        ],
    )


def register(app: typer.Typer) -> None:
    """Add the ``rescore`` command."""
    app.command("rescore")(rescore)
