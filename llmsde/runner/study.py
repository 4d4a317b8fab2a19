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
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from llmsde.config import ProviderConfig, StudyConfig, build_config
from llmsde.errors import BudgetExceeded, RunDirError
from llmsde.providers.base import Provider
from llmsde.runner.budget import run_usage, spend_text
from llmsde.runner.events import ProgressCallback
from llmsde.runner.executors import Executor, common_isolation, open_executor
from llmsde.runner.plan import plan_sessions
from llmsde.runner.scheduler import RunOutcome, execute_run
from llmsde.runner.session import StrategyLike
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
    executor: str = "local"
    workers: tuple[str, ...] = ()
    """``<label> <isolation level>`` of every scoring worker (one for ``local``, one per actor on Ray)."""


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
    ``mean_latency_s``, ``cost_usd`` (None without prices); see :meth:`RunStore.usage_totals`. A multi-model
    run adds ``by_model``: label -> the same totals for that model's calls."""
    executor: str = "local"
    workers: tuple[str, ...] = ()
    """``<label> <isolation level>`` of each worker that scored in this invocation."""
    sessions_waiting: tuple[str, ...] = ()
    """Sessions stopped by an endpoint failure in this invocation; ``--resume`` redoes their next iteration."""
    endpoint_error: str | None = None
    """The last endpoint failure (one line) when sessions wait."""
    concurrency: dict[str, Any] = field(default_factory=dict)
    """``sessions``: the ceiling of sessions in flight (per model); ``endpoints``: per endpoint, the requests in
    flight its adaptive limit ``settled`` on, its ``ceiling``, ``peak_in_flight``, ``overloads`` and
    ``timeouts``."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (the ``--json`` output of ``llmsde run``)."""
        data = asdict(self)
        data["isolation_warnings"] = list(self.isolation_warnings)
        data["workers"] = list(self.workers)
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


def _versions(executor: Executor | None = None) -> dict[str, str]:
    """Versions of what produced the run; for a Ray run also Ray's and every scoring worker with its isolation."""
    versions = {"python": platform.python_version(), "platform": platform.platform()}
    if executor is not None and executor.kind != "local":
        versions["executor"] = executor.kind
        versions["workers"] = "; ".join(_worker_lines(executor))
    dists = ("llmsde", "bandit", "radon", "openai", "numpy", *(("ray",) if executor and executor.kind == "ray" else ()))
    for dist in dists:
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


def _providers(config: StudyConfig, spent_usd: float = 0.0) -> dict[str, Provider]:
    """One provider per model (so one set of limits, retries and breaker per endpoint), each checked by its
    preflight call, budgeted when ``max_cost_usd`` is set; raises ConfigError for a model that cannot be built,
    is refused by its endpoint, or cannot be budgeted, before anything is written."""
    from llmsde.providers import make_provider
    from llmsde.runner.budget import budget_providers

    settings = config.model_providers()
    built = {label: make_provider(pcfg, config.seed) for label, pcfg in settings.items()}
    for label, provider in built.items():
        _preflight(settings[label], provider)
    return budget_providers(config, built, spent_usd)[0]


@contextmanager
def _endpoint(config: StudyConfig, stored_model: str | None = None) -> Iterator[StudyConfig]:
    """The config the run executes with: for ``--provider local`` the model is served for the duration (and
    the provider config points at that server; a resume must find the file it started with); other providers
    pass through. A local model is served for ``[provider]`` only, so ``[[models]]`` may not name one."""
    from llmsde.errors import ConfigError
    from llmsde.providers.local import serve_local

    if config.models and any(p.name == "local" for p in config.model_providers().values()):
        raise ConfigError(
            "provider 'local' cannot be a [[models]] entry (it serves one GGUF file for [provider] only)",
            'serve each file with `python -m llama_cpp.server` and give its [[models]] entry name = "openai" '
            "and that base_url",
        )

    with serve_local(config.provider, stored_model) as served:
        yield config if served is config.provider else config.model_copy(update={"provider": served})


def _preflight(pcfg: ProviderConfig, provider: Provider) -> None:
    """One small call that turns a wrong key, model or parameter into an error before anything is written."""
    from llmsde.providers.base import SupportsPreflight

    if pcfg.preflight and isinstance(provider, SupportsPreflight):
        asyncio.run(provider.preflight())


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


def _concurrency(config: StudyConfig, providers: Iterable[Provider]) -> dict[str, Any]:
    """The session ceiling and, per endpoint that reports one, the concurrency its adaptive limit settled on.

    An endpoint's ceiling is the lower of its ``max_in_flight`` and the sessions in flight (``--concurrency``,
    per model): each session has at most one call in flight.
    """
    endpoints = []
    for provider in providers:
        report = getattr(provider, "concurrency_report", None)
        endpoint = report() if callable(report) else None
        if endpoint is not None:
            endpoint["ceiling"] = min(endpoint["ceiling"], config.concurrency)
            endpoint["settled"] = min(endpoint["settled"], endpoint["ceiling"])
            endpoints.append(endpoint)
    return {"sessions": config.concurrency, "endpoints": endpoints}


