"""The model-comparison side of the public API (``dry_run``, ``compare_models``), re-exported by
:mod:`llmsde.api`.

Like the facade it returns objects and never prints; the runner and the checks are imported inside the
functions, except the small :class:`~llmsde.runner.dryrun.DryRunPlan` type the CLI prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmsde.config import StudyConfig, build_config
from llmsde.runner.dryrun import DryRunPlan

if TYPE_CHECKING:
    from llmsde.checks import ModelComparison

__all__ = ["DryRunPlan", "compare_models", "dry_run"]


def dry_run(config: StudyConfig | None = None) -> DryRunPlan:
    """Plan a study without calling any model or writing anything: per model the sessions, calls, estimated
    prompt and completion tokens, cost (None without prices) and wall time (see docs/models.md)."""
    from llmsde.runner.dryrun import plan_study

    return plan_study(config or build_config({}))


def compare_models(
    run_dir: str | Path, *, n_bootstrap: int = 200, seed: int = 0, out: str | Path | None = None
) -> ModelComparison:
    """Within one multi-model run: per strategy and metric, each later model minus each earlier one, with
    paired bootstrap CIs that resample tasks jointly across the models (see docs/models.md). ``out``: also write
    the Markdown there (atomically)."""
    from llmsde._atomic import write_text_atomic
    from llmsde.checks import compare_models_paired
    from llmsde.errors import RunDirError
    from llmsde.store import RunStore
    from llmsde.store.panel import panel_from_records
    from llmsde.store.schema import STORE_FILENAME

    path = Path(run_dir)
    if not (path / STORE_FILENAME).is_file():
        raise RunDirError(f"{path} is not a run directory (no store.sqlite)", "pass runs/<run-id>/ from `llmsde run`")
    with RunStore.open(path) as store:
        rows = store.iteration_rows()
    panel = panel_from_records(rows)
    first: dict[str, dict[str, Any]] = {}
    for row in rows:
        first.setdefault(row["session"], row)
    strategies = [str(first[s]["strategy"]) for s in panel.session_ids]
    tasks = [str(first[s]["task"]) for s in panel.session_ids]
    models = list(panel.models) or [""] * len(strategies)
    result = compare_models_paired(panel.x, models, strategies, tasks, n_bootstrap=n_bootstrap, seed=seed)
    if out is not None:
        write_text_atomic(out, result.to_markdown())
    return result
