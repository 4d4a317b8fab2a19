"""One session: a chain of T+1 iterations, each prompt -> provider -> extracted code -> scores -> commit.

What the model did is data: a reply without code, cut at ``max_tokens`` or refused, a context-length error,
and a scorer crash are committed with a reason and the chain goes on from the last code it had. What the
endpoint did is not: :class:`~llmsde.providers.base.EndpointUnavailable` stops the session at that k
without committing it (the iterations before it are committed in order), so ``--resume`` redoes exactly
that call and no trajectory has a hole the endpoint made.

The chain state lives in :class:`ChainState`. :func:`advance` is the one rule that moves it on after an
iteration; the live loop applies it to each new iteration and :func:`rebuild_state` to the stored ones, so a
resumed session continues exactly as an uninterrupted one would.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from llmsde.config import ProviderConfig, StudyConfig
from llmsde.providers.base import EndpointUnavailable, Provider
from llmsde.runner.executors.base import Scored, ScoreFn, ScorerLike
from llmsde.runner.plan import call_seed
from llmsde.store.sqlite import IterationRecord, SessionRow, utc_now
from llmsde.tasks.model import Task
from llmsde.types import ChatMessage, GenerationParams

__all__ = [
    "FINISH_NOTES",
    "SCORER_ERROR",
    "ChainState",
    "RunContext",
    "ScorerLike",
    "StrategyLike",
    "advance",
    "build_messages",
    "initial_messages",
    "rebuild_state",
    "run_session",
    "trim_history",
]

CHARS_PER_TOKEN = 4
"""Rough size estimate used to keep a ``history = "full"`` conversation inside the model's context."""

SCORER_ERROR = "scorer error: "
"""Prefix of ``error`` when the scorer crashed; the model did reply, so its reply stays in the history."""

FINISH_NOTES = {"length": "reply cut at max_tokens", "content_filter": "refusal", "refusal": "refusal"}
"""The reason an iteration records for a reply that ended other than normally (by ``finish_reason``)."""


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


def advance(
    state: ChainState,
    *,
    prompt: Sequence[Mapping[str, str]] | None,
    response: str | None,
    code: str | None,
    error: str | None,
    history: str,
) -> None:
    """Move the chain on past one iteration, as the live loop and :func:`rebuild_state` both do.

    The next prompt continues from the last code extracted. With ``history = "full"`` the conversation becomes
    this iteration's prompt plus the model's reply, whenever the model replied: also when the scorer crashed
    on it, but not after a call the model could not answer (a context-length error: no reply, ``response``
    None; stores written before that rule have an empty reply and a non-scorer ``error``).
    """
    state.next_k += 1
    if code is not None:
        state.code = code
    replied = response is not None and (error is None or error.startswith(SCORER_ERROR))
    if history == "full" and prompt is not None and replied:
        sent = [ChatMessage(m["role"], m["content"]) for m in prompt]  # type: ignore[arg-type]
        state.history = [*sent, ChatMessage("assistant", response or "")]


def rebuild_state(iterations: Sequence[Mapping[str, Any]], history: str) -> ChainState:
    """The chain state after the committed iterations (ordered by k): :func:`advance` applied to each."""
    state = ChainState()
    for it in iterations:
        advance(
            state, prompt=it["prompt"], response=it["response"], code=it["code"], error=it["error"], history=history
        )
    return state


async def _score(ctx: RunContext, code: str | None, task: Task) -> Scored:
    return await ctx.score(code, task)


async def _score_and_commit(
    ctx: RunContext, record: IterationRecord, task: Task, previous: asyncio.Task[None] | None, last: bool
) -> None:
    """Score one iteration, wait until the one before it is committed, then commit it: order is kept.

    ``record.reason`` and ``record.error`` hold what the call said (cut at max_tokens, context length); the
    scorer's reason and error are added to them.
    """
    outcome = await _score(ctx, record.code, task)
    result, score_error = outcome.result, outcome.error
    if previous is not None:
        await previous
    security, efficiency, functionality = result.vector
    scored = replace(
        record,
        security=security,
        efficiency=efficiency,
        functionality=functionality,
        reason="; ".join(r for r in (record.reason, result.reason) if r) or None,
        raw=result.raw,
        error="; ".join(e for e in (record.error, score_error) if e) or None,
        worker=outcome.worker,
        scored_at=utc_now(),
    )
    ctx.commit(scored, last)


def _params(pcfg: ProviderConfig, session: SessionRow, k: int) -> GenerationParams:
    return GenerationParams(
        model=pcfg.model,
        temperature=None if pcfg.temperature == "omit" else pcfg.temperature,
        top_p=None if pcfg.top_p == "omit" else pcfg.top_p,
        max_tokens=pcfg.max_tokens,
        seed=call_seed(session.seed, k),
        extra=dict(pcfg.extra),
    )


async def _call(
    ctx: RunContext, session: SessionRow, task: Task, strategy: StrategyLike, state: ChainState
) -> IterationRecord:
    """Iteration ``state.next_k``'s call, as an unscored record; EndpointUnavailable passes through."""
    k = state.next_k
    provider, pcfg = ctx.model_settings(session.model)
    messages = build_messages(pcfg, task, strategy, state, session.seed)
    completion = await provider.complete(messages, _params(pcfg, session, k))
    answered = completion.error is None
    note = completion.error.split(":", 1)[0] if completion.error else FINISH_NOTES.get(completion.finish_reason or "")
    return IterationRecord(
        session.session_id,
        k,
        math.nan,
        math.nan,
        math.nan,
        prompt=[m.to_dict() for m in messages],
        response=completion.text if answered else None,
        code=ctx.extract(completion.text, task.entry_point) if answered else None,
        reason=note,
        prompt_tokens=completion.usage.prompt_tokens,
        completion_tokens=completion.usage.completion_tokens,
        latency_s=completion.latency_s,
        retries=completion.retries,
        cost_usd=completion.cost_usd,
        model_id=completion.model or None,
        system_fingerprint=completion.system_fingerprint,
        error=completion.error,
        finish_reason=completion.finish_reason,
    )


async def run_session(ctx: RunContext, session: SessionRow, state: ChainState) -> EndpointUnavailable | None:
    """Run a session from ``state.next_k`` to T, committing each iteration as soon as it is scored.

    The next prompt depends only on the code extracted so far, never on scores, so iteration k is scored while
    the call for k+1 is already in flight; commits still happen strictly in order of k, one transaction each. A
    crash loses at most the in-flight iterations, and resume replays them identically. Returns the endpoint
    failure that stopped the session early (after committing every iteration before it), else None.
    """
    task = ctx.tasks[session.task_id]
    strategy = ctx.strategies[session.strategy]
    last_k = ctx.config.iterations
    pending: asyncio.Task[None] | None = None
    stopped: EndpointUnavailable | None = None
    try:
        while state.next_k <= last_k:
            if pending is not None and pending.done():
                pending.result()
            k = state.next_k
            if k == 0 and task.seed_code is not None:
                record = IterationRecord(session.session_id, 0, math.nan, math.nan, math.nan, code=task.seed_code)
            else:
                try:
                    record = await _call(ctx, session, task, strategy, state)
                except EndpointUnavailable as err:
                    stopped = err
                    break
            advance(
                state,
                prompt=record.prompt,
                response=record.response,
                code=record.code,
                error=record.error,
                history=ctx.model_settings(session.model)[1].history,
            )
            pending = asyncio.create_task(_score_and_commit(ctx, record, task, pending, k == last_k))
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
    return stopped
