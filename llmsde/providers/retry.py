"""Bounded retries with exponential backoff, Retry-After, and a circuit breaker.

The policy is ours, not the SDK's, so every retry is counted on the Completion and the total wait is bounded:
at most ``max_retries`` retries per call, each wait capped at ``max_delay_s`` (a server's ``Retry-After`` too,
so a hostile or confused server cannot park the run for hours). The breaker turns a dead endpoint into
:class:`~llmsde.providers.base.EndpointUnavailable` with ``breaker_open`` set after ``threshold`` consecutive
failed calls (or at once for a failure marked ``fatal``, such as a rejected key), so every session of that
provider stops at its next call instead of retrying for days.

Only endpoint failures count against the breaker: an answer that is about the request (a prompt longer than
the model's context) shows the endpoint works, and resets the count like a success.

This module knows nothing of HTTP or the openai SDK: callers pass a ``classify`` function that maps an
exception to a :class:`Failure` (or None for exceptions that are bugs and must propagate).
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from llmsde.providers.base import EndpointUnavailable

__all__ = [
    "CircuitBreaker",
    "Failure",
    "RetryOutcome",
    "RetryPolicy",
    "call_with_retries",
    "parse_retry_after",
]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed attempt, as the caller's classifier sees it."""

    message: str
    """One line, already free of secrets; becomes ``Completion.error`` if this was the last attempt."""
    retryable: bool
    retry_after_s: float | None = None
    """The server's requested wait (``Retry-After``), when it gave one."""
    endpoint: bool = True
    """True when the endpoint failed (connection, timeout, 429/5xx, a rejected key); False when the answer is
    about this request and is data (a context-length error)."""
    fatal: bool = False
    """An endpoint failure that every further call would meet too (401, 403, 404): opens the breaker at once."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many retries, and how long to wait before each."""

    max_retries: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0

    def delay(self, retry_index: int, rng: random.Random, retry_after_s: float | None = None) -> float:
        """Wait before retry number ``retry_index`` (0-based).

        Without Retry-After: "equal jitter", uniform in [d/2, d] with d = base * 2**i capped at max, so
        concurrent callers spread out but never retry immediately. With Retry-After: that wait (capped) plus
        up to 10% jitter, so a burst of 429s does not come back as a synchronised burst.
        """
        if retry_after_s is not None and retry_after_s >= 0:
            wait = min(retry_after_s, self.max_delay_s)
            return wait + rng.uniform(0.0, 0.1 * wait)
        ceiling = min(self.max_delay_s, self.base_delay_s * (2.0 ** min(retry_index, 62)))
        return rng.uniform(ceiling / 2.0, ceiling)


@dataclass(frozen=True, slots=True)
class RetryOutcome(Generic[T]):
    """What a call came to after its retries: a value, or the last failure; never both."""

    value: T | None
    failure: Failure | None
    retries: int
    """Attempts made after the first one."""
    last_attempt_s: float
    """Wall time of the final attempt alone (the server's answer time, without backoff waits)."""


class CircuitBreaker:
    """Opens after ``threshold`` consecutive failed calls; once open, every call raises EndpointUnavailable.

    Shared by all concurrent calls of one provider. A success closes the count again. It is not a half-open
    breaker that probes the endpoint later: a run whose endpoint died should stop and be resumed by a person,
    since the store is intact and ``--resume`` loses nothing.
    """

    def __init__(self, threshold: int, describe: str) -> None:
        self.threshold = threshold
        self.describe = describe
        """What failed, for the message, e.g. ``endpoint http://127.0.0.1:8000/v1``."""
        self.consecutive_failures = 0
        self._error: EndpointUnavailable | None = None

    @property
    def is_open(self) -> bool:
        """True once the threshold was reached."""
        return self._error is not None

    def check(self) -> None:
        """Raise the breaker's EndpointUnavailable if it is open; called before every attempt."""
        if self._error is not None:
            raise self._error

    def record_success(self) -> None:
        """A call succeeded: reset the count of consecutive failures."""
        if self._error is None:
            self.consecutive_failures = 0

    def record_failure(self, failure: Failure) -> None:
        """A call failed after its retries: count it, and open (and raise) at the threshold or when fatal."""
        self.consecutive_failures += 1
        if self._error is None and (failure.fatal or self.consecutive_failures >= self.threshold):
            calls = "a call" if self.consecutive_failures == 1 else f"{self.consecutive_failures} calls in a row"
            self._error = EndpointUnavailable(
                f"{self.describe} failed {calls} (last: {failure.message})", self.describe, breaker_open=True
            )
        self.check()


async def call_with_retries(
    call: Callable[[], Awaitable[T]],
    classify: Callable[[Exception], Failure | None],
    policy: RetryPolicy,
    rng: random.Random,
    breaker: CircuitBreaker | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> RetryOutcome[T]:
    """Run ``call`` until it succeeds, fails with a non-retryable Failure, or runs out of retries.

    ``classify`` returning None re-raises the exception (a bug, not a failed call). The breaker, when given,
    is checked before each attempt and told the outcome of the call as a whole (not of each attempt), so a
    flaky but working endpoint never opens it.
    """
    retries = 0
    while True:
        if breaker is not None:
            breaker.check()
        start = time.perf_counter()
        try:
            value = await call()
        except Exception as exc:
            elapsed = time.perf_counter() - start
            failure = classify(exc)
            if failure is None:
                raise
            if failure.retryable and retries < policy.max_retries:
                await sleep(policy.delay(retries, rng, failure.retry_after_s))
                retries += 1
                continue
            if breaker is not None:
                if failure.endpoint:
                    breaker.record_failure(failure)
                else:
                    breaker.record_success()
            return RetryOutcome(None, failure, retries, elapsed)
        elapsed = time.perf_counter() - start
        if breaker is not None:
            breaker.record_success()
        return RetryOutcome(value, None, retries, elapsed)


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date); None when
    absent/bad."""
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            value = float(ms) / 1000.0
        except ValueError:
            value = math.nan
        if math.isfinite(value) and value >= 0:
            return value
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
        return max(0.0, seconds)
    return seconds if math.isfinite(seconds) and seconds >= 0 else None
