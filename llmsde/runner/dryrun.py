"""``llmsde run --dry-run``: what a study would call and cost, without a call and without writing anything.

The plan is the real one (same sessions, tasks, strategy templates and seeds as the run). Every request is
built with the session loop's own :func:`~llmsde.runner.session.build_messages`, with ``history = "full"``
conversations growing and being trimmed as they would; the one thing a dry run cannot know is what the model
answers, so each reply is assumed to return code the size of the code being refined (the seed code, or the
task's reference solution when there is none), grown by ``[estimate] code_growth`` per iteration, plus a short
preamble; or ``[estimate] completion_tokens`` per reply when set.
Costs use each model's ``prices`` (None without them); wall time assumes ``[estimate] latency_s`` per call
with ``concurrency`` sessions in flight per model (capped by its ``max_in_flight``); models run side by side,
so the study takes as long as its slowest model.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from llmsde.config import EstimateConfig, ProviderConfig, StudyConfig
from llmsde.runner.budget import CHARS_PER_TOKEN, call_cost_usd, message_tokens, reply_tokens
from llmsde.runner.plan import plan_sessions
from llmsde.runner.session import ChainState, StrategyLike, build_messages
from llmsde.store.records import SessionRow
from llmsde.tasks.model import Task
from llmsde.types import ChatMessage

__all__ = ["DryRunPlan", "ModelPlan", "plan_study"]

NO_CODE_TOKENS = 200
"""Assumed reply size for a task with neither seed code nor reference solution."""


@dataclass(frozen=True, slots=True)
class ModelPlan:
    """The planned work of one model (or of the whole study, as the total)."""

    label: str
    sessions: int
    calls: int
    est_prompt_tokens: int
    est_completion_tokens: int
    est_cost_usd: float | None
    """None when the model has no ``prices`` (in the total: when any model has none)."""
    est_wall_s: float
    model: str = ""
    provider: str = ""


@dataclass(frozen=True, slots=True)
class DryRunPlan:
    """Per model and in total; ``to_dict`` is the ``--dry-run --json`` output."""

    models: tuple[ModelPlan, ...]
    total: ModelPlan
    latency_s: float
    concurrency: int
    iterations: int
    max_cost_usd: float | None = None
    """The run's budget, if any, so the plan can say whether the estimate fits in it."""

    @property
    def over_budget(self) -> bool:
        """True when the estimated cost exceeds ``max_cost_usd`` (the run would stop early)."""
        cost = self.total.est_cost_usd
        return self.max_cost_usd is not None and cost is not None and cost > self.max_cost_usd

    def to_dict(self) -> dict[str, Any]:
        """``{"models": [...], "total": {...}, "assumptions": {...}}`` (JSON-safe)."""
        total = asdict(self.total)
        for key in ("label", "model", "provider"):
            total.pop(key)
        return {
            "models": [asdict(m) for m in self.models],
            "total": total,
            "max_cost_usd": self.max_cost_usd,
            "over_budget": self.over_budget,
            "assumptions": {
                "latency_s": self.latency_s,
                "concurrency": self.concurrency,
                "iterations": self.iterations,
                "chars_per_token": CHARS_PER_TOKEN,
            },
        }


def _code_guess(task: Task) -> str:
    return task.seed_code or task.reference or "x" * (NO_CODE_TOKENS * CHARS_PER_TOKEN)


def _grown(code: str, growth: float, k: int) -> str:
    """``code`` padded to the length it is assumed to have after k refinements."""
    extra = round(len(code) * ((1.0 + growth) ** k - 1.0))
    return code if extra <= 0 else f"{code}\n# {'.' * extra}"


def _session_tokens(
    pcfg: ProviderConfig,
    session: SessionRow,
    task: Task,
    strategy: StrategyLike,
    iterations: int,
    estimate: EstimateConfig,
) -> tuple[int, int, int]:
    """(calls, prompt tokens, completion tokens) of one session, replaying its requests."""
    state = ChainState()
    expected = estimate.completion_tokens
    calls = prompt = completion = 0
    for k in range(iterations + 1):
        state.next_k = k
        if k == 0 and task.seed_code is not None:
            state.code = task.seed_code
            continue
        code = _grown(_code_guess(task), estimate.code_growth, k)
        messages = build_messages(pcfg, task, strategy, state, session.seed)
        reply = min(pcfg.max_tokens, reply_tokens(code, expected))
        calls += 1
        prompt += message_tokens(messages)
        completion += reply
        state.code = code
        if pcfg.history == "full":
            text = f"```python\n{code}\n```".ljust(reply * CHARS_PER_TOKEN)
            state.history = [*messages, ChatMessage("assistant", text)]
    return calls, prompt, completion


def _wall(sessions: int, calls: int, concurrency: int, latency_s: float) -> float:
    if sessions == 0:
        return 0.0
    return round(math.ceil(sessions / concurrency) * (calls / sessions) * latency_s, 1)


def plan_study(config: StudyConfig) -> DryRunPlan:
    """Plan every model's sessions, calls, tokens, cost and wall time; reads tasks, calls nothing."""
    from llmsde.tasks import load_tasks
    from llmsde.tasks.strategies import get_strategy

    strategies = {name: get_strategy(name, config.custom_strategies) for name in config.strategies}
    tasks = {t.id: t for t in load_tasks(config.tasks)}
    plan = plan_sessions(config.strategies, list(tasks), config.sessions, config.seed)
    latency = config.estimate.latency_s
    models: list[ModelPlan] = []
    for label, pcfg in config.model_providers().items():
        calls = prompt = completion = 0
        for session in plan:
            c, p, r = _session_tokens(
                pcfg, session, tasks[session.task_id], strategies[session.strategy], config.iterations, config.estimate
            )
            calls, prompt, completion = calls + c, prompt + p, completion + r
        cost = None if pcfg.prices is None else round(call_cost_usd(prompt, completion, pcfg.prices), 6)
        slots = min(config.concurrency, pcfg.max_in_flight)
        models.append(
            ModelPlan(
                label or pcfg.model,
                len(plan),
                calls,
                prompt,
                completion,
                cost,
                _wall(len(plan), calls, slots, latency),
                pcfg.model,
                pcfg.name,
            )
        )
    costs = [m.est_cost_usd for m in models]
    n_sessions = sum(m.sessions for m in models)
    n_calls = sum(m.calls for m in models)
    total = ModelPlan(
        "total",
        n_sessions,
        n_calls,
        sum(m.est_prompt_tokens for m in models),
        sum(m.est_completion_tokens for m in models),
        None if any(c is None for c in costs) else round(sum(c for c in costs if c is not None), 6),
        max((m.est_wall_s for m in models), default=0.0),
    )
    return DryRunPlan(tuple(models), total, latency, config.concurrency, config.iterations, config.max_cost_usd)
