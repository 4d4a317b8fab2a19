"""``llmsde compare A B``: what changed between two runs or two fits (B minus A), with CIs; ``llmsde compare RUN
--by model``: how the models of one run differ, with paired CIs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["register"]


def compare(
    a: Annotated[Path, typer.Argument(help="Baseline: a run directory, a fit.json, or a directory holding one.")],
    b: Annotated[Path | None, typer.Argument(help="Candidate, same kinds as A (omit with --by model).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON.")] = False,
    out: Annotated[Path | None, typer.Option("--out", help="Also write the Markdown to this file.")] = None,
    bootstrap: Annotated[
        int, typer.Option("--bootstrap", help="Session-bootstrap resamples per run (two runs only).")
    ] = 200,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed of the bootstraps [A's stored [fit] seed, 0].")
    ] = None,
    by: Annotated[
        str | None, typer.Option("--by", help="'model': compare the models of the one run A (paired CIs).")
    ] = None,
) -> None:
    """Per strategy: rho, equilibrium, drift coupling and security trend of B minus A, with CIs, and one
    plain-language line per significant change. With --by model, the same between every pair of models of
    one run."""
    from llmsde import api, render
    from llmsde.errors import ConfigError

    if bootstrap < 2:
        raise ConfigError(f"--bootstrap must be at least 2; got {bootstrap}", "e.g. --bootstrap 200")
    if by is not None and by != "model":
        raise ConfigError(f"--by {by!r} is not supported", "use --by model")
    if by is not None and b is not None:
        raise ConfigError("--by model compares the models inside one run", "pass one run: compare RUN --by model")
    if by is None and b is None:
        raise ConfigError("compare needs two runs or fits (A B), or one run with --by model", "e.g. compare A B")
    result: Any = (
        api.compare_models(a, n_bootstrap=bootstrap, seed=0 if seed is None else seed, out=out)
        if b is None
        else api.compare(a, b, n_bootstrap=bootstrap, seed=seed, out=out)
    )
    if json_out:
        render.print_json(result.to_dict())
    else:
        typer.echo(result.to_markdown(), nl=False)


def register(app: typer.Typer) -> None:
    """Add ``compare`` to the app."""
    app.command("compare")(compare)
