"""The public Python API: what the CLI calls, and what a notebook or script should call.

A facade over the layers below: it returns objects and never prints, prompts or exits. The functions live in
private modules of this package (``_study``, ``_store``, ``_fit``, ``_bounded``, ``_analysis``, ``_models``,
``_runs``, ``_tasks``), which import each other directly and never this facade (tests/test_architecture.py
checks it); names outside ``__all__`` may change freely. Heavy libraries are imported inside the functions, so
importing this package (the CLI does at start-up) stays cheap.
"""

from __future__ import annotations

from llmsde.api._analysis import check, compare, fit_run, report
from llmsde.api._bounded import fit_bounded_tables
from llmsde.api._fit import (
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
from llmsde.api._models import DryRunPlan, compare_models, dry_run
from llmsde.api._runs import export_run, rescore_run, run_counts, serve
from llmsde.api._store import load_run, load_run_rows, load_run_usage
from llmsde.api._study import resume_run, run_study, score_file
from llmsde.api._tasks import TaskView, convert_tasks, import_tasks, list_tasks, show_task
from llmsde.config import StudyConfig
from llmsde.runner.events import Progress
from llmsde.runner.study import RunStart, RunSummary

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
