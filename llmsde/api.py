"""The public Python API: what the CLI calls, and what a notebook or script should call.

A thin facade over the layers below: it returns objects and never prints, prompts or exits. Heavy libraries
are imported inside the functions so that importing this module (the CLI does at start-up) stays cheap. The
fit, run and task functions live in the private ``_api_fit``, ``_api_runs`` and ``_api_tasks`` modules (to keep
this file short) and are re-exported here; this module is the one to import.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmsde._api_bounded import fit_bounded_tables
from llmsde._api_fit import (
    FitOutcome,
    SimulationOutcome,
    calibrate,
    calibration_rows,
    fit,
    fit_comparison_rows,
    fit_settings,
    fit_skipped_rows,
    fit_strategy_rows,
    fit_summary_rows,
    simulate,
)
from llmsde._api_models import DryRunPlan, compare_models, dry_run
from llmsde._api_runs import export_run, rescore_run, run_counts, serve
from llmsde._api_tasks import TaskView, convert_tasks, import_tasks, list_tasks, show_task
from llmsde.config import StudyConfig, build_config
from llmsde.runner.events import Progress, ProgressCallback
from llmsde.runner.study import RunStart, RunSummary

if TYPE_CHECKING:
    from llmsde.checks import CheckReport, Comparison
    from llmsde.dynamics import SdeFit
    from llmsde.report.build import ReportFiles
    from llmsde.scoring.result import ScoreResult
    from llmsde.store.panel import Panel

__all__ = [
    "DryRunPlan",
    "FitOutcome",
    "Progress",
    "RunStart",
    "RunSummary",
    "SimulationOutcome",
    "StudyConfig",
    "TaskView",
    "calibrate",
    "calibration_rows",
    "check",
    "compare",
    "compare_models",
    "convert_tasks",
    "dry_run",
    "export_run",
    "fit",
    "fit_bounded_tables",
    "fit_comparison_rows",
    "fit_run",
    "fit_settings",
    "fit_skipped_rows",
    "fit_strategy_rows",
    "fit_summary_rows",
    "import_tasks",
    "list_tasks",
    "load_run",
    "load_run_rows",
    "load_run_usage",
    "report",
    "rescore_run",
    "resume_run",
    "run_counts",
    "run_study",
    "score_file",
    "serve",
    "show_task",
    "simulate",
]


def run_study(
    config: StudyConfig | None = None,
    *,
    on_start: Callable[[RunStart], None] | None = None,
    on_progress: ProgressCallback | None = None,
) -> RunSummary:
    """Run a study (default: the offline demo) into a new ``<config.out>/<run-id>/`` directory.

    Raises ConfigError / SandboxError before anything is written when the config cannot run. When the endpoint
    fails (after its retries), the sessions it failed stop without committing that iteration and the summary's
    ``status`` is ``incomplete`` (``sessions_waiting`` names them); :func:`resume_run` redoes exactly those.
    """
    from llmsde.runner.study import start_study

    return start_study(config or build_config({}), on_start=on_start, on_progress=on_progress)


def resume_run(
    run_dir: str | Path,
    *,
    concurrency: int | None = None,
    max_cost_usd: float | None = None,
    executor: dict[str, Any] | None = None,
    on_start: Callable[[RunStart], None] | None = None,
    on_progress: ProgressCallback | None = None,
) -> RunSummary:
    """Finish a stopped or killed run exactly where it stopped, with its stored config (only the concurrency
    and the budget for the run's total spend and the ``[executor]`` keys may change); every (session, k) ends up
    in the store exactly once."""
    from llmsde.runner.study import resume_study

    return resume_study(
        run_dir,
        concurrency=concurrency,
        max_cost_usd=max_cost_usd,
        executor=executor,
        on_start=on_start,
        on_progress=on_progress,
    )


def score_file(code_file: str | Path, task_id: str, config: str | Path | None = None) -> ScoreResult:
    """Score one source file against one task, exactly as a study scores an iteration.

    ``config`` (a study TOML) supplies the ``[scoring]`` and ``[sandbox]`` tables and the task sources; without it
    the defaults and the built-in suite are used.
    """
    from llmsde.config import load_config
    from llmsde.errors import ConfigError
    from llmsde.scoring import Scorer
    from llmsde.tasks import load_tasks

    path = Path(code_file)
    if not path.is_file():
        raise ConfigError(f"code file not found: {path}", "pass the path of a Python source file")
    try:
        code = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text", "save the file as UTF-8") from None
    study = load_config(config)
    task = next(t for t in load_tasks([*study.tasks, task_id]) if t.id == task_id)
    with Scorer(study.scoring, study.sandbox) as scorer:
        return scorer.score(code, task)


def load_run_rows(run_dir: str | Path) -> list[dict[str, Any]]:
    """Every stored iteration as a dict (session, strategy, task, k, security, efficiency, functionality,
    ...)."""
    from llmsde.store.sqlite import RunStore

    with RunStore.open(run_dir) as store:
        return store.iteration_rows()


def load_run_usage(run_dir: str | Path) -> dict[str, Any]:
    """Totals over a run's model calls: calls, prompt/completion tokens, retries, mean latency, cost (or None);
    a multi-model run adds ``by_model`` (label -> the same totals)."""
    from llmsde.runner.budget import run_usage
    from llmsde.store import RunStore

    with RunStore.open(run_dir) as store:
        return run_usage(store)


def load_run(run_dir: str | Path) -> Panel:
    """The run's score trajectories as a :class:`~llmsde.store.panel.Panel` (sessions x steps x
    objectives)."""
    from llmsde.store.panel import panel_from_records

    return panel_from_records(load_run_rows(run_dir))


def _is_run(path: Path) -> bool:
    from llmsde.store.schema import STORE_FILENAME

    return path.is_dir() and (path / STORE_FILENAME).is_file()


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

    from llmsde._api_bounded import fit_working
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
    if not _is_run(path):
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
    if _is_run(pa) and _is_run(pb):
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
            if _is_run(p) and not (p / FIT_JSON).is_file():
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