def _execute(
    store: RunStore,
    config: StudyConfig,
    parts: _Parts,
    executor: Executor,
    providers: Mapping[str, Provider],
    on_progress: ProgressCallback | None,
) -> RunOutcome:
    from llmsde.scoring.extract import extract_code

    async def main() -> RunOutcome:
        try:
            return await execute_run(
                store,
                config,
                providers,
                executor,
                extract_code,
                parts.tasks,
                parts.strategies,
                on_progress=on_progress,
            )
        finally:
            for provider in providers.values():
                await provider.aclose()

    try:
        outcome = asyncio.run(main())
    except BudgetExceeded as err:
        store.finish("stopped")
        spent = store.usage_totals()["cost_usd"] or 0.0
        raise BudgetExceeded(
            f"budget reached: ${spent:.4f} spent of ${config.max_cost_usd or 0.0:.4f}{spend_text(store)}; run "
            f"stopped before the next call, every scored iteration is stored in {store.run_dir}",
            f"continue with `llmsde run --resume {store.run_dir} --max-cost USD` and a larger budget",
        ) from err
    except BaseException:
        store.finish("stopped")
        raise
    store.finish("incomplete" if outcome.waiting else "complete")
    return outcome


def _summary(
    store: RunStore,
    new: int,
    started: float,
    resumed: bool,
    executor: Executor | None = None,
    outcome: RunOutcome | None = None,
    **extra: Any,
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
        usage=run_usage(store),
        executor=executor.kind if executor is not None else "local",
        workers=_worker_lines(executor),
        sessions_waiting=outcome.waiting if outcome else (),
        endpoint_error=outcome.endpoint_error if outcome else None,
        **extra,
    )


def _worker_lines(executor: Executor | None) -> tuple[str, ...]:
    return () if executor is None else tuple(f"{w.label} {w.level}" for w in executor.workers)


def _run(
    store: RunStore,
    config: StudyConfig,
    parts: _Parts,
    executor: Executor,
    providers: Mapping[str, Provider],
    resumed: bool,
    on_start: Callable[[RunStart], None] | None,
    on_progress: ProgressCallback | None,
) -> RunSummary:
    started = time.perf_counter()
    before = store.counts()["iterations"]
    level, warnings = common_isolation(executor.workers)
    store.set_isolation(level, warnings)
    if on_start is not None:
        n = store.counts()["sessions"]
        workers = _worker_lines(executor)
        total = n * (config.iterations + 1)
        on_start(RunStart(str(store.run_dir), n, total, level, warnings, resumed, executor.kind, workers))
    outcome = _execute(store, config, parts, executor, providers, on_progress)
    new = store.counts()["iterations"] - before
    concurrency = _concurrency(config, providers.values())
    return _summary(store, new, started, resumed, executor, outcome, concurrency=concurrency)


def start_study(
    config: StudyConfig,
    *,
    on_start: Callable[[RunStart], None] | None = None,
    on_progress: ProgressCallback | None = None,
) -> RunSummary:
    """Create ``<config.out>/<run-id>/`` and run the whole study in it."""
    from llmsde.providers.local import resolve_model_path

    config = config.model_copy(update={"provider": resolve_model_path(config.provider)})
    parts = _resolve(config)
    labels = [m.label for m in config.models] or [""]
    plan = plan_sessions(config.strategies, list(parts.tasks), config.sessions, config.seed, labels)
    with _endpoint(config) as run_config, open_executor(config, parts.tasks) as executor:
        providers = _providers(run_config)
        snapshot = config.model_dump(mode="json", by_alias=True)
        run_id = new_run_id()
        settings = run_config.model_providers()
        manifest = RunManifest(
            run_id=run_id,
            config=snapshot,
            versions=_versions(executor),
            provider=",".join(dict.fromkeys(p.name for p in settings.values())),
            model=", ".join(f"{k}={p.model}" if k else p.model for k, p in settings.items()),
            base_url=config.provider.base_url if not config.models else None,
            seed=config.seed,
        )
        with (
            RunStore.create(Path(config.out) / run_id, snapshot, manifest) as store,
            _exclusive(store.run_dir),
        ):
            store.add_sessions(plan)
            return _run(store, run_config, parts, executor, providers, False, on_start, on_progress)


def resume_study(
    run_dir: str | Path,
    *,
    concurrency: int | None = None,
    max_cost_usd: float | None = None,
    executor: dict[str, Any] | None = None,
    on_start: Callable[[RunStart], None] | None = None,
    on_progress: ProgressCallback | None = None,
) -> RunSummary:
    """Finish a stopped run with its stored config; only the concurrency, the budget and the executor may change.

    ``executor`` replaces keys of the ``[executor]`` table (e.g. ``{"kind": "ray", "address": None}``): where
    scoring runs does not change what it gives.
    """
    with RunStore.open(run_dir) as store, _exclusive(store.run_dir):
        data = store.manifest().config
        if concurrency is not None:
            data = {**data, "concurrency": concurrency}
        if max_cost_usd is not None:
            data = {**data, "max_cost_usd": max_cost_usd}
        if executor:
            data = {**data, "executor": {**(data.get("executor") or {}), **executor}}
        config = build_config(json.loads(json.dumps(data)), source=f"{run_dir} (stored config)")
        counts = store.counts()
        if counts["sessions_done"] == counts["sessions"]:
            if store.manifest().status != "complete":
                store.finish("complete")
            return _summary(store, 0, time.perf_counter(), True)
        parts = _resolve(config, {s.task_id for s in store.sessions()})
        with _endpoint(config, store.manifest().model) as run_config, open_executor(config, parts.tasks) as pool:
            providers = _providers(run_config, store.usage_totals()["cost_usd"] or 0.0)
            store.mark_resumed()
            return _run(store, run_config, parts, pool, providers, True, on_start, on_progress)
