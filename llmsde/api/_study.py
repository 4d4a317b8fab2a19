"""Running and resuming a study, and scoring one file as a study would."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmsde.config import StudyConfig, build_config
from llmsde.runner.events import ProgressCallback
from llmsde.runner.study import RunStart, RunSummary

if TYPE_CHECKING:
    from llmsde.scoring.result import ScoreResult

__all__ = ["resume_run", "run_study", "score_file"]


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
