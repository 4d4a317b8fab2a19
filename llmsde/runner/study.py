"""Start or resume a whole study: resolve the config into parts, create or open the run, execute, summarise.

Everything that can be wrong with the input (unknown task, strategy or provider, missing isolation) is checked
before the run directory is created, so a bad command leaves nothing behind. Providers, tasks and the scorer
are imported inside the functions: this module is imported when the CLI starts, and ``--help`` must stay fast.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import platform
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from llmsde.config import StudyConfig, build_config
from llmsde.errors import RunDirError
from llmsde.providers.base import Provider
from llmsde.runner.events import ProgressCallback
from llmsde.runner.plan import plan_sessions
from llmsde.runner.scheduler import RunOutcome, execute_run
from llmsde.runner.session import ScorerLike, StrategyLike
from llmsde.store.sqlite import RunManifest, RunStore
from llmsde.tasks.model import Task

LOCK_FILENAME = "run.lock"

__all__ = ["RunStart", "RunSummary", "new_run_id", "resume_study", "start_study"]


@dataclass(frozen=True, slots=True)
class RunStart:
    """Sent to ``on_start`` once the run directory exists and the sandbox is ready."""

    run_dir: str
    sessions_total: int
    iterations_total: int
    isolation_level: str
    isolation_warnings: tuple[str, ...]
    resumed: bool


@dataclass(frozen=True, slots=True)
class RunSummary:
    """How an invocation of ``run`` ended; counts cover the whole run, ``new_iterations`` this invocation."""

    run_dir: str
    run_id: str
    status: str
    """``complete``; ``incomplete`` when sessions wait for an endpoint that failed (resumable, CLI exit 1); or
    ``stopped`` when interrupted (resumable)."""
    sessions: int
    sessions_done: int
    iterations: int
    failed_iterations: int
    new_iterations: int
    wall_s: float
    isolation_level: str
    isolation_warnings: tuple[str, ...]
    resumed: bool
    usage: dict[str, Any] = field(default_factory=dict)
    """Totals over the run's model calls: ``calls``, ``prompt_tokens``, ``completion_tokens``, ``retries``,
    ``mean_latency_s``, ``cost_usd`` (None without prices); see :meth:`RunStore.usage_totals`."""
    sessions_waiting: tuple[str, ...] = ()
    """Sessions stopped by an endpoint failure in this invocation; ``--resume`` redoes their next iteration."""
    endpoint_error: str | None = None
    """The last endpoint failure (one line) when sessions wait."""
    concurrency: dict[str, Any] = field(default_factory=dict)
    """``sessions``: the ceiling of sessions in flight; ``endpoints``: per endpoint, the requests in flight its
    adaptive limit ``settled`` on, its ``ceiling``, ``peak_in_flight``, ``overloads`` and ``timeouts``."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (the ``--json`` output of ``llmsde run``)."""
        data = asdict(self)
        data["isolation_warnings"] = list(self.isolation_warnings)
        data["sessions_waiting"] = list(self.sessions_waiting)
        return data


@dataclass(frozen=True, slots=True)
class _Parts:
    tasks: dict[str, Task]
    strategies: dict[str, StrategyLike]


