"""The provider interface: an async chat completion, and the one exception that says the endpoint failed.

What the model did (a reply without code, a reply cut at ``max_tokens``, a refusal, a prompt longer than its
context) is a :class:`Completion` and becomes data. What the endpoint did (connection refused or reset,
timeouts, 429/5xx after the bounded retries, the circuit breaker) is :class:`EndpointUnavailable`: the runner
never commits it, so a trajectory never has a hole that the endpoint made, and ``--resume`` redoes the call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from llmsde.config import PriceConfig
from llmsde.types import ChatMessage, Completion, GenerationParams, Usage

__all__ = ["EndpointUnavailable", "Provider", "SupportsPreflight", "call_cost"]


class EndpointUnavailable(Exception):  # noqa: N818 - the name says what happened, as in the DESIGN
    """The endpoint could not answer one call after the provider's bounded retries (or its breaker is open).

    Not an :class:`~llmsde.errors.LlmsdeError`: it never reaches the user as such. The runner stops the session
    at that iteration without committing it, lets the other sessions go on, and ends the run ``incomplete``.
    """

    def __init__(self, message: str, endpoint: str, *, breaker_open: bool = False) -> None:
        super().__init__(message)
        self.message = message
        """One line, free of secrets: what failed last (e.g. ``timeout after 60 s``)."""
        self.endpoint = endpoint
        """Which endpoint failed (its public URL or provider name), for the run's closing line."""
        self.breaker_open = breaker_open
        """True when the provider's circuit breaker is open: every further call of it fails at once."""


@runtime_checkable
class Provider(Protocol):
    """Anything that answers chat messages: the offline surrogate or an OpenAI-compatible endpoint.

    ``complete`` returns a :class:`Completion` for every answer, including errors that are the model's (a
    context-length error has ``error`` set); it raises :class:`EndpointUnavailable` when the endpoint itself
    failed after the provider's own retries.
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
