"""Scaling of the Ray executor: iterations/s of one scoring-bound study on 1 and 2 worker CPUs, and the driver's
own CPU per iteration.

The study uses the offline surrogate model (answers in microseconds), so what limits it is scoring: bandit,
radon, the sandboxed tests and the timed workload, ~50 ms of CPU per iteration. Each row starts a fresh local
Ray instance with exactly that many CPUs and one scoring actor per CPU; the rate is taken from the first to the
last commit, so Ray's start-up and the actors' warm-up are not counted. The ratio 2 workers / 1 worker is what
one more worker CPU buys; on N machines the expected rate is about N x cores x the 1-worker rate, as long as the
driver keeps up: its CPU per iteration (measured with ``time.process_time`` over the driver process, Ray's client
threads included) minus the surrogate model's own CPU (which a real endpoint spends elsewhere) is the driver's
overhead: prompt, extraction, Ray submit/receive, SQLite commit. One driver core feeds about 1000 / that many
iterations/s.

A ``local`` row (the default executor, threads in this process) is measured in the same run as a reference.

Usage::

    python benchmarks/bench_ray.py [--sessions 6] [--iterations 8] [--workers 1,2] [--repeats 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from typing import Any

from llmsde import api
from llmsde.config import build_config
from llmsde.runner import study


class _TimedModel:
    """Counts the CPU the (in-process, synchronous) surrogate model spends, so it can be told apart from the
    driver's own work: with a real endpoint the model runs elsewhere."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.cpu_s = inner, 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def complete(self, messages: Any, params: Any) -> Any:
        start = time.thread_time()
        result = await self.inner.complete(messages, params)
        self.cpu_s += time.thread_time() - start
        return result


_models: list[_TimedModel] = []
_make_provider = study._provider


def _timed_provider(config: Any) -> Any:
    _models.append(_TimedModel(_make_provider(config)))
    return _models[-1]


study._provider = _timed_provider


def _measure(kind: str, workers: int, args: argparse.Namespace, out: str) -> dict[str, Any]:
    commits: list[float] = []
    cpu: list[float] = []

    def on_progress(p: api.Progress) -> None:
        if p.new_iterations:
            commits.append(time.perf_counter())
            cpu.append(time.process_time())

    config = build_config(
        {
            "sessions": args.sessions,
            "iterations": args.iterations,
            "concurrency": args.concurrency,
            "seed": 11,
            "out": out,
            "executor": {"kind": kind, "workers": workers},
            "sandbox": {"slots": workers} if kind == "local" else {},
        }
    )
    summary = api.run_study(config, on_progress=on_progress)
    n = len(commits) - 1
    span = commits[-1] - commits[0]
    model_ms = 1000 * _models[-1].cpu_s / summary.new_iterations
    return {
        "executor": kind,
        "workers": workers,
        "iterations": summary.new_iterations,
        "it_s": n / span,
        "driver_ms": 1000 * (cpu[-1] - cpu[0]) / n,
        "model_ms": model_ms,
        "wall_s": summary.wall_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=6, help="sessions per strategy (4 strategies)")
    parser.add_argument("--iterations", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=16, help="sessions in flight")
    parser.add_argument("--workers", default="1,2", help="worker CPUs to compare, comma-separated")
    parser.add_argument("--repeats", type=int, default=1, help="runs per row; the median is reported")
    parser.add_argument("--no-local", action="store_true", help="skip the local-executor reference rows")
    args = parser.parse_args()
    counts = [int(w) for w in args.workers.split(",") if w.strip()]
    rows: list[dict[str, Any]] = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as out:
        kinds = ["ray"] if args.no_local else ["local", "ray"]
        for kind in kinds:
            for workers in counts:
                runs = [_measure(kind, workers, args, out) for _ in range(args.repeats)]
                best = sorted(runs, key=lambda r: r["it_s"])[len(runs) // 2]
                best["spread"] = (min(r["it_s"] for r in runs), max(r["it_s"] for r in runs))
                best["driver_ms"] = statistics.median(r["driver_ms"] for r in runs)
                best["model_ms"] = statistics.median(r["model_ms"] for r in runs)
                rows.append(best)
    base = {r["executor"]: r["it_s"] for r in rows if r["workers"] == counts[0]}
    print("| executor | worker CPUs | iterations | it/s | vs 1 worker | driver CPU ms/it | of which model | "
          "driver own ms/it | wall s |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        ratio = r["it_s"] / base[r["executor"]]
        own = "-" if r["executor"] == "local" else f"{r['driver_ms'] - r['model_ms']:.2f}"
        print(
            f"| {r['executor']} | {r['workers']} | {r['iterations']} | {r['it_s']:.1f} | {ratio:.2f}x "
            f"| {r['driver_ms']:.2f} | {r['model_ms']:.2f} | {own} | {r['wall_s']:.1f} |"
        )
    print("(local: the driver process also scores, so its CPU is not overhead; '-' there)")
    ray_rows = {r["workers"]: r for r in rows if r["executor"] == "ray"}
    if 1 in ray_rows and 2 in ray_rows:
        ratio = ray_rows[2]["it_s"] / ray_rows[1]["it_s"]
        own = max(r["driver_ms"] - r["model_ms"] for r in ray_rows.values())
        print(f"ray 2 vs 1 worker CPUs: {ratio:.2f}x (target >= 1.7x); driver own <= {own:.2f} ms/it (target < 2 ms)")
    print(f"load average (1 min) before / after: {load_before:.1f} / {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
