"""``llmsde simulate FIT.json --strategy S``: Euler-Maruyama paths of a fitted strategy, bands and a plot."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]


def simulate(
    fit_file: Annotated[Path, typer.Argument(help="fit.json written by `llmsde fit` (or its directory).")],
    strategy: Annotated[str, typer.Option("--strategy", help="Strategy label in the fit.")],
    start: Annotated[
        str | None, typer.Option("--from", help="Start state S,E,F (default: the fit's mean x_0).")
    ] = None,
    steps: Annotated[int, typer.Option("--steps", help="Iterations to simulate.")] = 10,
    paths: Annotated[int, typer.Option("--paths", help="Number of paths.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the noise.")] = 0,
    out: Annotated[Path | None, typer.Option("--out", help="Output directory (default: next to the fit).")] = None,
    plot: Annotated[bool, typer.Option("--plot", help="Also write a PNG of the mean and bands.")] = False,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
    clip: Annotated[str, typer.Option("--clip", help="Keep scores in [0,10]: clip, reflect or none.")] = "clip",
    model: Annotated[
        str, typer.Option("--model", help="linear, or censored (the fit's bounded model, with breakage).")
    ] = "linear",
) -> None:
    """Simulate paths of a fitted strategy; write paths, mean and quantile bands (and a PNG with --plot)."""
    from llmsde import api, render

    outcome = api.simulate(
        fit_file,
        strategy,
        start=start,
        steps=steps,
        paths=paths,
        seed=seed,
        out=out,
        plot=plot,
        fmt=fmt,
        clip=clip,
        model=model,
    )
    sim, written = outcome.result, outcome.files
    final = sim.mean[-1]
    render.print_kv(
        f"simulated {paths} paths of {strategy} for {steps} steps",
        [
            ("start", ", ".join(f"{v:.2f}" for v in sim.paths[0, 0])),
            ("mean at the end", ", ".join(f"{v:.2f}" for v in final)),
            (
                "5-95% at the end",
                ", ".join(f"{sim.quantiles[0.05][-1, j]:.2f}-{sim.quantiles[0.95][-1, j]:.2f}" for j in range(3)),
            ),
            *(("wrote", str(p)) for p in written),
        ],
    )


def register(app: typer.Typer) -> None:
    """Add ``simulate`` to the app."""
    app.command("simulate")(simulate)
