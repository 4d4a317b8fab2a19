"""The adaptive limit and the latency timeout, fed by a discrete-event model of a server with c slots.

The model runs in virtual time (no clock, no sleeping), so these tests do not depend on an idle machine: a
closed loop of clients that always want to send, a gate that admits up to ``AdaptiveLimit.current``, and a
FIFO server whose replies take ``tokens / tokens_per_s`` seconds of a slot.
"""

from __future__ import annotations

import asyncio
import heapq
import random
from dataclasses import dataclass

import pytest

from llmsde.providers.adaptive import AdaptiveLimit, LatencyTimeout
from llmsde.providers.limits import EndpointLimits


@dataclass
class Outcome:
    served_per_s: float
    capacity_per_s: float
    max_latency_s: float
    mean_service_s: float
    limit: AdaptiveLimit


def simulate(slots: int, ceiling: int, n_requests: int = 1500, seed: int = 0, tps: float = 100.0) -> Outcome:
    """Serve ``n_requests`` replies of 20-200 tokens through the gate; return throughput and worst latency."""
    rng = random.Random(seed)
    limit = AdaptiveLimit(ceiling)
    now, sent, done, in_flight = 0.0, 0, 0, 0
    free_at = [0.0] * slots
    events: list[tuple[float, int, float, int]] = []  # (finish, seq, sent at, tokens)
    max_latency, service_total = 0.0, 0.0
    while done < n_requests:
        while in_flight < limit.current and sent < n_requests:
            tokens = rng.randint(20, 200)
            service = tokens / tps
            service_total += service
            slot = min(range(slots), key=free_at.__getitem__)
            finish = max(now, free_at[slot]) + service
            free_at[slot] = finish
            in_flight += 1
            sent += 1
            seq = limit.on_sent(in_flight)
            heapq.heappush(events, (finish, seq, now, tokens))
        finish, seq, started, tokens = heapq.heappop(events)
        now = finish
        in_flight -= 1
        done += 1
        latency = finish - started
        max_latency = max(max_latency, latency)
        limit.on_answer(latency, tokens, seq)
    mean_service = service_total / sent
    capacity = min(slots, ceiling) / mean_service
    return Outcome(done / now, capacity, max_latency, mean_service, limit)


@pytest.mark.parametrize("slots", [1, 2, 4])
def test_a_small_server_is_kept_busy_without_a_long_queue(slots: int) -> None:
    out = simulate(slots, ceiling=32)
    assert out.served_per_s >= 0.9 * out.capacity_per_s
    assert out.limit.settled() <= 3 * slots
    assert out.max_latency_s <= 8 * slots * 2.0  # never near a 60 s timeout: replies take at most 2 s


def test_a_one_slot_server_at_concurrency_eight_never_queues_past_a_few_replies() -> None:
    out = simulate(1, ceiling=8, n_requests=600)
    assert out.limit.settled() <= 3 and out.limit.peak_in_flight <= 4
    assert out.served_per_s >= 0.9 * out.capacity_per_s


def test_a_fast_endpoint_is_used_up_to_the_ceiling() -> None:
    out = simulate(slots=64, ceiling=32, n_requests=4000)
    assert out.limit.settled() == 32 and out.limit.current == 32
    assert out.served_per_s >= 0.9 * out.capacity_per_s


def test_slow_start_begins_at_one_and_doubles_while_latency_is_flat() -> None:
    limit = AdaptiveLimit(64)
    seen = [limit.current]
    for _ in range(6):
        seqs = [limit.on_sent(i + 1) for i in range(limit.current)]
        for seq in seqs:
            limit.on_answer(1.0, 100, seq)
        seen.append(limit.current)
    assert seen == [1, 2, 4, 8, 16, 32, 64]


def test_overload_halves_once_per_queue_and_never_below_one() -> None:
    limit = AdaptiveLimit(64, initial=16)
    before = [limit.on_sent(i + 1) for i in range(16)]
    limit.on_overload(before[0])
    limit.on_overload(before[1])
    assert limit.current == 8 and limit.overloads == 2 and not limit.slow_start
    for _ in range(20):
        limit.on_overload(limit.on_sent(1))
    assert limit.current == 1


