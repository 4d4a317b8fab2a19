"""``llmsde calibrate``: simulate panels from known parameters, fit them, report bias, RMSE, CI coverage."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]


def calibrate(
    truth: Annotated[Path | None, typer.Option("--truth", help="truth.json (default: DESIGN.md reference).")] = None,
    sessions: Annotated[int, typer.Option("--sessions", help="Sessions per strategy per panel.")] = 100,
    iterations: Annotated[int, typer.Option("--iterations", help="Iterations per session.")] = 10,
    replications: Annotated[int, typer.Option("--replications", help="Simulated panels.")] = 200,
    bootstrap: Annotated[int, typer.Option("--bootstrap", help="Bootstrap resamples per fit.")] = 500,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the simulations and bootstraps.")] = 0,
    ci: Annotated[str, typer.Option("--ci", help="CI method: percentile (default), bca or basic.")] = "percentile",
    method: Annotated[
        str, typer.Option("--method", help="em or exact: the model simulated and fitted (as `fit --method`).")
    ] = "em",
    json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    model: Annotated[
        str, typer.Option("--model", help="linear, or censored (clipped truth; censored and linear fits).")
    ] = "linear",
) -> None:
    """Check the estimator: bias, RMSE and 95% CI coverage of rho, A, b and Sigma on simulated panels."""
    from llmsde import api, render

    if json_out:
        result = api.calibrate(
            truth, sessions, iterations, replications, bootstrap, seed, ci=ci, method=method, model=model
        )
        render.print_json(result.to_dict())
        return
    with render.progress_bar(replications, "calibrating") as update:
        result = api.calibrate(
            truth,
            sessions,
            iterations,
            replications,
            bootstrap,
            seed,
            ci=ci,
            method=method,
            on_progress=update,
            model=model,
        )
    cols, rows = api.calibration_rows(result)
    render.print_table(
        f"calibration: {replications} panels of {sessions} sessions x {iterations} iterations, "
        f"{bootstrap} resamples, {ci} CIs, method {method}" + (", clipped truth" if model == "censored" else ""),
        cols,
        rows,
    )


def register(app: typer.Typer) -> None:
    """Add ``calibrate`` to the app."""
    app.command("calibrate")(calibrate)
