"""The censored (Tobit) fit: time against the linear fit on the paper's design, and its calibration on clipped truth.

Timing (always): the 4 strategies x 100 sessions x 10 iterations design of DESIGN.md s6, simulated from the
reference truth and clipped to [0, 10], fitted with 1000 session-bootstrap resamples by

- ``linear``: ``LinearSdeEstimator`` (default settings: k-fold validation, model comparison);
- ``censored estimation``: ``CensoredSdeEstimator(simulate=False)`` (Tobit + pairwise correlations, k-fold);
- ``censored full``: the same plus the simulated bound shares, long-run figures and first passage (200 draws).

Ratios are against ``linear`` in this run; the target is ``censored full`` < 60 s on 2 cores. A second table
times the bivariate normal probability the pairwise likelihood needs (our quadrature, vectorised) against
``scipy.stats.multivariate_normal.cdf`` per point, and the trivariate probability a full likelihood would need.

Calibration (``--replications N``): ``calibrate_censored`` (both estimators on the same clipped panels), printed
as bias, RMSE and CI coverage per strategy, parameter and estimator. docs/fit-bounded.md quotes
``python benchmarks/bench_censored.py --replications 200 --bootstrap 500``.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from llmsde.dynamics import (
    CensoredSdeEstimator,
    LinearSdeEstimator,
    calibrate_censored,
    reference_truth,
    simulate_clipped_panel,
)
from llmsde.dynamics.tobit import bvn_cdf


def _timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall seconds, CPU seconds of this process, result)."""
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - w0, time.process_time() - c0, out


def timing(n_bootstrap: int) -> None:
    x, labels = simulate_clipped_panel(reference_truth(), 100, 10, np.random.default_rng(0))
    share = ((x[:, 1:] <= 0) | (x[:, 1:] >= 10)).mean()
    print(f"design: 4 x 100 sessions x 10 iterations, {100 * share:.1f}% of values on a bound, {n_bootstrap} resamples")
    print("fit | wall s | cpu s | ratio to linear (wall)")
    print("--- | --- | --- | ---")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runs = [
            ("linear", lambda: LinearSdeEstimator(n_bootstrap=n_bootstrap, random_state=0).fit(x, labels)),
            (
                "censored estimation",
                lambda: CensoredSdeEstimator(n_bootstrap=n_bootstrap, random_state=0, simulate=False).fit(x, labels),
            ),  # fmt: skip
            ("censored full", lambda: CensoredSdeEstimator(n_bootstrap=n_bootstrap, random_state=0).fit(x, labels)),
        ]
        base = None
        for name, fn in runs:
            wall, cpu, _ = _timed(fn)
            base = base or wall
            print(f"{name} | {wall:.2f} | {cpu:.2f} | {wall / base:.1f}", flush=True)
    from scipy.stats import multivariate_normal

    rng = np.random.default_rng(0)
    h, k = rng.normal(size=2000), rng.normal(size=2000)
    wall_q, _, ours = _timed(lambda: bvn_cdf(h, k, np.full(2000, 0.4)))
    mvn2 = multivariate_normal(np.zeros(2), [[1, 0.4], [0.4, 1]])
    wall_s, _, ref = _timed(lambda: np.array([mvn2.cdf([a, b]) for a, b in zip(h, k, strict=True)]))
    cov3 = [[1, 0.4, 0.2], [0.4, 1, 0.3], [0.2, 0.3, 1]]
    pts = rng.normal(size=(50, 3))
    wall_3, _, _ = _timed(lambda: [multivariate_normal(np.zeros(3), cov3).cdf(p) for p in pts])
    print()
    print("normal probability | points | wall s | s per point | max |diff| to scipy")
    print("--- | --- | --- | --- | ---")
    print(f"bivariate, ours (24-pt quadrature, vectorised) | 2000 | {wall_q:.4f} | {wall_q / 2000:.1e} | "
          f"{np.abs(ours - ref).max():.1e}")  # fmt: skip
    print(f"bivariate, scipy multivariate_normal.cdf | 2000 | {wall_s:.4f} | {wall_s / 2000:.1e} | 0")
    print(f"trivariate, scipy multivariate_normal.cdf | 50 | {wall_3:.4f} | {wall_3 / 50:.1e} | -")


def calibration(replications: int, n_bootstrap: int, seed: int) -> None:
    wall, _, res = _timed(lambda: calibrate_censored(replications=replications, n_bootstrap=n_bootstrap, seed=seed))
    shares = res.settings["bound_share"]
    print()
    print(f"calibration: {replications} clipped panels of 4 x 100 x 10, {n_bootstrap} resamples, seed {seed}, "
          f"{wall:.0f} s; share on a bound S/E/F: " + "/".join(f"{100 * s:.0f}%" for s in shares))  # fmt: skip
    print("strategy | parameter | estimator | max abs bias | mean RMSE | coverage mean | coverage min")
    print("--- | --- | --- | --- | --- | --- | ---")
    for key, params in res.strategies.items():
        name, model = key.rsplit(" ", 1)
        for param, c in params.items():
            print(f"{name} | {param} | {model} | {np.nanmax(np.abs(c.bias)):.3f} | {np.nanmean(c.rmse):.3f} | "
                  f"{100 * np.mean(c.coverage):.1f}% | {100 * np.min(c.coverage):.1f}%")  # fmt: skip
    print()
    print("estimator | A coverage | b coverage | Sigma coverage | equilibrium coverage (mean over strategies)")
    print("--- | --- | --- | --- | ---")
    for model in ("censored", "linear"):
        cells = [
            np.mean([np.mean(p[param].coverage) for k, p in res.strategies.items() if k.endswith(model)])
            for param in ("A", "b", "Sigma", "equilibrium")
        ]
        print(f"{model} | " + " | ".join(f"{100 * c:.1f}%" for c in cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", type=int, default=1000, help="resamples for the timing (and calibration)")
    parser.add_argument("--replications", type=int, default=0, help="calibration panels (0: timing only)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    timing(args.bootstrap)
    if args.replications:
        calibration(args.replications, args.bootstrap, args.seed)


if __name__ == "__main__":
    main()