def test_answers_from_before_a_cut_do_not_cut_again() -> None:
    limit = AdaptiveLimit(64, initial=16)
    for seq in [limit.on_sent(1) for _ in range(16)]:
        limit.on_answer(1.0, 99, seq)
    assert limit.current == 16 and limit.baseline == pytest.approx(0.01)
    queued = [limit.on_sent(i + 1) for i in range(16)]
    for seq in queued:
        limit.on_answer(4.0, 99, seq)
    assert limit.current == 8
    fresh = [limit.on_sent(i + 1) for i in range(8)]
    for seq in queued:
        limit.on_answer(4.0, 99, seq)
    assert limit.current == 8
    for seq in fresh:
        limit.on_answer(1.5, 99, seq)
    assert limit.current == 9


def test_a_rounds_cost_averages_a_fixed_overhead_over_its_replies() -> None:
    limit = AdaptiveLimit(64, initial=4)
    for tokens in (10, 100, 300, 30):
        limit.on_answer(1.0 + tokens / 100, tokens, limit.on_sent(1))
    first = limit.baseline
    assert first == pytest.approx((4 + 4.4) / (440 + 4))
    for tokens in (300, 10, 30, 100):
        limit.on_answer(1.0 + tokens / 100, tokens, limit.on_sent(1))
    assert limit.baseline == pytest.approx(first) and limit.current == 4, "same mix, no queue: nothing changes"


def test_an_idle_client_does_not_grow_the_limit() -> None:
    limit = AdaptiveLimit(64, initial=4)
    for _ in range(40):
        limit.on_answer(1.0, 100, limit.on_sent(1))
    assert limit.current == 4 and limit.settled() == 1


def test_answers_that_were_alone_replace_a_stale_baseline() -> None:
    limit = AdaptiveLimit(1)
    limit.on_answer(0.1, 99, limit.on_sent(1))
    assert limit.baseline == pytest.approx(0.001)
    for latency in (1.2, 0.9, 1.0, 1.1, 0.8):
        limit.on_answer(latency, 99, limit.on_sent(1), alone=True)
    assert limit.baseline == pytest.approx(0.01)
    limit.on_answer(2.0, 99, limit.on_sent(1))
    limit.on_answer(0.5, 99, limit.on_sent(1), alone=True)
    assert limit.baseline == pytest.approx(0.005), "between rebaselines the lowest cost counts"


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="ceiling"):
        AdaptiveLimit(0)
    with pytest.raises(ValueError, match="tolerance"):
        AdaptiveLimit(4, tolerance=1.0)


def test_timeout_is_at_least_the_configured_one_and_grows_with_latency_and_timeouts() -> None:
    timeout = LatencyTimeout(60.0, 600.0)
    assert timeout.seconds == 60.0
    timeout.on_answer(5.0)
    assert timeout.seconds == 60.0
    timeout.on_answer(40.0)
    assert timeout.seconds == 160.0
    timeout.on_timeout()
    timeout.on_timeout()
    assert timeout.seconds == 600.0 and timeout.timeouts == 2
    timeout.on_answer(1.0)
    assert timeout.seconds == 160.0


def test_the_gate_admits_one_request_at_first_and_more_once_answers_come_back() -> None:
    async def go() -> list[int]:
        limits = EndpointLimits(8, None, None)
        peaks: list[int] = []

        async def one(release: asyncio.Event) -> None:
            async with limits.slot(10) as ticket:
                peaks.append(limits.in_flight)
                await release.wait()
                ticket.answered(100)

        first, second = asyncio.Event(), asyncio.Event()
        tasks = [asyncio.ensure_future(one(first)), asyncio.ensure_future(one(second))]
        for _ in range(5):
            await asyncio.sleep(0)
        assert peaks == [1], "the limit starts at 1: the second request waits"
        first.set()
        second.set()
        await asyncio.gather(*tasks)
        assert limits.control.current == 2
        events = [asyncio.Event() for _ in range(3)]
        more = [asyncio.ensure_future(one(e)) for e in events]
        for _ in range(5):
            await asyncio.sleep(0)
        assert peaks[2:] == [1, 2], "at limit 2 the third request waits"
        for e in events:
            e.set()
        await asyncio.gather(*more)
        return peaks

    assert len(asyncio.run(go())) == 5
