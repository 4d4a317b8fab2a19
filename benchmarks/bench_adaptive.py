"""Adaptive concurrency: a study started at ``--concurrency 32`` against servers with 1 and 4 slots.

``llmsde serve --slots S --tokens-per-s R`` generates at most S replies at once (others queue, as in
llama.cpp's server), each taking ``completion tokens / R`` seconds of a slot. Its capacity in this run is
therefore known exactly: ``S x R / mean completion tokens`` calls per second, from the tokens the run's own
replies had. A study (``api.run_study``: HTTP, extraction, bandit, radon, sandboxed tests, SQLite) is run with
32 sessions in flight; the table gives its iterations per second as a ratio of what the server can serve, the
number of timed-out attempts, and the concurrency the adaptive limit settled on. Targets: ratio >= 0.9 and no
timeout. ``--fixed`` adds the same study with the adaptive limit off (32 requests sent at once), the
behaviour before this change, as the baseline.

``--requests-only SECONDS`` measures the provider alone instead (32 callers of ``OpenAIProvider.complete``, no
scoring): its capacity is ``min(slots, 32) x R / mean completion tokens``, so a server with more slots than
the ceiling (``--slots 64``) shows whether a fast endpoint is used up to the ceiling.

The server runs in its own process, as a real endpoint would. Usage::

    python benchmarks/bench_adaptive.py [--slots 1,4] [--tokens-per-s 150] [--timeout 10] [--fixed]
                                        [--requests-only SECONDS]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import tempfile
import time
from collections.abc import Callable
from typing import Any

from _serve import start_serve

from llmsde import api
from llmsde.config import ProviderConfig, build_config
from llmsde.providers.openai_compat import OpenAIProvider
from llmsde.tasks import load_tasks
from llmsde.tasks.strategies import get_strategy
from llmsde.types import GenerationParams

SESSIONS_PER_STRATEGY, STRATEGIES, ITERATIONS, CONCURRENCY = 8, ["EF", "SF", "FF", "AI"], 3, 32


def start_server(slots: int, tokens_per_s: float) -> tuple[subprocess.Popen[bytes], str]:
    """``llmsde serve --slots --tokens-per-s`` in a child process; returns it and its base URL once it answers."""
    return start_serve("--slots", str(slots), "--tokens-per-s", str(tokens_per_s))


def run_one(url: str, slots: int, tokens_per_s: float, timeout: float, adaptive: bool) -> list[str]:
    """One study against the server; one table row."""
    provider: dict[str, Any] = {
        "name": "openai",
        "base_url": url,
        "model": "surrogate",
        "timeout_s": timeout,
        "max_retries": 2,
        "adaptive": adaptive,
    }
    with tempfile.TemporaryDirectory() as out:
        config = build_config(
            {
                "sessions": SESSIONS_PER_STRATEGY,
                "strategies": STRATEGIES,
                "iterations": ITERATIONS,
                "concurrency": CONCURRENCY,
                "out": out,
                "provider": provider,
            }
        )
        summary = api.run_study(config)
    [endpoint] = summary.concurrency["endpoints"]
    calls = summary.usage["calls"]
    mean_tokens = summary.usage["completion_tokens"] / calls if calls else float("nan")
    capacity_calls = slots * tokens_per_s / mean_tokens
    capacity_its = capacity_calls * summary.iterations / max(calls, 1)
    its = summary.new_iterations / summary.wall_s
    return [
        str(slots),
        "adaptive" if adaptive else "fixed",
        summary.status,
        f"{summary.new_iterations}",
        f"{its:.2f}",
        f"{capacity_its:.2f}",
        f"{its / capacity_its:.2f}",
        str(endpoint["timeouts"]),
        str(endpoint["settled"]),
        str(endpoint["peak_in_flight"]),
        f"{summary.wall_s:.1f}",
    ]


def run_requests(
    url: str, slots: int, tokens_per_s: float, timeout: float, adaptive: bool, seconds: float
) -> list[str]:
    """32 callers of the provider alone for ``seconds``; one table row."""
    config = {"name": "openai", "base_url": url, "timeout_s": timeout, "max_retries": 2, "adaptive": adaptive}
    provider = OpenAIProvider(ProviderConfig.model_validate(config), seed=0)
    tasks = [t for t in load_tasks(["builtin"]) if t.seed_code is not None]
    strategy = get_strategy("EF", {})
    tokens: list[int] = []

    async def caller(i: int, end: float) -> None:
        n = 0
        while time.monotonic() < end:
            task = tasks[(i + n) % len(tasks)]
            seed = i * 1000 + n
            done = await provider.complete(
                strategy.messages(task, task.seed_code or "", 1, seed), GenerationParams(seed=seed)
            )
            tokens.append(done.usage.completion_tokens)
            n += 1

    async def go() -> float:
        start = time.monotonic()
        try:
            await asyncio.gather(*(caller(i, start + seconds) for i in range(CONCURRENCY)))
        finally:
            await provider.aclose()
        return time.monotonic() - start

    wall = asyncio.run(go())
    report = provider.concurrency_report()
    capacity = min(slots, CONCURRENCY) * tokens_per_s / (sum(tokens) / len(tokens))
    rate = len(tokens) / wall
    return [
        str(slots),
        "adaptive" if adaptive else "fixed",
        str(len(tokens)),
        f"{rate:.2f}",
        f"{capacity:.2f}",
        f"{rate / capacity:.2f}",
        str(report["timeouts"]),
        str(report["settled"] if adaptive else CONCURRENCY),
        str(report["peak_in_flight"]),
        f"{wall:.1f}",
    ]


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _measure(
    args: argparse.Namespace, header: list[str], measure: Callable[[str, int, bool], list[str]]
) -> list[list[str]]:
    """One row per (slots, limit): a fresh server each, ``measure(url, slots, adaptive)``, printed as it comes."""
    rows = []
    for slots in [int(s) for s in args.slots.split(",") if s.strip()]:
        for adaptive in [True, False] if args.fixed else [True]:
            server, url = start_server(slots, args.tokens_per_s)
            try:
                rows.append(measure(url, slots, adaptive))
            finally:
                server.terminate()
                server.wait(timeout=30)
            print(_table(header, rows[-1:]), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slots", default="1,4", help="comma list of server slot counts")
    parser.add_argument("--tokens-per-s", type=float, default=150.0, help="generation speed per slot")
    parser.add_argument("--timeout", type=float, default=10.0, help="provider.timeout_s of the client")
    parser.add_argument("--fixed", action="store_true", help="also run with the adaptive limit off (baseline)")
    parser.add_argument("--requests-only", type=float, default=0.0, metavar="SECONDS", help="provider alone")
    args = parser.parse_args()
    if args.requests_only > 0:
        _requests_table(args)
        return
    header = [
        "slots",
        "limit",
        "status",
        "iterations",
        "it/s",
        "capacity it/s",
        "ratio",
        "timeouts",
        "settled",
        "peak in flight",
        "wall s",
    ]
    rows = _measure(
        args, header, lambda url, slots, adaptive: run_one(url, slots, args.tokens_per_s, args.timeout, adaptive)
    )
    print(
        f"\n{SESSIONS_PER_STRATEGY * len(STRATEGIES)} sessions x {ITERATIONS} iterations, --concurrency {CONCURRENCY},"
        f" {args.tokens_per_s:g} tokens/s per slot, timeout_s {args.timeout:g}\n"
    )
    print(_table(header, rows))


def _requests_table(args: argparse.Namespace) -> None:
    header = [
        "slots",
        "limit",
        "calls",
        "calls/s",
        "capacity calls/s",
        "ratio",
        "timeouts",
        "settled",
        "peak",
        "wall s",
    ]
    rows = _measure(
        args,
        header,
        lambda url, slots, adaptive: run_requests(
            url, slots, args.tokens_per_s, args.timeout, adaptive, args.requests_only
        ),
    )
    print(f"\n{CONCURRENCY} callers, {args.tokens_per_s:g} tokens/s per slot, timeout_s {args.timeout:g}\n")
    print(_table(header, rows))


if __name__ == "__main__":
    main()
