"""The retry policy and the circuit breaker, driven by scripted failures and a recording sleep."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import pytest

from llmsde.providers.base import EndpointUnavailable
from llmsde.providers.retry import (
    CircuitBreaker,
    Failure,
    RetryOutcome,
    RetryPolicy,
    call_with_retries,
    parse_retry_after,
)


class Flaky(Exception):
    def __init__(self, retryable: bool = True, retry_after: float | None = None) -> None:
        super().__init__("flaky")
        self.retryable = retryable
        self.retry_after = retry_after


def classify(exc: Exception) -> Failure | None:
    if isinstance(exc, Flaky):
        return Failure(f"flaky retryable={exc.retryable}", exc.retryable, exc.retry_after)
    return None


def scripted(outcomes: list[Exception | str]) -> tuple[Callable[[], Awaitable[str]], list[int]]:
    calls = [0]

    async def call() -> str:
        item = outcomes[min(calls[0], len(outcomes) - 1)]
        calls[0] += 1
        if isinstance(item, Exception):
            raise item
        return item

    return call, calls


class SleepLog:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def test_succeeds_after_retryable_failures_and_counts_them() -> None:
    call, calls = scripted([Flaky(), Flaky(), "ok"])
    sleep = SleepLog()
    out = asyncio.run(call_with_retries(call, classify, RetryPolicy(5, 0.5, 30), random.Random(0), sleep=sleep))
    assert (out.value, out.failure, out.retries, calls[0]) == ("ok", None, 2, 3)
    assert len(sleep.waits) == 2
    assert 0.25 <= sleep.waits[0] <= 0.5 and 0.5 <= sleep.waits[1] <= 1.0


def test_bounded_retries_then_failure_returned_not_raised() -> None:
    call, calls = scripted([Flaky()])
    sleep = SleepLog()
    out = asyncio.run(call_with_retries(call, classify, RetryPolicy(3, 1.0, 2.5), random.Random(1), sleep=sleep))
    assert out.value is None and out.failure is not None and out.retries == 3 and calls[0] == 4
    assert max(sleep.waits) <= 2.5


def test_non_retryable_failure_is_not_retried() -> None:
    call, calls = scripted([Flaky(retryable=False)])
    sleep = SleepLog()
    out = asyncio.run(call_with_retries(call, classify, RetryPolicy(5), random.Random(0), sleep=sleep))
    assert out.failure is not None and not out.failure.retryable
    assert (out.retries, calls[0], sleep.waits) == (0, 1, [])


def test_retry_after_is_honoured_and_capped() -> None:
    call, _ = scripted([Flaky(retry_after=3.0), Flaky(retry_after=500.0), "ok"])
    sleep = SleepLog()
    asyncio.run(call_with_retries(call, classify, RetryPolicy(5, 0.01, 10.0), random.Random(0), sleep=sleep))
    assert 3.0 <= sleep.waits[0] <= 3.3
    assert 10.0 <= sleep.waits[1] <= 11.0


def test_unclassified_exception_propagates() -> None:
    call, _ = scripted([KeyError("bug")])
    with pytest.raises(KeyError):
        asyncio.run(call_with_retries(call, classify, RetryPolicy(5), random.Random(0), sleep=SleepLog()))


def test_delay_grows_exponentially_with_jitter_and_cap() -> None:
    policy = RetryPolicy(10, 0.5, 4.0)
    rng = random.Random(3)
    ceilings = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    for i, ceiling in enumerate(ceilings):
        draws = [policy.delay(i, rng) for _ in range(200)]
        assert min(draws) >= ceiling / 2 and max(draws) <= ceiling
        assert max(draws) - min(draws) > ceiling / 10


def test_breaker_opens_after_threshold_consecutive_failed_calls() -> None:
    breaker = CircuitBreaker(3, "endpoint http://x/v1")
    call, calls = scripted([Flaky()])
    policy = RetryPolicy(1, 0.01, 0.01)
    for _ in range(2):
        out = asyncio.run(call_with_retries(call, classify, policy, random.Random(0), breaker, SleepLog()))
        assert out.failure is not None
    with pytest.raises(EndpointUnavailable) as info:
        asyncio.run(call_with_retries(call, classify, policy, random.Random(0), breaker, SleepLog()))
    assert calls[0] == 6
    message = info.value.message
    assert "\n" not in message and "3 calls in a row" in message and info.value.breaker_open
    with pytest.raises(EndpointUnavailable):
        asyncio.run(call_with_retries(call, classify, policy, random.Random(0), breaker, SleepLog()))
    assert calls[0] == 6


def test_success_resets_the_breaker_count() -> None:
    breaker = CircuitBreaker(2, "endpoint")
    policy = RetryPolicy(0)
    outcomes: list[Exception | str] = [Flaky(), "ok", Flaky(), "ok", Flaky()]
    for outcome in outcomes:
        call, _ = scripted([outcome])
        asyncio.run(call_with_retries(call, classify, policy, random.Random(0), breaker, SleepLog()))
    assert not breaker.is_open and breaker.consecutive_failures == 1


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "2"}, 2.0),
        ({"retry-after": "0.25"}, 0.25),
        ({"retry-after-ms": "150", "retry-after": "9"}, 0.15),
        ({"retry-after": "soon"}, None),
        ({"retry-after": "-1"}, None),
        ({}, None),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:10 GMT"}, 10.0),
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    now = 1445412480.0  # 07:28:00 GMT on that day
    got = parse_retry_after(headers, now=now)
    assert got == pytest.approx(expected) if expected is not None else got is None


def test_a_failure_about_the_request_resets_the_breaker_and_a_fatal_one_opens_it() -> None:
    breaker = CircuitBreaker(2, "endpoint")
    policy = RetryPolicy(0)

    async def fail(failure: Failure) -> RetryOutcome[str]:
        async def call() -> str:
            raise Flaky(failure.retryable)

        return await call_with_retries(call, lambda _e: failure, policy, random.Random(0), breaker, SleepLog())

    asyncio.run(fail(Failure("HTTP 500", False)))
    assert breaker.consecutive_failures == 1
    out = asyncio.run(fail(Failure("context length exceeded", False, endpoint=False)))
    assert out.failure is not None and not breaker.is_open and breaker.consecutive_failures == 0
    with pytest.raises(EndpointUnavailable) as info:
        asyncio.run(fail(Failure("HTTP 401: bad key", False, fatal=True)))
    assert info.value.breaker_open and "failed a call" in info.value.message
