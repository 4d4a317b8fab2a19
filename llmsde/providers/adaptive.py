"""How many requests one endpoint gets at once, and how long one may take: learned from what it answers.

A configured concurrency is a ceiling, not a target. A one-slot server (llama.cpp's default, Ollama on a
laptop) queues whatever it cannot serve, so its latency is about ``in_flight x service time``; past the
client's timeout the queue turns into timeouts, the retries join the same queue, and the run fails for good
(a metastable failure). A large endpoint's latency does not grow with the requests in flight. The two look
the same until requests are sent, so the limit is learned:

- **Slow start.** The limit starts at 1 (a one-slot server is never overloaded at the start) and doubles
  each round (about one latency: ``limit`` answers) while the latency stays flat.
- **Queueing from the latency gradient.** A round's cost is its total latency per completion token (sum of
  latencies / sum of tokens + 1): long and short replies compare, and a fixed overhead per request (prompt
  processing, time to first token) is averaged over the round instead of making every short reply look
  slow. The baseline is the lowest round cost seen. When a round costs more than ``tolerance`` x baseline,
  requests are waiting in the server's queue: the limit is scaled by ``tolerance x baseline / cost``
  (towards the number of requests the server serves at once).
- **AIMD.** Otherwise, a round whose requests filled the limit adds one; a 429, 503 or timeout halves it.
- **One cut per queue.** Answers to requests sent before a cut still carry the queue the old limit built; they
  neither cut again nor start a round (as TCP ignores losses from before its last window reduction), so the
  limit does not collapse to 1 while that queue drains.

The steady state on a server with ``c`` slots is about ``tolerance x c`` requests in flight (the queue stays
under one service time, so the server never idles and nothing times out); on a fast endpoint the latency
never rises and the limit reaches the ceiling.

The baseline would be wrong if the endpoint became slower for good (longer prompts as a history grows):
every round would look queued. A request that was alone in flight from start to answer cannot have queued
behind ours, so a few such answers in a row replace the baseline.

:class:`LatencyTimeout` gives each attempt its timeout: never below the configured ``timeout_s``, and at least
``factor`` x the slowest recent answer, doubled after each timeout in a row (up to ``ceiling_s``). A busy,
healthy server whose answers take long is therefore waited for; a dead one is still detected. Both classes
are pure (no clock, no asyncio): tests feed them observations.
"""

from __future__ import annotations

import math
import statistics
from collections import deque

__all__ = ["AdaptiveLimit", "LatencyTimeout"]


