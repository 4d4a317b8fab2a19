"""Fitting a run for a report, the report itself, comparisons of runs or fits, and CI gates."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from llmsde.api._fit import fit_settings
from llmsde.api._store import is_run, load_run, load_run_rows, load_run_usage

if TYPE_CHECKING:
    from llmsde.checks import CheckReport, Comparison
    from llmsde.dynamics import SdeFit
    from llmsde.report.build import ReportFiles

__all__ = ["check", "compare", "fit_run", "report"]


def fit_run(
    run_dir: str | Path, *, n_bootstrap: int | None = None, seed: int | None = None, write: bool = True
) -> SdeFit:
    """Fit a run with its stored ``[fit]`` settings (``n_bootstrap`` and ``seed`` override them when given;
    folds capped by the smallest strategy), writing fit.json and fit.md into the run directory unless ``write``
    is False; what ``report`` and ``compare`` do when a run has no fit yet.

    Numerical warnings are not re-raised here: the fit's ``diagnostics`` and ``notes`` record the same trouble,
    and ``report``/``compare`` must not turn a usable fit into noise on stderr (``llmsde fit`` shows them).
    """
    import warnings

    from llmsde.api._bounded import fit_working
    from llmsde.dynamics import LinearSdeEstimator
    from llmsde.errors import LlmsdeWarning
    from llmsde.report.fit_io import write_fit

    cfg = fit_settings(run_dir, n_bootstrap=n_bootstrap, seed=seed)
    panel = load_run(run_dir)
    smallest = min(panel.labels.count(s) for s in panel.strategies) if panel.labels else 2
    estimator = LinearSdeEstimator(
        n_bootstrap=cfg.n_bootstrap,
        ci_level=cfg.ci_level,
        folds=max(2, min(cfg.folds, smallest)),
        method=cfg.method,
        model="full" if cfg.model == "censored" else cfg.model,
        random_state=cfg.seed,
        ci=cfg.ci,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LlmsdeWarning)
        result = fit_working(
            estimator,
            panel,
            model=cfg.model,
            n_bootstrap=cfg.n_bootstrap,
            folds=estimator.folds,
            seed=cfg.seed,
            rows=load_run_rows(run_dir),
        )
    if write:
        write_fit(result, Path(run_dir), source=str(run_dir), usage=load_run_usage(run_dir))
    return result


def report(
    run_dir: str | Path,
    out: str | Path | None = None,
    formats: tuple[str, ...] = ("html", "md"),
    *,
    n_bootstrap: int | None = None,
    seed: int | None = None,
) -> ReportFiles:
    """Write report.html / report.md and figures for a run (default into ``run_dir/report``); fits the run
    first (and saves fit.json) when it has no fit.json yet. ``n_bootstrap`` and ``seed`` (the fit's and the
    simulated bands') default to the run's stored ``[fit]`` settings."""
    from llmsde.errors import RunDirError
    from llmsde.report.build import ReportInput, write_report
    from llmsde.report.fit_io import FIT_JSON, read_fit
    from llmsde.store.sqlite import RunStore

    path = Path(run_dir)
    if not is_run(path):
        raise RunDirError(f"{path} is not a run directory (no store.sqlite)", "pass runs/<run-id>/ from `llmsde run`")
    seed = fit_settings(path, seed=seed).seed
    fit = read_fit(path) if (path / FIT_JSON).is_file() else fit_run(path, n_bootstrap=n_bootstrap, seed=seed)
    with RunStore.open(path) as store:
        rows = store.iteration_rows()
        manifest = store.manifest()
        counts = store.counts()
        spend = {k: v for k, v in store.usage_by_model().items() if k}
    panel = load_run(path)
    facts = (
        ("run", manifest.run_id),
        ("provider / model", f"{manifest.provider} / {manifest.model}"),
        ("status", f"{manifest.status} (started {manifest.started_at}, ended {manifest.ended_at or '-'})"),
        ("sessions", f"{counts['sessions_done']} done of {counts['sessions']}"),
        ("iterations", f"{counts['iterations']} stored, {counts['failed']} failed"),
        ("sandbox isolation", manifest.isolation_level or "unknown"),
    )
    surrogate = manifest.provider == "surrogate"
    notes = ("The surrogate provider is an offline simulator, not an LLM.",) if surrogate else ()
    title = f"llmsde report: {manifest.run_id}"
    if len(spend) > 1:  # per-task and usage tables group by MODEL/STRATEGY, as the fit does
        rows = [{**r, "strategy": f"{r['model']}/{r['strategy']}"} for r in rows]
    inp = ReportInput(fit, panel.x, panel.labels, rows, facts, title, seed, notes, spend)
    return write_report(inp, Path(out) if out is not None else path / "report", formats)


def compare(
    a: str | Path, b: str | Path, *, n_bootstrap: int = 200, seed: int | None = None, out: str | Path | None = None
) -> Comparison:
    """B minus A per strategy: bootstrap CIs when both are run directories, else conservative stored CIs
    (each side a fit.json, or a directory holding one; a run without fit.json is fitted first).

    Two runs are resampled with the baseline A's stored ``[fit]`` method, model, CI level and seed (``seed``
    overrides it), each from its own independent stream. ``out``: also write the Markdown there (atomically).
    """
    from llmsde._atomic import write_text_atomic
    from llmsde.checks import COMPARED_METRICS, bootstrap_metrics, compare_draws, compare_fits, independent_streams
    from llmsde.report.fit_io import FIT_JSON, read_fit

    pa, pb = Path(a), Path(b)
    na, nb = (str(p.resolve().parent.name if p.is_file() else p.resolve().name) for p in (pa, pb))
    result: Comparison
    if is_run(pa) and is_run(pb):
        cfg = fit_settings(pa, seed=seed)
        draws = []
        for p, stream in zip((pa, pb), independent_streams(cfg.seed, 2), strict=True):
            panel = load_run(p)
            draws.append(
                bootstrap_metrics(
                    panel.x, panel.labels, COMPARED_METRICS, n_bootstrap, stream, method=cfg.method, model=cfg.model
                )
            )
        result = compare_draws(draws[0], draws[1], na, nb, ci_level=cfg.ci_level)
    else:

        def resolve(p: Path) -> SdeFit:
            if is_run(p) and not (p / FIT_JSON).is_file():
                return fit_run(p, seed=seed)
            return read_fit(p)

        result = compare_fits(resolve(pa), resolve(pb), na, nb)
    if out is not None:
        write_text_atomic(out, result.to_markdown())
    return result


def check(fit: str | Path, rules: str | Path, baseline: str | Path | None = None) -> CheckReport:
    """Evaluate a rules TOML against a fit.json (or a run directory holding one), optionally against a
    baseline fit; a failed gate is a result (``CheckReport.passed``), an invalid rules file a ConfigError."""
    from llmsde.checks import evaluate_rules, load_rules
    from llmsde.report.fit_io import read_fit

    current = read_fit(fit)
    base = read_fit(baseline) if baseline is not None else None
    parsed = load_rules(rules, known_strategies=list(current.strategies))
    return evaluate_rules(parsed, current, base)
