"""The offline ``surrogate`` provider: a seeded, stochastic, rule-based code editor standing in for an LLM.

It is a simulator, not a language model, and says so in every reply. It reads what the prompt asks for
(security, speed, features, or nothing specific) and applies real rewrites to the code it is given, so bandit,
radon, the timing harness and the unit tests all see real, strategy-dependent, noisy changes. See
docs/surrogate.md.
"""

from __future__ import annotations

from collections.abc import Sequence

from llmsde.config import ProviderConfig
from llmsde.providers.base import call_cost
from llmsde.providers.surrogate._engine import VERSION, read_intent, surrogate_reply
from llmsde.types import ChatMessage, Completion, GenerationParams, Usage

__all__ = ["SurrogateProvider", "read_intent", "surrogate_reply"]


def _tokens(text: str) -> int:
    """A token estimate (about four characters per token), enough for usage accounting and cost tests."""
    return max(1, (len(text) + 3) // 4)


class SurrogateProvider:
    """Answers chat requests with :func:`surrogate_reply`; never fails, never touches the network.

    The request's ``params.seed`` (the session's seed) wins over the provider's seed, so a reply equals the
    one
    ``llmsde serve`` gives for the same request and seed.
    """

    name = "surrogate"

    def __init__(self, config: ProviderConfig, seed: int) -> None:
        self.config = config
        self.seed = seed

    async def complete(self, messages: Sequence[ChatMessage], params: GenerationParams) -> Completion:
        """Reply to one request; latency is reported as 0 because no model is called."""
        seed = self.seed if params.seed is None else params.seed
        text = (
            surrogate_reply(messages, seed)
            if params.temperature is None
            else surrogate_reply(messages, seed, params.temperature)
        )
        usage = Usage(prompt_tokens=sum(_tokens(m.content) for m in messages), completion_tokens=_tokens(text))
        return Completion(
            text=text,
            model="surrogate",
            usage=usage,
            latency_s=0.0,
            system_fingerprint=f"surrogate-{VERSION}",
            cost_usd=call_cost(usage, self.config.prices),
            finish_reason="stop",
        )

    async def aclose(self) -> None:
        """Nothing to release."""
