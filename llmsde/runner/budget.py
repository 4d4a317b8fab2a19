"""The ``--max-cost`` budget: no model call starts when the spend so far, plus what the calls already in flight
are expected to cost, plus this call's estimate would exceed it.

The budget covers the whole run, every invocation included: what earlier invocations spent is read back from
the store, so ``llmsde run --resume RUN --max-cost N`` continues until the run's total spend reaches N. It is
enforced by wrapping each model's provider, so the session loop needs no knowledge of money. Once one call is
refused, every later call is refused too; calls already in flight finish and are committed, so nothing that was
paid for is thrown away.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from llmsde.config import PriceConfig, StudyConfig
from llmsde.errors import BudgetExceeded, ConfigError
from llmsde.providers.base import Provider
from llmsde.store.sqlite import RunStore
from llmsde.types import ChatMessage, Completion, GenerationParams

__all__ = [
    "Budget",
    "BudgetedProvider",
    "budget_providers",
    "message_tokens",
    "reply_tokens",
    "run_usage",
    "spend_text",
]

CHARS_PER_TOKEN = 4
"""The same rough size the surrogate and the context trimming use; no tokenizer is needed for a budget."""
REPLY_OVERHEAD_TOKENS = 40
"""A reply is the code plus a fence and a sentence or two around it (measured: 30-45 tokens)."""


def message_tokens(messages: Sequence[ChatMessage]) -> int:
    """Estimated prompt tokens of a request (about four characters per token and message)."""
    return sum(math.ceil(len(m.content) / CHARS_PER_TOKEN) for m in messages)


def reply_tokens(code: str, expected: int | None = None) -> int:
    """Estimated tokens of a reply that returns ``code``, or the configured expectation when there is one."""
    if expected is not None:
        return expected
    return math.ceil(len(code) / CHARS_PER_TOKEN) + REPLY_OVERHEAD_TOKENS


def call_cost_usd(prompt_tokens: float, completion_tokens: float, prices: PriceConfig) -> float:
    """US dollars for a call of this size at ``prices`` (per million tokens)."""
    return (prompt_tokens * prices.prompt_per_mtok + completion_tokens * prices.completion_per_mtok) / 1e6


@dataclass(slots=True)
class Budget:
    """Spend so far and reservations of the calls in flight, shared by every model of the run."""

    limit_usd: float
    spent_usd: float = 0.0
    in_flight_usd: float = 0.0
    exhausted: bool = False
    completion_seen: dict[str, list[int]] = field(default_factory=dict)
    """Model label -> [calls, completion tokens] measured so far, for the next call's reply estimate."""

    def reserve(self, model: str, estimate_usd: float) -> None:
        """Book a call's estimate, or refuse it (and every later one) when it would exceed the limit."""
        if self.exhausted or self.spent_usd + self.in_flight_usd + estimate_usd > self.limit_usd:
            self.exhausted = True
            raise BudgetExceeded(
                f"budget reached: ${self.spent_usd:.4f} spent of ${self.limit_usd:.4f}",
                "raise --max-cost to continue",
            )
        self.in_flight_usd += estimate_usd

    def settle(self, model: str, estimate_usd: float, completion: Completion | None) -> None:
        """Replace a reservation by the measured cost (nothing when the call raised before an answer)."""
        self.in_flight_usd = max(0.0, self.in_flight_usd - estimate_usd)
        if completion is None:
            return
        self.spent_usd += completion.cost_usd or 0.0
        if completion.error is None:
            seen = self.completion_seen.setdefault(model, [0, 0])
            seen[0] += 1
            seen[1] += completion.usage.completion_tokens

    def expected_reply(self, model: str, fallback: int) -> int:
        """Mean completion tokens measured for ``model``, or ``fallback`` before its first answer."""
        calls, tokens = self.completion_seen.get(model, [0, 0])
        return math.ceil(tokens / calls) if calls else fallback


class BudgetedProvider:
    """A provider that asks the budget before each call and reports the measured cost after it."""

    def __init__(
        self, inner: Provider, budget: Budget, model: str, prices: PriceConfig, expected_reply: int | None
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.budget = budget
        self.model = model
        self.prices = prices
        self.expected_reply = expected_reply

    def estimate_usd(self, messages: Sequence[ChatMessage], max_tokens: int) -> float:
        """This call's expected cost: its prompt, and a reply as long as this model's replies so far."""
        fallback = reply_tokens(messages[-1].content if messages else "", self.expected_reply)
        reply = min(max_tokens, self.budget.expected_reply(self.model, fallback))
        return call_cost_usd(message_tokens(messages), reply, self.prices)

    async def complete(self, messages: Sequence[ChatMessage], params: GenerationParams) -> Completion:
        """Refuse with BudgetExceeded, or make the call and book what it cost."""
        estimate = self.estimate_usd(messages, params.max_tokens)
        self.budget.reserve(self.model, estimate)
        completion: Completion | None = None
        try:
            completion = await self.inner.complete(messages, params)
        finally:
            self.budget.settle(self.model, estimate, completion)
        return completion

    async def aclose(self) -> None:
        """Close the wrapped provider."""
        await self.inner.aclose()

    def concurrency_report(self) -> dict[str, Any] | None:
        """The wrapped endpoint's adaptive-limit report (None when it keeps none, like the surrogate)."""
        report = getattr(self.inner, "concurrency_report", None)
        return report() if callable(report) else None


def budget_providers(
    config: StudyConfig, providers: Mapping[str, Provider], spent_usd: float
) -> tuple[dict[str, Provider], Budget | None]:
    """Wrap every model's provider in the run's budget when ``config.max_cost_usd`` is set.

    A model without prices cannot be budgeted (its spend would read as zero): that is a ConfigError, raised
    before anything is called.
    """
    limit = config.max_cost_usd
    if limit is None:
        return dict(providers), None
    settings = config.model_providers()
    unpriced = [label or settings[label].model for label, pcfg in settings.items() if pcfg.prices is None]
    if unpriced:
        raise ConfigError(
            f"--max-cost needs prices, and model '{unpriced[0]}' has none",
            "add prices = {prompt_per_mtok = ..., completion_per_mtok = ...} to its [provider]/[[models]] table",
        )
    budget = Budget(limit, spent_usd)
    wrapped: dict[str, Provider] = {}
    for label, inner in providers.items():
        prices = settings[label].prices
        assert prices is not None
        wrapped[label] = BudgetedProvider(inner, budget, label, prices, config.estimate.completion_tokens)
    return wrapped, budget


def run_usage(store: RunStore) -> dict[str, Any]:
    """The run's call totals; a multi-model run adds ``by_model`` (label -> the same totals)."""
    usage = store.usage_totals()
    by_model = store.usage_by_model()
    if any(by_model):
        usage["by_model"] = by_model
    return usage


def spend_text(store: RunStore) -> str:
    """`` (a $0.0012, b $0.0030)``: the spend per model of a multi-model run, empty otherwise."""
    by_model = store.usage_by_model()
    if not any(by_model):
        return ""
    parts = [f"{label} ${(u['cost_usd'] or 0.0):.4f}" for label, u in by_model.items()]
    return f" ({', '.join(parts)})"
