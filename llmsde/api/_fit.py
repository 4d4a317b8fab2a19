"""The fit-side public API (``fit``, ``simulate``, ``calibrate`` and the fit table rows), re-exported by
:mod:`llmsde.api`.

Kept apart from api.py so the facade stays short; like it, this module returns objects and never prints, and
imports numpy, the estimator and the report writers only inside the functions, so importing it is free.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmsde.config import FitConfig
    from llmsde.dynamics import CalibrationResult, SdeFit, SimulationResult, StrategyFit, Truth
    from llmsde.errors import LlmsdeWarning
    from llmsde.report.fit_io import FitFiles
    from llmsde.store.panel import Panel

__all__ = [
    "FitOutcome",
    "SimulationOutcome",
    "calibrate",
    "calibration_rows",
    "fit",
    "fit_comparison_rows",
    "fit_settings",
    "fit_skipped_rows",
    "fit_strategy_rows",
    "fit_summary_rows",
    "simulate",
]


@dataclass(frozen=True, slots=True)
class FitOutcome:
    """What :func:`fit` produced.

    The warnings are caught rather than shown because only the caller knows how to show them (the CLI prints
    each on stderr; a notebook may collect them).
    """

    fit: SdeFit
    files: FitFiles
    """fit.json and fit.md as written."""
    warnings: tuple[LlmsdeWarning, ...]
    """Numerical warnings raised while fitting (boundary estimates, dropped sessions, ...), in order."""
    usage: dict[str, Any] | None
    """The run's model-call totals; None when the target was a panel file."""


@dataclass(frozen=True, slots=True)
class SimulationOutcome:
    """What :func:`simulate` produced: the simulated paths and summaries, and every file written."""

    result: SimulationResult
    files: tuple[Path, ...]


def fit_settings(target: str | Path | None = None, **flags: Any) -> FitConfig:
    """The fit settings for ``target``: each flag that is not None, else the ``[fit]`` table of the run's stored
    config when ``target`` is a run directory, else the defaults of :class:`~llmsde.config.FitConfig`.

    Flags are not validated here: the estimator checks every value and says which flag is wrong.
    """
    from llmsde.config import FitConfig, build_config
    from llmsde.store.schema import STORE_FILENAME

    stored = FitConfig()
    path = Path(target) if target is not None else None
    if path is not None and path.is_dir() and (path / STORE_FILENAME).is_file():
        from llmsde.store import RunStore

        with RunStore.open(path) as store:
            config = store.manifest().config
        table = config.get("fit") if isinstance(config, dict) else None
        stored = build_config({"fit": table or {}}, source=f"{path} (stored config)").fit
    return stored.model_copy(update={k: v for k, v in flags.items() if v is not None})


def _load_panel(target: Path) -> tuple[Panel, Path]:
    """The panel of a run directory or panel file, and the default output directory for its fit."""
    from llmsde.errors import FitInputError

    if target.is_dir():
        from llmsde.api._store import load_run

        return load_run(target), target
    if target.is_file():
        from llmsde.store.panel import read_panel_file

        return read_panel_file(target), target.parent
    raise FitInputError(
        f"{target} is neither a run directory nor a panel file",
        "pass runs/<run-id>/ or a .csv/.jsonl/.parquet file with columns "
        "session,strategy,k,security,efficiency,functionality",
    )


