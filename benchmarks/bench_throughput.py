"""Throughput of the OpenAI-compatible path against ``llmsde serve --latency L``, versus the ideal c / L.

Two tables:

1. **requests/s**: ``OpenAIProvider.complete`` (real openai SDK, retries, limits) from one asyncio loop,
   with c requests in flight against a server whose every answer takes L seconds. The ideal is c / L; the
   ratio shows the client's and server's overhead.
2. **iterations/s**: a whole study (``api.run_study``: prompt, HTTP call, extraction, bandit, radon, sandboxed
   tests and timing, SQLite commit) with c sessions in flight. Its ideal is also c / L (the model time alone),
   so the ratio falls once scoring, not the endpoint, is the limit: on a 2-core machine that happens at low c.

The server runs in its own process (as a real endpoint would) so the client's measurements are not sharing its
interpreter. Usage::

    python benchmarks/bench_throughput.py [--latency 0.2] [--concurrency 1,8,32,128]
                                          [--study-concurrency 1,4,16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _serve import start_serve

from llmsde.config import ProviderConfig, build_config
from llmsde.providers.openai_compat import OpenAIProvider
from llmsde.types import ChatMessage, GenerationParams

SEED_CODE = "def add(a, b):\n    total = 0\n    for x in (a, b):\n        total += x\n    return total\n"


def start_server(latency: float, jitter: float = 0.0) -> tuple[subprocess.Popen[bytes], str]:
    """``llmsde serve`` with this latency in a child process; returns it and its base URL once it answers."""
    return start_serve("--latency", str(latency), "--jitter", str(jitter))


async def _requests(url: str, concurrency: int, total: int) -> tuple[float, int]:
    config = ProviderConfig.model_validate(
        {"name": "openai", "base_url": url, "max_in_flight": concurrency, "timeout_s": 30}
    )
    provider = OpenAIProvider(config, seed=0)
    sem = asyncio.Semaphore(concurrency)
    errors = 0

    async def one(i: int) -> None:
        nonlocal errors
        async with sem:
            msg = [ChatMessage("user", f"Make this faster:\n```python\n{SEED_CODE}```\n# request {i}")]
            result = await provider.complete(msg, GenerationParams(seed=i))
            errors += result.error is not None

    try:
        await asyncio.gather(*(one(-1 - i) for i in range(concurrency)))  # open the c pooled connections
        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(total)))
        return time.perf_counter() - start, errors
    finally:
        await provider.aclose()


def _process_cpu_s(pid: int) -> float:
    """CPU seconds of another process from /proc (Linux); NaN elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_requests(url: str, latency: float, levels: list[int], server_pid: int) -> list[list[str]]:
    """One row per concurrency: requests, req/s, ideal, ratio, client and server CPU per request, errors."""
    import openai  # noqa: F401  (imported before the clock starts: its import is not per-request cost)

    rows = []
    for c in levels:
        total = max(40, 10 * c)
        cpu, server_cpu = time.process_time(), _process_cpu_s(server_pid)
        wall, errors = asyncio.run(_requests(url, c, total))
        cpu_ms = (time.process_time() - cpu) / (total + c) * 1000
        server_ms = (_process_cpu_s(server_pid) - server_cpu) / (total + c) * 1000
        rate, ideal = total / wall, c / latency
        rows.append(
            [str(c), str(total), f"{rate:.1f}", f"{ideal:.1f}", f"{rate / ideal:.2f}", f"{cpu_ms:.2f}",
             f"{server_ms:.2f}", str(errors)]
        )  # fmt: skip
    return rows


ITERATIONS = 4


def _study(out: str, c: int, provider: dict[str, object]) -> tuple[int, float]:
    """One study with c sessions in flight (about c sessions in all: one wave); (iterations, wall s)."""
    from llmsde import api

    cfg = build_config(
        {
            "sessions": max(1, c // 2),
            "iterations": ITERATIONS,
            "strategies": ["EF", "SF"],
            "concurrency": c,
            "out": out,
            "provider": provider,
        }
    )
    start = time.perf_counter()
    summary = api.run_study(cfg)
    return summary.iterations, time.perf_counter() - start


def bench_study(url: str, latency: float, levels: list[int]) -> list[list[str]]:
    """Iterations/s of whole studies; the ideal counts model time only (iteration 0 scores the seed code)."""
    rows = []
    openai = {"name": "openai", "base_url": url, "model": "surrogate", "timeout_s": 60}
    for c in levels:
        with tempfile.TemporaryDirectory() as out:
            n, wall = _study(out, c, openai)
        sessions = 2 * max(1, c // 2)
        ideal = min(c, sessions) * (ITERATIONS + 1) / (ITERATIONS * latency)
        rows.append([str(c), str(n), f"{n / wall:.1f}", f"{ideal:.1f}", f"{n / wall / ideal:.2f}", f"{wall:.1f}"])
    c = max(levels)
    label = f"{c} (in-process surrogate, no HTTP: scoring ceiling)"
    try:
        with tempfile.TemporaryDirectory() as out:
            n, wall = _study(out, c, {"name": "surrogate"})
    except Exception as exc:  # a benchmark reports a failed row rather than losing the table
        rows.append([label, "-", f"failed: {type(exc).__name__}", "-", "-", "-"])
    else:
        rows.append([label, str(n), f"{n / wall:.1f}", "-", "-", f"{wall:.1f}"])
    return rows


def _table(title: str, header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines = [title, "| " + " | ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|")
    lines += ["| " + " | ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument(
        "--jitter",
        type=float,
        default=0.0,
        help="extra server delay drawn from [0, J]; the ideals then use the mean latency L + J/2",
    )
    parser.add_argument("--concurrency", default="1,8,32,128")
    parser.add_argument("--study-concurrency", default="1,4,16", help="empty to skip the study table")
    args = parser.parse_args()
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        os.environ.pop(name, None)
    server, url = start_server(args.latency, args.jitter)
    mean_latency = args.latency + args.jitter / 2
    try:
        levels = [int(x) for x in args.concurrency.split(",") if x]
        print(
            f"server latency L = {args.latency} s + U[0, {args.jitter}] (mean {mean_latency:g} s), "
            f"{os.cpu_count()} CPUs, python {sys.version.split()[0]}"
        )
        header = ["concurrency", "requests", "req/s", "ideal c/L", "ratio", "client CPU ms/req",
                  "server CPU ms/req", "errors"]  # fmt: skip
        print(
            _table(
                "\nrequests/s (OpenAIProvider -> llmsde serve)",
                header,
                bench_requests(url, mean_latency, levels, server.pid),
            )
        )
        study_levels = [int(x) for x in args.study_concurrency.split(",") if x]
        if study_levels:
            header = ["concurrency", "iterations", "it/s", "ideal c/L", "ratio", "wall s"]
            rows = bench_study(url, mean_latency, study_levels)
            print(_table("\niterations/s (api.run_study, scoring included)", header, rows))
    finally:
        server.terminate()
        server.wait(timeout=30)
    command = (
        f"python {Path(__file__).as_posix()} --latency {args.latency} --jitter {args.jitter} "
        f"--concurrency {args.concurrency}"
    )
    print(f"\ncommand: {command} --study-concurrency {args.study_concurrency}")


if __name__ == "__main__":
    main()
