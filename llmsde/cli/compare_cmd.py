"""``llmsde compare A B``: what changed between two runs or two fits (B minus A), with CIs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]


def compare(
    a: Annotated[Path, typer.Argument(help="Baseline: a run directory, a fit.json, or a directory holding one.")],
    b: Annotated[Path, typer.Argument(help="Candidate, same kinds as A.")],
    json_out: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON.")] = False,
    out: Annotated[Path | None, typer.Option("--out", help="Also write the Markdown to this file.")] = None,
    bootstrap: Annotated[
        int, typer.Option("--bootstrap", help="Session-bootstrap resamples per run (two runs only).")
    ] = 200,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed of the bootstraps [A's stored [fit] seed, 0].")
    ] = None,
) -> None:
    """Per strategy: rho, equilibrium, drift coupling and security trend of B minus A, with CIs, and one
    plain-language line per significant change."""
    from llmsde import api, render
    from llmsde.errors import ConfigError

    if bootstrap < 2:
        raise ConfigError(f"--bootstrap must be at least 2; got {bootstrap}", "e.g. --bootstrap 200")
    result = api.compare(a, b, n_bootstrap=bootstrap, seed=seed, out=out)
    if json_out:
        render.print_json(result.to_dict())
    else:
        typer.echo(result.to_markdown(), nl=False)


def register(app: typer.Typer) -> None:
    """Add ``compare`` to the app."""
    app.command("compare")(compare)
