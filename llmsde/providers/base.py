"""The provider interface: an async chat completion that never raises for a failed call."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from llmsde.config import PriceConfig
from llmsde.types import ChatMessage, Completion, GenerationParams, Usage

__all__ = ["Provider", "SupportsPreflight", "call_cost"]


@runtime_checkable
class Provider(Protocol):
    """Anything that answers chat messages: the offline surrogate or an OpenAI-compatible endpoint.

    ``complete`` returns a :class:`Completion` with ``error`` set when the call failed after the provider's own
    retries; it raises only :class:`llmsde.errors.ProviderError` to stop the whole run (circuit breaker).
    """

    name: str

    async def complete(self, messages: Sequence[ChatMessage], params: GenerationParams) -> Completion:
        """Answer one chat request."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


@runtime_checkable
class SupportsPreflight(Protocol):
    """A provider that can check its endpoint (key, model, parameters) with one small call before a run."""

    async def preflight(self) -> None:
        """Raise a ConfigError naming the mistake and its fix when the endpoint refuses the command."""
        ...


def call_cost(usage: Usage, prices: PriceConfig | None) -> float | None:
    """US dollars for one call at the configured per-million-token prices; None when no prices are configured."""
    if prices is None:
        return None
    return (usage.prompt_tokens * prices.prompt_per_mtok + usage.completion_tokens * prices.completion_per_mtok) / 1e6