def new_run_id() -> str:
    """``<UTC timestamp>-<6 hex>``: sorts by start time, and random bits keep same-second runs apart."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{hashlib.sha256(os.urandom(16)).hexdigest()[:6]}"


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "platform": platform.platform()}
    for dist in ("llmsde", "bandit", "radon", "openai", "numpy"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    return versions


def _resolve(config: StudyConfig, task_ids: set[str] | None = None) -> _Parts:
    """Tasks and strategies the config names; unknown names raise ConfigError listing the valid ones."""
    from llmsde.tasks import load_tasks
    from llmsde.tasks.strategies import get_strategy

    strategies: dict[str, StrategyLike] = {
        name: get_strategy(name, config.custom_strategies) for name in config.strategies
    }
    tasks = {t.id: t for t in load_tasks(config.tasks)}
    missing = sorted((task_ids or set()) - set(tasks))
    if missing:
        raise RunDirError(
            f"the run's tasks {', '.join(missing)} are no longer available from {config.tasks}",
            "restore the task files the run was started with",
        )
    return _Parts(tasks, strategies)


def _provider(config: StudyConfig) -> Provider:
    from llmsde.providers import make_provider

    return make_provider(config.provider, config.seed)


@contextmanager
def _exclusive(run_dir: Path) -> Iterator[None]:
    """Hold an advisory lock on the run for as long as this process writes it.

    Two processes resuming one run would race for the same (session, k); the kernel drops the lock when the
    holder dies, even by SIGKILL, so a crashed run never stays locked.
    """
    import fcntl

    with open(run_dir / LOCK_FILENAME, "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunDirError(
                f"run {run_dir} is being written by another llmsde process",
                "wait for it to finish, or stop it and resume",
            ) from None
        yield


@contextmanager
def _scorer(config: StudyConfig) -> Iterator[Any]:
    from llmsde.scoring import Scorer

    with Scorer(config.scoring, config.sandbox) as scorer:
        yield scorer


def _concurrency(config: StudyConfig, providers: Iterable[Provider]) -> dict[str, Any]:
    """The session ceiling and, per endpoint that reports one, the concurrency its adaptive limit settled on.

    An endpoint's ceiling is the lower of its ``max_in_flight`` and the sessions in flight (``--concurrency``):
    each session has at most one call in flight.
    """
    endpoints = []
    for provider in providers:
        report = getattr(provider, "concurrency_report", None)
        if callable(report):
            endpoint = report()
            endpoint["ceiling"] = min(endpoint["ceiling"], config.concurrency)
            endpoint["settled"] = min(endpoint["settled"], endpoint["ceiling"])
            endpoints.append(endpoint)
    return {"sessions": config.concurrency, "endpoints": endpoints}


def _execute(
    store: RunStore,
    config: StudyConfig,
    parts: _Parts,
    scorer: ScorerLike,
    provider: Provider,
    on_progress: ProgressCallback | None,
) -> RunOutcome:
    from llmsde.scoring.extract import extract_code

    async def main() -> RunOutcome:
        try:
            return await execute_run(
                store,
                config,
                provider,
                scorer,
                extract_code,
                parts.tasks,
                parts.strategies,
                on_progress=on_progress,
            )
        finally:
            await provider.aclose()

    try:
        outcome = asyncio.run(main())
    except BaseException:
        store.finish("stopped")
        raise
    store.finish("incomplete" if outcome.waiting else "complete")
    return outcome


def _summary(
    store: RunStore, new: int, started: float, resumed: bool, outcome: RunOutcome | None = None, **extra: Any
) -> RunSummary:
    counts, manifest = store.counts(), store.manifest()
    return RunSummary(
        run_dir=str(store.run_dir),
        run_id=manifest.run_id,
        status=manifest.status,
        sessions=counts["sessions"],
        sessions_done=counts["sessions_done"],
        iterations=counts["iterations"],
        failed_iterations=counts["failed"],
        new_iterations=new,
        wall_s=round(time.perf_counter() - started, 3),
        isolation_level=manifest.isolation_level or "unknown",
        isolation_warnings=manifest.isolation_warnings,
        resumed=resumed,
        usage=store.usage_totals(),
        sessions_waiting=outcome.waiting if outcome else (),
        endpoint_error=outcome.endpoint_error if outcome else None,
        **extra,
    )


def _run(
    store: RunStore,
    config: StudyConfig,
    parts: _Parts,
    scorer: Any,
    provider: Provider,
    resumed: bool,
    on_start: Callable[[RunStart], None] | None,
    on_progress: ProgressCallback | None,
) -> RunSummary:
    started = time.perf_counter()
    before = store.counts()["iterations"]
    level, warnings = str(scorer.isolation.level), tuple(str(w) for w in scorer.isolation.warnings)
    store.set_isolation(level, warnings)
    if on_start is not None:
        n = store.counts()["sessions"]
        on_start(RunStart(str(store.run_dir), n, n * (config.iterations + 1), level, warnings, resumed))
    outcome = _execute(store, config, parts, scorer, provider, on_progress)
    new = store.counts()["iterations"] - before
    return _summary(store, new, started, resumed, outcome, concurrency=_concurrency(config, [provider]))


def start_study(
    config: StudyConfig,
    *,
    on_start: Callable[[RunStart], None] | None = None,
    on_progress: ProgressCallback | None = None,
) -> RunSummary:
    """Create ``<config.out>/<run-id>/`` and run the whole study in it."""
    parts = _resolve(config)
    plan = plan_sessions(config.strategies, list(parts.tasks), config.sessions, config.seed)
    with _scorer(config) as scorer:
        provider = _provider(config)
        snapshot = config.model_dump(mode="json", by_alias=True)
        run_id = new_run_id()
        manifest = RunManifest(
            run_id=run_id,
            config=snapshot,
            versions=_versions(),
            provider=config.provider.name,
            model=config.provider.model,
            base_url=config.provider.base_url,
            seed=config.seed,
        )
        with (
            RunStore.create(Path(config.out) / run_id, snapshot, manifest) as store,
            _exclusive(store.run_dir),
        ):
            store.add_sessions(plan)
            return _run(store, config, parts, scorer, provider, False, on_start, on_progress)


def resume_study(
    run_dir: str | Path,
    *,
    concurrency: int | None = None,
    on_start: Callable[[RunStart], None] | None = None,
    on_progress: ProgressCallback | None = None,
) -> RunSummary:
    """Finish a stopped run with its stored config; only the concurrency may change."""
    with RunStore.open(run_dir) as store, _exclusive(store.run_dir):
        data = store.manifest().config
        if concurrency is not None:
            data = {**data, "concurrency": concurrency}
        config = build_config(json.loads(json.dumps(data)), source=f"{run_dir} (stored config)")
        counts = store.counts()
        if counts["sessions_done"] == counts["sessions"]:
            if store.manifest().status != "complete":
                store.finish("complete")
            return _summary(store, 0, time.perf_counter(), True)
        parts = _resolve(config, {s.task_id for s in store.sessions()})
        with _scorer(config) as scorer:
            provider = _provider(config)
            store.mark_resumed()
            return _run(store, config, parts, scorer, provider, True, on_start, on_progress)
