"""The capacity of ``llmsde serve``: a fixed number of slots, each generating at a fixed speed.

A one-slot llama.cpp server (its default) queues what it cannot serve and keeps generating a reply whose client
hung up; latency is then about ``requests ahead x service time``. :class:`Slots` reproduces exactly that, so the
runner's adaptive concurrency and timeouts can be tested and benchmarked against a known capacity in seconds:
``slots x tokens_per_s / mean completion tokens`` replies per second.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["Slots", "max_tokens_of"]


class Slots:
    """At most ``slots`` replies generate at once; the semaphore is made in the serving loop on first use."""

    def __init__(self, slots: int | None, tokens_per_s: float | None) -> None:
        self.slots = slots
        self.tokens_per_s = tokens_per_s
        self._sem: asyncio.Semaphore | None = None

    async def generate(self, delay: float, completion_tokens: int) -> None:
        """Wait for a slot, then hold it while the reply is generated (not cancelled by a hang-up)."""
        speed = self.tokens_per_s
        busy = delay + (completion_tokens / speed if speed else 0.0)
        if self.slots is None:
            if busy > 0:
                await asyncio.sleep(busy)
            return
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.slots)
        sem = self._sem

        async def occupy() -> None:
            async with sem:
                await asyncio.sleep(busy)

        await asyncio.shield(asyncio.ensure_future(occupy()))


def max_tokens_of(body: dict[str, Any]) -> int | None:
    """The request's reply budget (``max_completion_tokens`` or ``max_tokens``), when it gives one."""
    value = body.get("max_completion_tokens", body.get("max_tokens"))
    return value if isinstance(value, int) and value > 0 else None
