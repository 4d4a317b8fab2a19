"""``llmsde calibrate``: simulate panels from known parameters, fit them, report bias, RMSE, CI coverage."""

from __future__ import annotations

import json
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
    json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Check the estimator: bias, RMSE and 95% CI coverage of rho, A, b and Sigma on simulated panels."""
    import numpy as np

    from llmsde import render
    from llmsde.dynamics import Truth
    from llmsde.dynamics import calibrate as run_calibration
    from llmsde.errors import FitInputError
    from llmsde.report.fit_tables import fmt

    known = None
    if truth is not None:
        if not truth.is_file():
            raise FitInputError(
                f"truth file not found: {truth}", "pass a JSON file like `llmsde calibrate --json`'s truth"
            )
        try:
            known = Truth.from_dict(json.loads(truth.read_text(encoding="utf-8")))
        except json.JSONDecodeError as err:
            raise FitInputError(f"{truth} is not valid JSON: {err}", "fix the file") from None
    if json_out:
        result = run_calibration(known, sessions, iterations, replications, bootstrap, seed, ci=ci)
        render.print_json(result.to_dict())
        return
    with render.progress_bar(replications, "calibrating") as update:
        result = run_calibration(known, sessions, iterations, replications, bootstrap, seed, ci=ci, on_progress=update)
    rows = []
    for name, params in result.strategies.items():
        for key, c in params.items():
            rows.append(
                [
                    name,
                    key,
                    fmt(float(np.max(np.abs(c.bias))), 4),
                    fmt(float(np.mean(c.rmse)), 4),
                    f"{fmt(100 * float(np.mean(c.coverage)), 1)}%",
                    f"{fmt(100 * float(np.min(c.coverage)), 1)}%",
                ]
            )
    render.print_table(
        f"calibration: {replications} panels of {sessions} sessions x {iterations} iterations, "
        f"{bootstrap} resamples, {ci} CIs",
        ["strategy", "parameter", "max |bias|", "mean RMSE", "coverage (mean)", "coverage (min)"],
        rows,
    )


def register(app: typer.Typer) -> None:
    """Add ``calibrate`` to the app."""
    app.command("calibrate")(calibrate)
