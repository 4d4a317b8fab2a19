"""How close ``llmsde run --dry-run`` comes to what the same study then uses, per model (issue 14).

Plans a study with :func:`llmsde.api.dry_run`, runs it (offline surrogate models unless the config names real
endpoints, which then cost money), and prints per model the estimated and measured calls, prompt and
completion tokens and cost, with the ratio estimate / measured (1.00 is exact; the test suite requires
0.75-1.25 for the surrogate). Also prints the wall time of the dry run itself against the run's, since a plan
must stay cheap next to what it plans.

Run: ``python benchmarks/bench_models_estimate.py [CONFIG] [--history full]`` (default configs/models.toml;
about half a minute on two cores).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from llmsde import api
from llmsde.config import load_config


def _ratio(est: float | None, got: float | None) -> str:
    if est is None or not got:
        return "n/a"
    return f"{est / got:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?", default=str(Path(__file__).parents[1] / "configs" / "models.toml"))
    parser.add_argument("--history", choices=("last", "full"), default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        overrides = {"out": out, "provider.history": args.history}
        config = load_config(args.config, overrides)
        t0 = time.perf_counter()
        plan = api.dry_run(config)
        t_plan = time.perf_counter() - t0
        summary = api.run_study(config)
        measured = summary.usage.get("by_model") or {"": summary.usage}
    header = ("model", "calls est/got", "prompt est", "prompt got", "ratio", "compl est", "compl got", "ratio",
              "cost ratio")  # fmt: skip
    print(" | ".join(header))
    for m, got in zip(plan.models, measured.values(), strict=True):
        print(
            " | ".join(
                (
                    m.label,
                    f"{m.calls}/{got['calls']}",
                    str(m.est_prompt_tokens),
                    str(got["prompt_tokens"]),
                    _ratio(m.est_prompt_tokens, got["prompt_tokens"]),
                    str(m.est_completion_tokens),
                    str(got["completion_tokens"]),
                    _ratio(m.est_completion_tokens, got["completion_tokens"]),
                    _ratio(m.est_cost_usd, got.get("cost_usd")),
                )
            )
        )
    print(f"dry run {t_plan:.2f} s vs run {summary.wall_s:.1f} s (ratio {t_plan / summary.wall_s:.3f})")


if __name__ == "__main__":
    main()
