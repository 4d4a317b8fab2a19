"""One session: a chain of T+1 iterations, each prompt -> provider -> extracted code -> scores -> commit.

A failed call or a scorer crash is recorded on its iteration (``error`` set, scores missing) and the chain
goes on from the last code it had; only :class:`~llmsde.errors.ProviderError` (the circuit breaker) escapes,
and it stops the whole run. The chain state lives in :class:`ChainState` and is rebuilt from the store on
resume with the same rules the live chain follows, so a resumed session continues exactly as an
uninterrupted one would.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from llmsde.config import ProviderConfig, StudyConfig
from llmsde.providers.base import Provider
from llmsde.runner.executors.base import Scored, ScoreFn, ScorerLike
from llmsde.runner.plan import call_seed
from llmsde.scoring.result import ScoreResult
from llmsde.store.sqlite import IterationRecord, SessionRow, utc_now
from llmsde.tasks.model import Task
from llmsde.types import ChatMessage, GenerationParams

__all__ = [
    "ChainState",
    "RunContext",
    "ScorerLike",
    "StrategyLike",
    "build_messages",
    "initial_messages",
    "rebuild_state",
    "run_session",
    "trim_history",
]

CHARS_PER_TOKEN = 4
"""Rough size estimate used to keep a ``history = "full"`` conversation inside the model's context."""


class StrategyLike(Protocol):
    """What the runner needs from :class:`llmsde.tasks.strategies.Strategy`."""

    @property
    def system(self) -> str | None: ...

    def messages(self, task: Task, code: str, k: int, seed: int) -> list[ChatMessage]: ...


@dataclass(slots=True)
class ChainState:
    """Where a session stands: the code it continues from and, for full history, the conversation so far."""

    next_k: int = 0
    code: str | None = None
    history: list[ChatMessage] = field(default_factory=list)


@dataclass(slots=True)
class RunContext:
    """Everything a session needs, built once per run by the scheduler."""

    config: StudyConfig
    providers: Mapping[str, Provider]
    """Model label (``""`` in a single-model study) -> its provider: one instance, so one set of limits,
    retries and breaker, per model endpoint."""
    score: ScoreFn
    """Scores one candidate wherever the executor runs it (``llmsde.runner.executors``); never raises for bad
    code or a scorer crash, only when scoring itself became impossible (every Ray worker lost)."""
    extract: Callable[[str, str | None], str | None]
    tasks: Mapping[str, Task]
    strategies: Mapping[str, StrategyLike]
    commit: Callable[[IterationRecord, bool], None]
    """Writes one iteration (and whether it ends its session); runs in the event-loop thread."""
    model_configs: Mapping[str, ProviderConfig] = field(default_factory=dict)
    """Model label -> merged ``[provider]``/``[[models]]`` settings (default: resolved from ``config``)."""

    def model_settings(self, model: str) -> tuple[Provider, ProviderConfig]:
        """The provider and generation settings of the model that answers a session."""
        configs = self.model_configs or self.config.model_providers()
        return self.providers[model], configs[model]


def initial_messages(task: Task, strategy: StrategyLike) -> list[ChatMessage]:
    """The request for a first solution, used when a task has no seed code (or the chain has none yet)."""
    messages = [ChatMessage("system", strategy.system)] if strategy.system else []
    messages.append(
        ChatMessage(
            "user",
            f"Write a Python function `{task.entry_point}` that solves this task.\n\n{task.spec}\n\n"
            "Reply with the complete code in one ```python block.",
        )
    )
    return messages


def _tokens(messages: Sequence[ChatMessage]) -> int:
    return sum(len(m.content) for m in messages) // CHARS_PER_TOKEN + 4 * len(messages)


def trim_history(messages: Sequence[ChatMessage], budget_tokens: int) -> list[ChatMessage]:
    """Drop the oldest turns until the estimate fits, keeping system messages, the first user message and the
    last message; if even that does not fit it is returned as is (the endpoint will say so)."""
    msgs = list(messages)
    head_end = next((i + 1 for i, m in enumerate(msgs) if m.role == "user"), len(msgs))
    head, middle, last = msgs[:head_end], msgs[head_end:-1], msgs[-1:]
    if head_end >= len(msgs):
        return msgs
    while middle and _tokens(head + middle + last) > budget_tokens:
        middle = middle[2:] if len(middle) >= 2 else []
    return head + middle + last


