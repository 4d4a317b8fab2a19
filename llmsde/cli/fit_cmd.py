"""``llmsde fit TARGET``: fit one linear SDE per strategy to a run directory or a panel file."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["register"]


def _load(target: Path) -> tuple[Any, Path]:
    """The panel and the default output directory of TARGET."""
    from llmsde.errors import FitInputError

    if target.is_dir():
        from llmsde import api

        return api.load_run(target), target
    if target.is_file():
        from llmsde.store.panel import read_panel_file

        return read_panel_file(target), target.parent
    raise FitInputError(
        f"{target} is neither a run directory nor a panel file",
        "pass runs/<run-id>/ or a .csv/.jsonl/.parquet file with columns "
        "session,strategy,k,security,efficiency,functionality",
    )


def fit(
    target: Annotated[Path, typer.Argument(help="Run directory (runs/<id>/) or panel file (.csv/.jsonl/.parquet).")],
    out: Annotated[Path | None, typer.Option("--out", help="Directory for fit.json and fit.md.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print fit.json to stdout instead of the table.")] = False,
    bootstrap: Annotated[int, typer.Option("--bootstrap", help="Session-bootstrap resamples for the CIs.")] = 1000,
    folds: Annotated[int, typer.Option("--folds", help="k of the k-fold cross-validation by session.")] = 5,
    method: Annotated[str, typer.Option("--method", help="em (Euler-Maruyama) or exact (logm of the VAR).")] = "em",
    model: Annotated[str, typer.Option("--model", help="full, diagonal, or pooled (shared A).")] = "full",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap and the folds.")] = 0,
    ci: Annotated[str, typer.Option("--ci", help="CI method: percentile (default), bca or basic.")] = "percentile",
) -> None:
    """Fit dx = (A x + b) dt + Sigma^1/2 dW per strategy; print the table, write fit.json and fit.md."""
    from llmsde import render
    from llmsde.dynamics import LinearSdeEstimator
    from llmsde.errors import LlmsdeWarning
    from llmsde.report.fit_io import write_fit
    from llmsde.report.fit_tables import comparison_rows, skipped_rows, strategy_rows, summary_rows

    panel, default_dir = _load(target)
    estimator = LinearSdeEstimator(
        n_bootstrap=bootstrap, folds=folds, method=method, model=model, random_state=seed, ci=ci
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LlmsdeWarning)
        result = estimator.fit(panel.x, panel.labels)
    for w in caught:
        if issubclass(w.category, LlmsdeWarning):
            render.print_warning(str(w.message))
    usage = None
    if target.is_dir():
        from llmsde import api

        usage = api.load_run_usage(target)
    files = write_fit(result, out if out is not None else default_dir, source=str(target), usage=usage)
    if json_out:
        render.print_json(result.to_dict())
        return
    cols, rows = summary_rows(result)
    render.print_table(f"SDE fit of {target} ({model}, {method})", cols, rows)
    for sf in result.strategies.values():
        render.print_kv(f"{sf.label}: interference and checks", strategy_rows(sf))
    if result.skipped:
        render.print_kv("skipped strategies (not fitted)", skipped_rows(result))
    cols, rows = comparison_rows(result)
    if rows:
        render.print_table("model comparison (* = fitted)", cols, rows)
    render.print_text(f"wrote {files.json_path} and {files.md_path}")


def register(app: typer.Typer) -> None:
    """Add ``fit`` to the app."""
    app.command("fit")(fit)
