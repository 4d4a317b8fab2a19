"""``llmsde fit TARGET``: fit one linear SDE per strategy to a run directory or a panel file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]


def fit(
    target: Annotated[Path, typer.Argument(help="Run directory (runs/<id>/) or panel file (.csv/.jsonl/.parquet).")],
    out: Annotated[Path | None, typer.Option("--out", help="Directory for fit.json and fit.md.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print fit.json to stdout instead of the table.")] = False,
    bootstrap: Annotated[int, typer.Option("--bootstrap", help="Session-bootstrap resamples for the CIs.")] = 1000,
    folds: Annotated[int, typer.Option("--folds", help="k of the k-fold cross-validation by session.")] = 5,
    method: Annotated[str, typer.Option("--method", help="em (Euler-Maruyama) or exact (logm of the VAR).")] = "em",
    model: Annotated[
        str, typer.Option("--model", help="full, diagonal, pooled (shared A), or censored (bounded scores).")
    ] = "full",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap and the folds.")] = 0,
    ci: Annotated[str, typer.Option("--ci", help="CI method: percentile (default), bca or basic.")] = "percentile",
    threshold: Annotated[
        str, typer.Option("--threshold", help="First-passage thresholds S,E,F (or one for all), censored model.")
    ] = "5",
    horizon: Annotated[
        int | None, typer.Option("--horizon", help="First-passage iterations (default: the run's iterations).")
    ] = None,
) -> None:
    """Fit dx = (A x + b) dt + Sigma^1/2 dW per strategy; print the table, write fit.json and fit.md."""
    from llmsde import api, render

    outcome = api.fit(
        target,
        n_bootstrap=bootstrap,
        folds=folds,
        method=method,
        model=model,
        ci=ci,
        seed=seed,
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
    cols, rows = api.fit_summary_rows(result)
    render.print_table(f"SDE fit of {target} ({model}, {method})", cols, rows)
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