def fit(
    target: str | Path,
    *,
    n_bootstrap: int | None = None,
    folds: int | None = None,
    method: str | None = None,
    model: str | None = None,
    ci: str | None = None,
    seed: int | None = None,
    ci_level: float | None = None,
    out: str | Path | None = None,
    thresholds: str | Sequence[float] | None = None,
    horizon: int | None = None,
) -> FitOutcome:
    """Fit one linear SDE per strategy to a run directory or a panel file (.csv/.jsonl/.parquet) and write
    fit.json and fit.md (into ``out``, default the run directory or the panel file's directory).

    A setting left None comes from the run's stored ``[fit]`` table, else the default (:func:`fit_settings`).
    Unlike :func:`llmsde.api.fit_run`, the warnings are returned. ``model="censored"`` adds the bounded (Tobit)
    fit beside the full linear one; ``thresholds`` (S,E,F, default 5 each) are its first-passage levels over
    ``horizon`` iterations (default the panel's). Broken states are left out of the SDE and reported as
    breakage.
    """
    import warnings

    from llmsde.api._bounded import fit_working, parse_thresholds
    from llmsde.api._store import load_run_rows as api_rows
    from llmsde.dynamics import LinearSdeEstimator
    from llmsde.errors import LlmsdeWarning
    from llmsde.report.fit_io import write_fit

    path = Path(target)
    thr = parse_thresholds(thresholds)
    panel, default_dir = _load_panel(path)
    cfg = fit_settings(
        path, n_bootstrap=n_bootstrap, folds=folds, method=method, model=model, ci=ci, seed=seed, ci_level=ci_level
    )
    model = cfg.model
    seed = cfg.seed
    linear = "full" if cfg.model == "censored" else cfg.model
    estimator = LinearSdeEstimator(
        n_bootstrap=cfg.n_bootstrap,
        ci_level=cfg.ci_level,
        folds=cfg.folds,
        method=cfg.method,
        model=linear,
        random_state=cfg.seed,
        ci=cfg.ci,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LlmsdeWarning)
        rows = api_rows(path) if path.is_dir() else []
        result = fit_working(
            estimator,
            panel,
            model=model,
            n_bootstrap=cfg.n_bootstrap,
            folds=cfg.folds,
            seed=seed,
            thresholds=thr,
            rows=rows,
            horizon=horizon,
        )
    found = tuple(w.message for w in caught if isinstance(w.message, LlmsdeWarning))
    usage = None
    if path.is_dir():
        from llmsde.api._store import load_run_usage

        usage = load_run_usage(path)
    files = write_fit(result, Path(out) if out is not None else default_dir, source=str(target), usage=usage)
    return FitOutcome(result, files, found, usage)


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
    fit_file: str | Path,
    strategy: str,
    *,
    start: str | Sequence[float] | None = None,
    steps: int = 10,
    paths: int = 1000,
    seed: int = 0,
    out: str | Path | None = None,
    plot: bool = False,
    fmt: str = "csv",
    clip: str = "clip",
    model: str = "linear",
) -> SimulationOutcome:
    """Euler-Maruyama paths of one fitted strategy of a fit.json (or its directory): write the paths, mean and
    quantile bands as csv or parquet (and a PNG with ``plot``) into ``out`` (default ``simulate_<strategy>``
    next to the fit).

    ``start`` is the state S,E,F to start from (a sequence, or the CLI's ``"5,4.5,8"`` text); default the fit's
    mean x_0. The fit is read and the strategy and format checked before ``start`` is parsed.
    ``model="censored"`` simulates the fit's censored model (clipped by the rule it was fitted with, ``clip`` is
    ignored), with break and repair events when the fit has breakage rates for the strategy.
    """
    from llmsde.dynamics import simulate as run_simulation
    from llmsde.errors import FitInputError
    from llmsde.report.fit_io import read_fit
    from llmsde.report.simulation_out import write_simulation, write_simulation_plot

    source = Path(fit_file)
    fitted = read_fit(source)
    if strategy not in fitted.strategies and strategy not in fitted.censored:
        known = ", ".join(fitted.strategies)
        raise FitInputError(f"strategy {strategy!r} is not in {fit_file}", f"known: {known}")
    if fmt not in ("csv", "parquet"):
        raise FitInputError(f"--format must be csv or parquet; got {fmt!r}", "e.g. --format csv")
    x0 = _parse_state(start) if isinstance(start, str) else start
    dt = float(fitted.meta.get("dt", 1.0))
    if model == "censored":
        from llmsde.dynamics import simulate_censored

        if strategy not in fitted.censored:
            raise FitInputError(f"{fit_file} has no censored fit of {strategy!r}", "refit with --model censored")
        brk = fitted.breakage.get(strategy)
        sim = simulate_censored(fitted.censored[strategy], x0, steps=steps, paths=paths, seed=seed, breakage=brk)
        clip = "censored"
    elif model != "linear":
        raise FitInputError(f"--model must be linear or censored; got {model!r}", "e.g. --model censored")
    elif strategy not in fitted.strategies:
        raise FitInputError(f"{fit_file} has no linear fit of {strategy!r}", "simulate it with --model censored")
    else:
        sim = run_simulation(fitted.strategies[strategy], x0, steps=steps, paths=paths, seed=seed, clip=clip, dt=dt)
    base = source if source.is_dir() else source.parent
    out_dir = Path(out) if out is not None else base / f"simulate_{strategy}"
    written = write_simulation(sim, out_dir, fmt)
    if plot:
        title = f"{strategy}: {paths} paths, clip={clip}"
        written.append(write_simulation_plot(sim, out_dir / "simulation.png", title))
    return SimulationOutcome(sim, tuple(written))


