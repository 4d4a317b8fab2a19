"""The provider interface: an async chat completion that never raises for a failed call."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from llmsde.types import ChatMessage, Completion, GenerationParams

__all__ = ["Provider"]


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
