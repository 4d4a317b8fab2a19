"""``llmsde report RUN``: a self-contained HTML report and a Markdown summary (``$GITHUB_STEP_SUMMARY``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]

_FORMATS = ("html", "md", "both")


def report(
    run: Annotated[Path, typer.Argument(help="Run directory (runs/<id>/); fitted first if it has no fit.json.")],
    out: Annotated[Path | None, typer.Option("--out", help="Output directory (default: RUN/report).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="html, md, or both.")] = "both",
    bootstrap: Annotated[
        int | None,
        typer.Option("--bootstrap", help="Resamples when the run must be fitted first [the run's [fit], 1000]."),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option("--seed", help="Seed of the fit (if needed) and of the simulated bands [the run's [fit], 0]."),
    ] = None,
) -> None:
    """Write report.html (figures embedded, opens from disk) and/or report.md, plus the figures as PNGs."""
    from llmsde import api, render
    from llmsde.errors import ConfigError

    if fmt not in _FORMATS:
        raise ConfigError(f"unknown --format {fmt!r}", f"choose one of {', '.join(_FORMATS)}")
    formats = ("html", "md") if fmt == "both" else (fmt,)
    files = api.report(run, out, formats, n_bootstrap=bootstrap, seed=seed)
    for path in (files.html, files.markdown, *files.figures):
        if path is not None:
            render.print_text(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Add ``report`` to the app."""
    app.command("report")(report)
