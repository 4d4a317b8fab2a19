"""``llmsde simulate FIT.json --strategy S``: Euler-Maruyama paths of a fitted strategy, bands and a plot."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]


def _parse_state(text: str) -> list[float]:
    from llmsde.errors import FitInputError

    parts = [p.strip() for p in text.split(",")]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise FitInputError(f"--from must be three numbers S,E,F; got {text!r}", "e.g. --from 5,4.5,8") from None
    if len(values) != 3:
        raise FitInputError(f"--from must be three numbers S,E,F; got {len(values)}", "e.g. --from 5,4.5,8")
    return values


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
) -> None:
    """Simulate paths of a fitted strategy; write paths, mean and quantile bands (and a PNG with --plot)."""
    from llmsde import render
    from llmsde.dynamics import simulate as run_simulation
    from llmsde.errors import FitInputError
    from llmsde.report.fit_io import read_fit
    from llmsde.report.simulation_out import write_simulation, write_simulation_plot

    fit = read_fit(fit_file)
    if strategy not in fit.strategies:
        known = ", ".join(fit.strategies)
        raise FitInputError(f"strategy {strategy!r} is not in {fit_file}", f"known: {known}")
    if fmt not in ("csv", "parquet"):
        raise FitInputError(f"--format must be csv or parquet; got {fmt!r}", "e.g. --format csv")
    x0 = _parse_state(start) if start is not None else None
    dt = float(fit.meta.get("dt", 1.0))
    sim = run_simulation(fit.strategies[strategy], x0, steps=steps, paths=paths, seed=seed, clip=clip, dt=dt)
    base = fit_file if fit_file.is_dir() else fit_file.parent
    out_dir = out if out is not None else base / f"simulate_{strategy}"
    written = write_simulation(sim, out_dir, fmt)
    if plot:
        written.append(
            write_simulation_plot(sim, out_dir / "simulation.png", f"{strategy}: {paths} paths, clip={clip}")
        )
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
