"""llmsde: iterative LLM code-refinement studies and the SDE dynamics of their scores.

The public API lives in :mod:`llmsde.api` and is re-exported here lazily, so ``import llmsde`` (and the CLI's
``--help``) does not pay for pydantic, numpy or the runner until a name is used::

    import llmsde
    summary = llmsde.run_study(llmsde.StudyConfig(sessions=2, iterations=3))
    panel = llmsde.load_run(summary.run_dir)
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_API_NAMES = (
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
    "convert_tasks",
    "export_run",
    "fit",
    "fit_comparison_rows",
    "fit_run",
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
)

__all__ = sorted([*_API_NAMES, "__version__"])


def __getattr__(name: str) -> Any:
    if name in _API_NAMES:
        module = importlib.import_module("llmsde.api")
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'llmsde' has no attribute {name!r}")
