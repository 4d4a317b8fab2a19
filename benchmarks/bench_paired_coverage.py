"""Coverage of ``compare RUN --by model``'s paired CIs on synthetic two-model panels with a known difference,
next to the independent bootstraps of ``compare A B`` on the same panels (issue 14).

Each replication draws one panel: ``--tasks`` tasks x 2 replicates x one strategy, both models starting every
(task, replicate) from the same state; their noise shares a common part (same seeds) and has an own part
(``--own`` of the variance). Model b's security equilibrium is ``--shift`` above a's, both converge at rate
0.5, so the true differences are: equilibrium.security = shift, rho = 0. Printed per metric: coverage of the
true difference by the 95% CI (paired, independent), mean CI width (and the ratio paired / independent), and
the binomial standard error of a coverage at 95%, sqrt(0.95 * 0.05 / R).

Run: ``python benchmarks/bench_paired_coverage.py [--replications 60] [--bootstrap 100]`` (about 0.02 s per refit;
the default takes 3-4 minutes on two cores).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from llmsde.checks import COMPARED_METRICS, bootstrap_metrics, compare_draws, compare_models_paired

METRICS = {"equilibrium.security": "shift", "rho": 0.0}


def panel(rng: np.random.Generator, n_tasks: int, shift: float, own: float) -> tuple[np.ndarray, list[str], list[str]]:
    """Trajectories (sessions x 9 x 3), model and task per session."""
    eq_a = np.array([4.5, 5.0, 7.5])
    starts = rng.uniform(1.0, 9.0, (n_tasks, 3))
    xs, models, tasks = [], [], []
    for t in range(n_tasks):
        for _ in range(2):
            start = starts[t] + rng.normal(0, 0.2, 3)
            shared = rng.normal(0, 0.4, (8, 3))
            for model, delta in (("a", 0.0), ("b", shift)):
                eq = eq_a + np.array([delta, 0.0, 0.0])
                noise = math.sqrt(1 - own) * shared + math.sqrt(own) * rng.normal(0, 0.4, (8, 3))
                path = [start]
                for k in range(8):
                    path.append(path[-1] + 0.5 * (eq - path[-1]) + noise[k])
                xs.append(np.asarray(path))
                models.append(model)
                tasks.append(f"t{t}")
    return np.asarray(xs), models, tasks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=60)
    parser.add_argument("--bootstrap", type=int, default=100)
    parser.add_argument("--tasks", type=int, default=12)
    parser.add_argument("--shift", type=float, default=0.5)
    parser.add_argument("--own", type=float, default=0.3)
    args = parser.parse_args()
    rng = np.random.default_rng(2026)
    hits = {(m, kind): 0 for m in METRICS for kind in ("paired", "independent")}
    widths: dict[tuple[str, str], list[float]] = {key: [] for key in hits}
    started = time.perf_counter()
    for r in range(args.replications):
        x, models, tasks = panel(rng, args.tasks, args.shift, args.own)
        m = np.asarray(models)
        paired = compare_models_paired(x, models, ["S"] * len(models), tasks, n_bootstrap=args.bootstrap, seed=r)
        draws = [
            bootstrap_metrics(x[m == k], ["S"] * int((m == k).sum()), COMPARED_METRICS, args.bootstrap, seed)
            for k, seed in (("a", 2 * r), ("b", 2 * r + 1))
        ]
        independent = compare_draws(draws[0], draws[1], "a", "b")
        for kind, diffs in (("paired", paired.pairs[0].differences), ("independent", independent.differences)):
            for d in diffs:
                if d.metric in METRICS:
                    truth = args.shift if METRICS[d.metric] == "shift" else float(METRICS[d.metric])
                    hits[(d.metric, kind)] += d.lo <= truth <= d.hi
                    widths[(d.metric, kind)].append(d.hi - d.lo)
    se = math.sqrt(0.95 * 0.05 / args.replications)
    elapsed = time.perf_counter() - started
    print(
        f"{args.replications} replications, {args.bootstrap} resamples, {args.tasks} tasks x 2 replicates, "
        f"own-noise share {args.own}, binomial se of a coverage {se:.3f}, {elapsed:.0f} s"
    )
    print("metric | coverage paired | coverage independent | width paired | width independent | width ratio")
    for metric in METRICS:
        wp, wi = (float(np.mean(widths[(metric, k)])) for k in ("paired", "independent"))
        cp, ci = (hits[(metric, k)] / args.replications for k in ("paired", "independent"))
        print(f"{metric} | {cp:.3f} | {ci:.3f} | {wp:.4f} | {wi:.4f} | {wp / wi:.2f}")


if __name__ == "__main__":
    main()
