"""Runs the unfinished sessions of a run with a bounded number of concurrent sessions.

``concurrency`` sessions per model are in flight at once (so at most that many calls per model endpoint, and
a slow endpoint never holds another model's sessions back); scoring goes to an executor
(``llmsde.runner.executors``), which bounds it separately: one per core locally, a few per actor on Ray.
Every commit happens in the event-loop thread through the single store connection. A session whose endpoint
fails (:class:`~llmsde.providers.base.EndpointUnavailable`) stops at that iteration, uncommitted; the other
sessions go on (when a provider's breaker is open, each of its sessions stops at its next call at once, while
other models' sessions continue), and the outcome lists the sessions that wait, so the run ends ``incomplete``
and ``--resume`` redoes them. A refused call of the ``--max-cost`` budget (:class:`~llmsde.errors.BudgetExceeded`)
stops every session and propagates once the rest has finished: the store stays consistent and resumable.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable, Mapping
from typing import NamedTuple, cast

from llmsde.config import StudyConfig
from llmsde.errors import BudgetExceeded, LlmsdeError
from llmsde.providers.base import Provider
from llmsde.runner.events import Progress, ProgressCallback
from llmsde.runner.executors import Executor, LocalExecutor, ScoreFn, ScorerLike, default_score_slots
from llmsde.runner.session import ChainState, RunContext, StrategyLike, rebuild_state, run_session
from llmsde.store.sqlite import IterationRecord, RunStore, SessionRow
from llmsde.tasks.model import Task

__all__ = ["RunOutcome", "default_score_slots", "execute_run"]


class RunOutcome(NamedTuple):
    """What one invocation of :func:`execute_run` did."""

    new_iterations: int
    """Iterations committed by this invocation."""
    waiting: tuple[str, ...]
    """Sessions stopped by an endpoint failure, in plan order; ``--resume`` continues them."""
    endpoint_error: str | None
    """One line naming the endpoint and its failure (the breaker's, else the last one) when a session waits."""


def _score_fn(scorer: ScorerLike | Executor | ScoreFn, slots: int | None) -> ScoreFn:
    """The async scoring function: an executor's, a plain function as given, or a Scorer run locally."""
    method = getattr(scorer, "score", None)
    if method is not None and inspect.iscoroutinefunction(method):
        return cast(ScoreFn, method)
    if method is not None:
        return LocalExecutor(cast(ScorerLike, scorer), slots).score
    return cast(ScoreFn, scorer)


class _Tracker:
    """Commits iterations and keeps the counts behind the progress events."""

    def __init__(self, store: RunStore, config: StudyConfig, on_progress: ProgressCallback | None) -> None:
        counts = store.counts()
        self.store = store
        self.on_progress = on_progress
        self.sessions_total = counts["sessions"]
        self.sessions_done = counts["sessions_done"]
        self.iterations_total = counts["sessions"] * (config.iterations + 1)
        self.iterations_done = counts["iterations"]
        self.failed = counts["failed"]
        self.new = 0
        self.started = time.perf_counter()

    def commit(self, record: IterationRecord, session_done: bool) -> None:
        self.store.commit_iteration(record, session_done=session_done)
        self.iterations_done += 1
        self.new += 1
        self.failed += record.error is not None
        self.sessions_done += session_done
        self.emit()

    def emit(self) -> None:
        if self.on_progress is not None:
            self.on_progress(
                Progress(
                    sessions_total=self.sessions_total,
                    sessions_done=self.sessions_done,
                    iterations_total=self.iterations_total,
                    iterations_done=self.iterations_done,
                    failed_iterations=self.failed,
                    new_iterations=self.new,
                    elapsed_s=time.perf_counter() - self.started,
                )
            )


async def execute_run(
    store: RunStore,
    config: StudyConfig,
    provider: Provider | Mapping[str, Provider],
    scorer: ScorerLike | Executor | ScoreFn,
    extract: Callable[[str, str | None], str | None],
    tasks: Mapping[str, Task],
    strategies: Mapping[str, StrategyLike],
    *,
    on_progress: ProgressCallback | None = None,
    score_slots: int | None = None,
) -> RunOutcome:
    """Run every session of ``store`` that is not done, as far as the endpoint lets each go.

    ``provider`` maps each model label to its provider (a single provider serves the label ``""``). Works the
    same for a fresh run and a resumed one: each session's state is rebuilt from what is stored. ``scorer`` is
    an executor (``llmsde.runner.executors``), its async ``score`` function, or a plain Scorer, which is then
    run locally in threads, ``score_slots`` at a time.
    """
    tracker = _Tracker(store, config, on_progress)
    providers = provider if isinstance(provider, Mapping) else {"": provider}
    settings = config.model_providers()
    ctx = RunContext(
        config=config,
        providers=providers,
        score=_score_fn(scorer, score_slots),
        extract=extract,
        tasks=tasks,
        strategies=strategies,
        commit=tracker.commit,
        model_configs=settings,
    )
    queues: dict[str, asyncio.Queue[tuple[SessionRow, ChainState]]] = {}
    for session in store.sessions():
        if session.status == "done":
            continue
        state = rebuild_state(store.session_iterations(session.session_id), settings[session.model].history)
        queues.setdefault(session.model, asyncio.Queue()).put_nowait((session, state))
    tracker.emit()
    budget: list[BudgetExceeded] = []
    stopped: dict[int, str] = {}
    messages: list[str] = []
    breaker_messages: list[str] = []

    async def worker(queue: asyncio.Queue[tuple[SessionRow, ChainState]]) -> None:
        while not queue.empty():
            session, state = queue.get_nowait()
            if budget:
                continue
            try:
                failure = await run_session(ctx, session, state)
            except BudgetExceeded as err:
                budget.append(err)
                continue
            if failure is not None:
                stopped[session.ordinal] = session.session_id
                where = "" if failure.endpoint in failure.message else f"{failure.endpoint}: "
                messages.append(f"{where}{failure.message}")
                if failure.breaker_open:
                    breaker_messages.append(messages[-1])

    try:
        async with asyncio.TaskGroup() as group:
            for queue in queues.values():
                for _ in range(min(config.concurrency, queue.qsize())):
                    group.create_task(worker(queue))
    except BaseExceptionGroup as group_error:
        raise _first_cause(group_error) from None
    if budget:
        raise budget[0]
    waiting = tuple(stopped[o] for o in sorted(stopped))
    last = breaker_messages or messages
    return RunOutcome(tracker.new, waiting, last[-1] if last else None)


def _first_cause(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The exception a user should see from a failed task group: an LlmsdeError if there is one."""
    leaves: list[BaseException] = []

    def walk(err: BaseException) -> None:
        if isinstance(err, BaseExceptionGroup):
            for sub in err.exceptions:
                walk(sub)
        else:
            leaves.append(err)

    walk(group)
    return next((e for e in leaves if isinstance(e, LlmsdeError)), leaves[0])
