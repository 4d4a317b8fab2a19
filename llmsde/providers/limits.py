"""Client-side limits on one endpoint: requests in flight, requests per minute, tokens per minute.

Staying under a provider's published limits is cheaper than being told off with 429s and backing off: the
limiters here make a run pace itself, and the retry policy only handles what slips through.

Tokens per minute are charged *before* the call with an estimate (prompt characters / 4 plus ``max_tokens``),
because that is how hosted APIs count a request against the limit when they admit it; the estimate is capped
at the per-minute budget so one large request can still go through on its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from llmsde.types import ChatMessage

if TYPE_CHECKING:
    from aiolimiter import AsyncLimiter

__all__ = ["EndpointLimits", "estimate_tokens"]


def estimate_tokens(messages: Sequence[ChatMessage], max_tokens: int) -> int:
    """A deliberately simple, tokenizer-free upper-ish estimate: 4 characters per token, plus the reply
    budget."""
    chars = sum(len(m.content) + len(m.role) + 4 for m in messages)
    return chars // 4 + 1 + max_tokens


class EndpointLimits:
    """A semaphore plus optional aiolimiter leaky buckets, built lazily inside the running event loop.

    Lazy construction matters because asyncio primitives bind to the loop that first uses them; a provider
    made outside any loop (as the runner does) must not capture the wrong one.
    """

    def __init__(self, max_in_flight: int, requests_per_minute: float | None, tokens_per_minute: float | None) -> None:
        self.max_in_flight = max_in_flight
        self.requests_per_minute = requests_per_minute
        self.tokens_per_minute = tokens_per_minute
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sem: asyncio.Semaphore | None = None
        self._rpm: AsyncLimiter | None = None
        self._tpm: AsyncLimiter | None = None

    def _bind(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._sem is None or self._loop is not loop:
            from aiolimiter import AsyncLimiter

            self._loop = loop
            self._sem = asyncio.Semaphore(self.max_in_flight)
            self._rpm = None if self.requests_per_minute is None else AsyncLimiter(self.requests_per_minute, 60.0)
            self._tpm = None if self.tokens_per_minute is None else AsyncLimiter(self.tokens_per_minute, 60.0)
        return self._sem

    @asynccontextmanager
    async def slot(self, tokens: int) -> AsyncIterator[None]:
        """Wait for the rate limiters, then hold one of the in-flight slots for the duration of the block."""
        sem = self._bind()
        if self._rpm is not None:
            await self._rpm.acquire()
        if self._tpm is not None:
            await self._tpm.acquire(min(float(tokens), self._tpm.max_rate))
        async with sem:
            yield