def calibrate(
    truth: str | Path | Truth | None = None,
    sessions: int = 100,
    iterations: int = 10,
    replications: int = 200,
    n_bootstrap: int = 500,
    seed: int = 0,
    *,
    ci: str = "percentile",
    method: str = "em",
    on_progress: Callable[[int], None] | None = None,
    model: str = "linear",
) -> CalibrationResult:
    """Check the estimator on simulated panels: bias, RMSE and CI coverage of rho, A, b and Sigma.

    ``model="censored"`` simulates panels clipped to [0, 10] and fits both the censored and the linear
    estimator (rows ``"<strategy> censored"`` and ``"<strategy> linear"``, plus the equilibrium).

    ``truth`` is a truth.json path (the shape ``llmsde calibrate --json`` prints under ``truth``), a
    :class:`~llmsde.dynamics.Truth`, or None for the DESIGN.md reference parameters. ``on_progress(done)`` is
    called after each replication. ``method`` (``em`` or ``exact``) is both the model the panels are simulated
    with and the one fitted.
    """
    import json

    from llmsde.dynamics import Truth
    from llmsde.dynamics import calibrate as run_calibration
    from llmsde.errors import FitInputError

    if truth is None or isinstance(truth, Truth):
        known = truth
    else:
        path = Path(truth)
        if not path.is_file():
            raise FitInputError(
                f"truth file not found: {path}", "pass a JSON file like `llmsde calibrate --json`'s truth"
            )
        try:
            known = Truth.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except json.JSONDecodeError as err:
            raise FitInputError(f"{path} is not valid JSON: {err}", "fix the file") from None
    if model == "censored":
        from llmsde.dynamics import calibrate_censored

        return calibrate_censored(known, sessions, iterations, replications, n_bootstrap, seed, on_progress=on_progress)
    if model != "linear":
        raise FitInputError(f"--model must be linear or censored; got {model!r}", "e.g. --model censored")
    return run_calibration(
        known, sessions, iterations, replications, n_bootstrap, seed, ci=ci, method=method, on_progress=on_progress
    )


def fit_summary_rows(fit: SdeFit) -> tuple[tuple[str, ...], list[list[str]]]:
    """Columns (metric, then one per strategy) and rows of a fit's summary table (DESIGN.md section 6)."""
    from llmsde.report.fit_tables import summary_rows

    return summary_rows(fit)


def fit_strategy_rows(sf: StrategyFit) -> list[tuple[str, str]]:
    """Key/value rows of one fitted strategy: interference views, baselines and diagnostics."""
    from llmsde.report.fit_tables import strategy_rows

    return strategy_rows(sf)


def fit_skipped_rows(fit: SdeFit) -> list[tuple[str, str]]:
    """(strategy, reason) for every strategy the fit could not fit."""
    from llmsde.report.fit_tables import skipped_rows

    return skipped_rows(fit)


def fit_comparison_rows(fit: SdeFit) -> tuple[tuple[str, ...], list[list[str]]]:
    """Columns and rows of the model-comparison table; the fitted model is marked with '*'."""
    from llmsde.report.fit_tables import comparison_rows

    return comparison_rows(fit)


def calibration_rows(result: CalibrationResult) -> tuple[tuple[str, ...], list[list[str]]]:
    """Columns and one row per (strategy, parameter) of a calibration: max |bias|, mean RMSE, CI coverage."""
    from llmsde.report.fit_tables import calibration_rows as rows

    return rows(result)