def build_messages(
    provider: ProviderConfig, task: Task, strategy: StrategyLike, state: ChainState, seed: int
) -> list[ChatMessage]:
    """The request of iteration ``state.next_k``: the strategy's prompt on the current code, and for
    ``history = "full"`` the conversation so far, trimmed to the model's context."""
    k = state.next_k
    fresh = initial_messages(task, strategy) if state.code is None else strategy.messages(task, state.code, k, seed)
    if provider.history == "last" or not state.history:
        return fresh
    turn = state.history + [m for m in fresh if m.role != "system"]
    budget = max(provider.max_context_tokens - provider.max_tokens, provider.max_context_tokens // 2)
    return trim_history(turn, budget)


def rebuild_state(iterations: Sequence[Mapping[str, Any]], history: str) -> ChainState:
    """The chain state after the committed iterations (ordered by k), by the rules of :func:`run_session`.

    The code is the last code extracted; the history is the prompt and reply of the last successful call.
    """
    state = ChainState(next_k=len(iterations))
    for it in iterations:
        if it["code"] is not None:
            state.code = it["code"]
        if history == "full" and it["prompt"] is not None and it["error"] is None:
            sent = [ChatMessage(m["role"], m["content"]) for m in it["prompt"]]
            state.history = sent + [ChatMessage("assistant", it["response"] or "")]
    return state


async def _score(ctx: RunContext, code: str | None, task: Task) -> Scored:
    return await ctx.score(code, task)


async def _score_and_commit(
    ctx: RunContext,
    record: IterationRecord,
    code: str | None,
    task: Task,
    failed: ScoreResult | None,
    error: str | None,
    previous: asyncio.Task[None] | None,
    last: bool,
) -> None:
    """Score one iteration, wait until the one before it is committed, then commit it: order is kept."""
    worker: str | None = None
    if failed is None:
        outcome = await _score(ctx, code, task)
        result, error, worker = outcome.result, outcome.error, outcome.worker
    else:
        result = failed
    if previous is not None:
        await previous
    security, efficiency, functionality = result.vector
    scored = replace(
        record,
        security=security,
        efficiency=efficiency,
        functionality=functionality,
        reason=result.reason,
        raw=result.raw,
        error=error,
        worker=worker,
        scored_at=utc_now(),
    )
    ctx.commit(scored, last)


async def run_session(ctx: RunContext, session: SessionRow, state: ChainState) -> None:
    """Run a session from ``state.next_k`` to T, committing each iteration as soon as it is scored.

    The next prompt depends only on the code extracted so far, never on scores, so iteration k is scored while
    the call for k+1 is already in flight; commits still happen strictly in order of k, one transaction each. A
    crash loses at most the in-flight iterations, and resume replays them identically.
    """
    task = ctx.tasks[session.task_id]
    strategy = ctx.strategies[session.strategy]
    last_k = ctx.config.iterations
    provider, pcfg = ctx.model_settings(session.model)
    pending: asyncio.Task[None] | None = None
    try:
        while state.next_k <= last_k:
            if pending is not None and pending.done():
                pending.result()
            k = state.next_k
            failed: ScoreResult | None = None
            error: str | None = None
            if k == 0 and task.seed_code is not None:
                code: str | None = task.seed_code
                record = IterationRecord(session.session_id, 0, math.nan, math.nan, math.nan, code=code)
                state.code = code
            else:
                messages = build_messages(pcfg, task, strategy, state, session.seed)
                params = GenerationParams(
                    model=pcfg.model,
                    temperature=None if pcfg.temperature == "omit" else pcfg.temperature,
                    top_p=None if pcfg.top_p == "omit" else pcfg.top_p,
                    max_tokens=pcfg.max_tokens,
                    seed=call_seed(session.seed, k),
                    extra=dict(pcfg.extra),
                )
                completion = await provider.complete(messages, params)
                code = None
                if completion.error is not None:
                    nan = math.nan
                    failed, error = ScoreResult(nan, nan, nan, reason="provider call failed"), completion.error
                else:
                    code = ctx.extract(completion.text, task.entry_point)
                    if code is not None:
                        state.code = code
                    if pcfg.history == "full":
                        state.history = [*messages, ChatMessage("assistant", completion.text)]
                record = IterationRecord(
                    session.session_id,
                    k,
                    math.nan,
                    math.nan,
                    math.nan,
                    prompt=[m.to_dict() for m in messages],
                    response=completion.text,
                    code=code,
                    prompt_tokens=completion.usage.prompt_tokens,
                    completion_tokens=completion.usage.completion_tokens,
                    latency_s=completion.latency_s,
                    retries=completion.retries,
                    cost_usd=completion.cost_usd,
                    model_id=completion.model or None,
                    system_fingerprint=completion.system_fingerprint,
                )
            pending = asyncio.create_task(
                _score_and_commit(ctx, record, code, task, failed, error, pending, k == last_k)
            )
            state.next_k = k + 1
        if pending is not None:
            await pending
    except asyncio.CancelledError:
        if pending is not None and not pending.done():
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pending
        raise
    except Exception:
        if pending is not None and not pending.done():
            with contextlib.suppress(Exception):
                await pending
        raise
