"""``--provider local`` with SmolLM2-135M-Instruct: how much of the llama.cpp server's speed a study gets.

Two measurements in the same run, so the ratio holds on a busy machine too:

1. **baseline**: the server alone. :func:`llmsde.providers.local.serve_local` starts it, and the same kind of
   request a study sends (an EF prompt on a built-in task, ``max_tokens`` as in the study) is sent ``--calls``
   times in a row with httpx; completion tokens per second of wall time.
2. **study**: ``llmsde run`` (through :func:`llmsde.api.run_study`) of 2 strategies x 2 built-in tasks x 3
   iterations, the study of ``tests/providers/test_local_e2e.py``: wall time from the call to the summary
   (server start, preflight, scoring, commits included) and completion tokens per second of that wall time.

The ratio study / baseline is the share of the server's generation speed that reaches the study; what is missing
is server start-up, prompt processing, and scoring that does not overlap generation. Usage::

    python benchmarks/bench_local.py [--model PATH.gguf] [--calls 4] [--max-tokens 192]

Without ``--model`` the file is taken from the test cache (``~/.cache/llmsde/models`` or
``$LLMSDE_MODEL_CACHE``); run the real-model tests once to fill it.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import httpx

from llmsde.api import run_study
from llmsde.config import ProviderConfig, build_config
from llmsde.providers.local import serve_local
from llmsde.tasks import builtin_tasks, get_strategy

TASKS = ["dedupe_emails", "word_frequencies"]


def _default_model() -> Path:
    cache = Path(os.environ.get("LLMSDE_MODEL_CACHE") or Path.home() / ".cache" / "llmsde" / "models")
    return cache / "SmolLM2-135M-Instruct.Q4_1.gguf"


def baseline(model: Path, calls: int, max_tokens: int) -> tuple[float, int]:
    """(wall seconds, completion tokens) of ``calls`` sequential study-like requests to the server alone."""
    task = next(t for t in builtin_tasks() if t.id == TASKS[0])
    messages = get_strategy("EF").messages(task, task.seed_code or "", 1, 0)
    config = ProviderConfig(name="local", model=str(model), max_tokens=max_tokens)
    with serve_local(config) as served:
        body = {
            "model": served.model,
            "messages": [m.to_dict() for m in messages],
            "max_tokens": max_tokens,
            "temperature": 0.7,
        }
        tokens = 0
        start = time.perf_counter()
        for seed in range(calls):
            reply = httpx.post(f"{served.base_url}/chat/completions", json={**body, "seed": seed}, timeout=600)
            reply.raise_for_status()
            tokens += int(reply.json()["usage"]["completion_tokens"])
        return time.perf_counter() - start, tokens


def study(model: Path, max_tokens: int) -> tuple[float, int, int]:
    """(wall seconds, completion tokens, calls) of the SmolLM2 study."""
    with tempfile.TemporaryDirectory() as out:
        config = build_config(
            {
                "sessions": 2,
                "iterations": 3,
                "strategies": ["EF", "SF"],
                "tasks": TASKS,
                "out": out,
                "provider": {"name": "local", "model": str(model), "max_tokens": max_tokens},
            }
        )
        start = time.perf_counter()
        summary = run_study(config)
        wall = time.perf_counter() - start
    return wall, int(summary.usage["completion_tokens"]), int(summary.usage["calls"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=_default_model())
    parser.add_argument("--calls", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=192)
    args = parser.parse_args()
    base_wall, base_tokens = baseline(args.model, args.calls, args.max_tokens)
    study_wall, study_tokens, calls = study(args.model, args.max_tokens)
    base_rate, study_rate = base_tokens / base_wall, study_tokens / study_wall
    load = os.getloadavg()[0]
    print(f"SmolLM2 study on {os.cpu_count()} cores (load average {load:.1f}), max_tokens {args.max_tokens}")
    print(f"{'measurement':<34}{'wall s':>9}{'calls':>7}{'tokens':>8}{'tokens/s':>10}{'ratio':>7}")
    print(f"{'baseline: server alone':<34}{base_wall:>9.1f}{args.calls:>7}{base_tokens:>8}{base_rate:>10.1f}{1:>7.2f}")
    print(
        f"{'study: 2 x 2 x 3, run to summary':<34}{study_wall:>9.1f}{calls:>7}{study_tokens:>8}"
        f"{study_rate:>10.1f}{study_rate / base_rate:>7.2f}"
    )


if __name__ == "__main__":
    main()