class AdaptiveLimit:
    """A concurrency limit that follows what the endpoint serves; feed it observations, read :attr:`current`."""

    def __init__(
        self,
        ceiling: int,
        *,
        initial: int = 1,
        tolerance: float = 2.0,
        backoff: float = 0.5,
        slow_start_exit: float = 1.5,
        rebaseline_after: int = 5,
    ) -> None:
        if ceiling < 1 or initial < 1 or tolerance <= 1 or not 0 < backoff < 1:
            raise ValueError("need ceiling >= 1, initial >= 1, tolerance > 1 and 0 < backoff < 1")
        self.ceiling = ceiling
        self.limit = float(min(initial, ceiling))
        self.tolerance = tolerance
        self.backoff = backoff
        self.slow_start_exit = slow_start_exit
        """In slow start a smaller rise of the latency ends the doubling, before a queue builds up."""
        self.slow_start = True
        self.baseline: float | None = None
        """Lowest round cost (seconds per completion token + 1) seen since the last rebaseline."""
        self.overloads = 0
        self.peak_in_flight = 0
        self.history: list[int] = []
        """The limit after each round, for :meth:`settled`."""
        self._alone: deque[tuple[float, int]] = deque(maxlen=rebaseline_after)
        self._round_latency = 0.0
        self._round_tokens = 0
        self._events = 0
        self._filled = False
        self._sent = 0
        self._recovery_until = 0
        """Requests with a sequence number up to this were sent before the last cut."""

    @property
    def current(self) -> int:
        """Requests allowed in flight now: at least 1, at most the ceiling."""
        return max(1, min(self.ceiling, math.floor(self.limit)))

    @property
    def sent(self) -> int:
        """Requests sent so far (the sequence number of the last one)."""
        return self._sent

    def on_sent(self, in_flight: int) -> int:
        """A request was sent with ``in_flight`` requests (itself included) outstanding; returns its sequence
        number, which its answer or overload reports back."""
        self._sent += 1
        self.peak_in_flight = max(self.peak_in_flight, in_flight)
        if in_flight >= self.current:
            self._filled = True
        return self._sent

    def on_answer(self, latency_s: float, completion_tokens: int, seq: int, *, alone: bool = False) -> None:
        """Request ``seq`` was answered after ``latency_s``; ``alone`` when nothing else was in flight meanwhile."""
        latency, tokens = max(latency_s, 1e-9), max(completion_tokens, 0)
        if seq > self._recovery_until:
            self._round_latency += latency
            self._round_tokens += tokens
            self._events += 1
            if self._events >= self.current:
                self._end_round()
        if not alone:
            self._alone.clear()
        else:
            self._alone.append((latency, tokens))
            if len(self._alone) == self._alone.maxlen:
                self.baseline = _cost(self._alone)
                self._alone.clear()

    def on_overload(self, seq: int) -> None:
        """Request ``seq`` met a 429, 503 or timeout: the endpoint is past what it serves; halve the limit,
        unless the request was sent before the last cut."""
        self.overloads += 1
        self.slow_start = False
        if seq > self._recovery_until:
            self._cut(self.backoff)
            self.history.append(self.current)

    def _cut(self, factor: float) -> None:
        self.limit = max(1.0, self.limit * factor)
        self._recovery_until = self._sent
        self._new_round()

    def _new_round(self) -> None:
        self._round_latency, self._round_tokens, self._events = 0.0, 0, 0
        self._filled = False

    def settled(self) -> int:
        """The limit the run settled on: the median over the last rounds, and never above what was used."""
        recent = self.history[-10:] or [self.current]
        value = round(statistics.median(recent))
        used = self.peak_in_flight or value
        return max(1, min(value, used))

    def _end_round(self) -> None:
        """A round ends after about one latency: as many answers as the limit allowed."""
        cost = self._round_latency / (self._round_tokens + self._events)
        ratio = cost / self.baseline if self.baseline else 1.0
        self.baseline = cost if self.baseline is None else min(self.baseline, cost)
        if ratio > self.tolerance:
            self.slow_start = False
            self._cut(max(self.backoff, self.tolerance / ratio))
        else:
            if self.slow_start and ratio > self.slow_start_exit:
                self.slow_start = False
            elif self._filled:
                grown = self.limit * 2 if self.slow_start else self.limit + 1
                self.limit = min(float(self.ceiling), grown)
            self._new_round()
        self.history.append(self.current)


def _cost(answers: deque[tuple[float, int]]) -> float:
    """Seconds per completion token (+ 1 per answer) over several answers: a ratio of sums, not a mean of
    ratios, so one short reply's fixed overhead does not dominate."""
    return sum(latency for latency, _ in answers) / sum(tokens + 1 for _, tokens in answers)


class LatencyTimeout:
    """The timeout of one attempt: at least the configured one, and well above what this endpoint takes now."""

    def __init__(self, floor_s: float, ceiling_s: float, *, factor: float = 4.0, window: int = 32) -> None:
        self.floor_s = floor_s
        self.ceiling_s = max(ceiling_s, floor_s)
        self.factor = factor
        self.timeouts = 0
        """Timeouts seen so far (all attempts)."""
        self._recent: deque[float] = deque(maxlen=window)
        self._in_a_row = 0

    @property
    def seconds(self) -> float:
        """The timeout for the next attempt."""
        slowest = max(self._recent, default=0.0)
        base = max(self.floor_s, self.factor * slowest)
        return min(self.ceiling_s, base * 2.0 ** min(self._in_a_row, 16))

    def on_answer(self, latency_s: float) -> None:
        """An attempt got an answer (any HTTP status) after ``latency_s``."""
        self._recent.append(latency_s)
        self._in_a_row = 0

    def on_timeout(self) -> None:
        """An attempt timed out: the next one waits twice as long (a slow endpoint is not a dead one)."""
        self.timeouts += 1
        self._in_a_row += 1
