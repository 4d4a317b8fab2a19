"""Small value types shared by every layer.

The objective order is fixed everywhere: (security, efficiency, functionality).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "OBJECTIVES",
    "ChatMessage",
    "Completion",
    "GenerationParams",
    "Usage",
]

OBJECTIVES: tuple[str, str, str] = ("security", "efficiency", "functionality")
"""Objective names in the order used by every vector, array axis and table."""

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One chat message, as sent to an OpenAI-compatible endpoint."""

    role: Role
    content: str

    def to_dict(self) -> dict[str, str]:
        """The message in the wire format of ``/v1/chat/completions``."""
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True, slots=True)
class GenerationParams:
    """Sampling parameters for one call; ``seed`` makes providers that honour it reproducible."""

    model: str = "surrogate"
    temperature: float | None = 0.7
    """None: send no temperature, so the endpoint uses its default."""
    top_p: float | None = 1.0
    """None: send no top_p, so the endpoint uses its default."""
    max_tokens: int = 2048
    seed: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    """Extra request fields passed through to the endpoint unchanged."""


@dataclass(frozen=True, slots=True)
class Usage:
    """Token usage of one call as the endpoint reported it."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class Completion:
    """The answer of a provider to one chat request.

    An answer that says the request itself cannot be served (a prompt longer than the model's context) is data:
    ``error`` is set and ``text`` is empty. Endpoint failures are not Completions at all (see
    :class:`llmsde.providers.base.EndpointUnavailable`).
    """

    text: str
    model: str = ""
    """Model id as the server reports it."""
    usage: Usage = field(default_factory=Usage)
    latency_s: float = 0.0
    system_fingerprint: str | None = None
    retries: int = 0
    cost_usd: float | None = None
    error: str | None = None
    finish_reason: str | None = None
    """Why the model stopped, as the endpoint said (``stop``, ``length`` = cut at ``max_tokens``,
    ``content_filter``), or ``refusal`` when the reply is a refusal message; None when the endpoint gave none."""
