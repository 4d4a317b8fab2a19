"""Reading a run directory: its iterations, its usage, its panel. Shared by the other private api modules, which
import it directly (never the :mod:`llmsde.api` facade)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmsde.store.panel import Panel

__all__ = ["is_run", "load_run", "load_run_rows", "load_run_usage"]


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


def is_run(path: Path) -> bool:
    """Whether ``path`` is a run directory (it holds the store)."""
    from llmsde.store.schema import STORE_FILENAME

    return path.is_dir() and (path / STORE_FILENAME).is_file()
