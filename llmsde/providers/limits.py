"""Client-side limits on one endpoint: requests in flight, requests per minute, tokens per minute.

Staying under a provider's published limits is cheaper than being told off with 429s and backing off: the
limiters here make a run pace itself, and the retry policy only handles what slips through.

Requests in flight are bounded by an adaptive limit (:class:`~llmsde.providers.adaptive.AdaptiveLimit`) below
the configured ``max_in_flight`` ceiling: each :meth:`EndpointLimits.slot` yields a :class:`Ticket` on which
the caller reports how the attempt went, and the limit follows what the endpoint serves. One
``EndpointLimits`` belongs to one provider instance, i.e. one endpoint.

Tokens per minute are charged *before* the call with an estimate (prompt characters / 4 plus ``max_tokens``),
because that is how hosted APIs count a request against the limit when they admit it; the estimate is capped
at the per-minute budget so one large request can still go through on its own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from llmsde.providers.adaptive import AdaptiveLimit, LatencyTimeout
from llmsde.types import ChatMessage

if TYPE_CHECKING:
    from aiolimiter import AsyncLimiter

__all__ = ["EndpointLimits", "Ticket", "estimate_tokens"]


def estimate_tokens(messages: Sequence[ChatMessage], max_tokens: int) -> int:
    """A deliberately simple, tokenizer-free upper-ish estimate: 4 characters per token, plus the reply
    budget."""
    chars = sum(len(m.content) + len(m.role) + 4 for m in messages)
    return chars // 4 + 1 + max_tokens


class Ticket:
    """One attempt holding a slot; the caller reports its outcome once (the first report counts)."""

    def __init__(self, limits: EndpointLimits, seq: int, alone: bool) -> None:
        self._limits = limits
        self._started = time.perf_counter()
        self.seq = seq
        """The request's sequence number in the limit's count of sent requests."""
        self._alone = alone
        self._reported = False

    @property
    def elapsed_s(self) -> float:
        """Seconds since the slot was taken."""
        return time.perf_counter() - self._started

    def answered(self, completion_tokens: int) -> None:
        """The endpoint answered with a reply of ``completion_tokens`` tokens."""
        if not self._reported:
            self._reported = True
            self._limits._answered(self, completion_tokens)

    def overloaded(self, timed_out: bool) -> None:
        """The endpoint refused for load (429, 503) or the attempt timed out."""
        if not self._reported:
            self._reported = True
            self._limits._overloaded(self, timed_out)

    def rejected(self) -> None:
        """The endpoint answered at once with an error about the request (4xx): it is alive, but the latency
        of a refusal says nothing about the service time."""
        if not self._reported:
            self._reported = True
            self._limits.timeout.on_answer(self.elapsed_s)

    def failed(self) -> None:
        """Any other failure (connection refused, 500): says nothing about load."""
        self._reported = True


class EndpointLimits:
    """An adaptive in-flight limit plus optional aiolimiter leaky buckets, built lazily inside the running loop.

    Lazy construction matters because asyncio primitives bind to the loop that first uses them; a provider
    made outside any loop (as the runner does) must not capture the wrong one. ``adaptive=False`` keeps the
    limit at the ceiling (for endpoints whose capacity is known, and as the baseline of the benchmark).
    """

    def __init__(
        self,
        max_in_flight: int,
        requests_per_minute: float | None,
        tokens_per_minute: float | None,
        *,
        adaptive: bool = True,
        timeout_s: float = 60.0,
        timeout_max_s: float = 600.0,
    ) -> None:
        self.max_in_flight = max_in_flight
        self.requests_per_minute = requests_per_minute
        self.tokens_per_minute = tokens_per_minute
        self.adaptive = adaptive
        self.control = AdaptiveLimit(max_in_flight, initial=1 if adaptive else max_in_flight)
        self.timeout = LatencyTimeout(timeout_s, timeout_max_s)
        self.in_flight = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._cond: asyncio.Condition | None = None
        self._rpm: AsyncLimiter | None = None
        self._tpm: AsyncLimiter | None = None

    def _bind(self) -> asyncio.Condition:
        loop = asyncio.get_running_loop()
        if self._cond is None or self._loop is not loop:
            from aiolimiter import AsyncLimiter

            self._loop = loop
            self._cond = asyncio.Condition()
            self.in_flight = 0
            self._rpm = None if self.requests_per_minute is None else AsyncLimiter(self.requests_per_minute, 60.0)
            self._tpm = None if self.tokens_per_minute is None else AsyncLimiter(self.tokens_per_minute, 60.0)
        return self._cond

    @property
    def timeout_s(self) -> float:
        """The timeout of the next attempt (see :class:`~llmsde.providers.adaptive.LatencyTimeout`)."""
        return self.timeout.seconds

    def report(self) -> dict[str, Any]:
        """What the limit settled on, for the run summary."""
        return {
            "adaptive": self.adaptive,
            "ceiling": self.max_in_flight,
            "settled": self.control.settled() if self.adaptive else self.max_in_flight,
            "peak_in_flight": self.control.peak_in_flight,
            "overloads": self.control.overloads,
            "timeouts": self.timeout.timeouts,
            "timeout_s": round(self.timeout_s, 3),
        }

    @asynccontextmanager
    async def slot(self, tokens: int) -> AsyncIterator[Ticket]:
        """Wait for the rate limiters and a free slot under the current limit; hold it for the block."""
        cond = self._bind()
        if self._rpm is not None:
            await self._rpm.acquire()
        if self._tpm is not None:
            await self._tpm.acquire(min(float(tokens), self._tpm.max_rate))
        async with cond:
            await cond.wait_for(lambda: self.in_flight < self.control.current)
            self.in_flight += 1
            seq = self.control.on_sent(self.in_flight)
            ticket = Ticket(self, seq, alone=self.in_flight == 1)
        try:
            yield ticket
        finally:
            async with cond:
                self.in_flight -= 1
                cond.notify_all()

    def _answered(self, ticket: Ticket, completion_tokens: int) -> None:
        latency = ticket.elapsed_s
        alone = ticket._alone and ticket.seq == self.control.sent and self.in_flight == 1
        self.timeout.on_answer(latency)
        if self.adaptive:
            self.control.on_answer(latency, completion_tokens, ticket.seq, alone=alone)

    def _overloaded(self, ticket: Ticket, timed_out: bool) -> None:
        if timed_out:
            self.timeout.on_timeout()
        if self.adaptive:
            self.control.on_overload(ticket.seq)
