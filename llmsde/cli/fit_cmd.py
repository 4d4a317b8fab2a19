"""``llmsde fit TARGET``: fit one linear SDE per strategy to a run directory or a panel file.

Flags left out come from the run's stored ``[fit]`` table (a run directory), else the defaults shown.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]


def fit(
    target: Annotated[Path, typer.Argument(help="Run directory (runs/<id>/) or panel file (.csv/.jsonl/.parquet).")],
    out: Annotated[Path | None, typer.Option("--out", help="Directory for fit.json and fit.md.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print fit.json to stdout instead of the table.")] = False,
    bootstrap: Annotated[
        int | None, typer.Option("--bootstrap", help="Session-bootstrap resamples for the CIs [1000].")
    ] = None,
    folds: Annotated[
        int | None, typer.Option("--folds", help="k of the k-fold cross-validation by session [5].")
    ] = None,
    method: Annotated[
        str | None, typer.Option("--method", help="em (Euler-Maruyama) or exact (logm of the VAR) [em].")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option("--model", help="full, diagonal, pooled (shared A), or censored (bounded scores) [full]."),
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of the bootstrap and the folds [0].")] = None,
    ci: Annotated[str | None, typer.Option("--ci", help="CI method: percentile, bca or basic [percentile].")] = None,
    ci_level: Annotated[float | None, typer.Option("--ci-level", help="Level of every CI [0.95].")] = None,
    threshold: Annotated[
        str, typer.Option("--threshold", help="First-passage thresholds S,E,F (or one for all), censored model.")
    ] = "5",
    horizon: Annotated[
        int | None, typer.Option("--horizon", help="First-passage iterations (default: the run's iterations).")
    ] = None,
) -> None:
    """Fit dx = (A x + b) dt + Sigma^1/2 dW per strategy; print the table, write fit.json and fit.md.

    Options left out come from the run's stored [fit] table, else the defaults in brackets."""
    from llmsde import api, render

    outcome = api.fit(
        target,
        n_bootstrap=bootstrap,
        folds=folds,
        method=method,
        model=model,
        ci=ci,
        seed=seed,
        ci_level=ci_level,
        out=out,
        thresholds=threshold,
        horizon=horizon,
    )
    for warning in outcome.warnings:
        render.print_warning(str(warning))
    result, files = outcome.fit, outcome.files
    if json_out:
        render.print_json(result.to_dict())
        return
    meta = result.meta
    if result.strategies:
        cols, rows = api.fit_summary_rows(result)
        render.print_table(f"SDE fit of {target} ({meta.get('model')}, {meta.get('method')})", cols, rows)
    else:
        render.print_text(f"nothing could be fitted in {target}: every strategy was skipped (reasons below)")
    for sf in result.strategies.values():
        render.print_kv(f"{sf.label}: interference and checks", api.fit_strategy_rows(sf))
    if result.skipped:
        render.print_kv("skipped strategies (not fitted)", api.fit_skipped_rows(result))
    cols, rows = api.fit_comparison_rows(result)
    if rows:
        render.print_table("model comparison (* = fitted)", cols, rows)
    for title, cols, rows in api.fit_bounded_tables(result):
        render.print_table(title, cols, rows)
    render.print_text(f"wrote {files.json_path} and {files.md_path}")


def register(app: typer.Typer) -> None:
    """Add ``fit`` to the app."""
    app.command("fit")(fit)
