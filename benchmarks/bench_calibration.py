"""Coverage of the fit's bootstrap CIs on simulated panels, per strategy and CI method (GitHub issue #5).

For each CI method, ``calibrate()`` simulates the same ``--replications`` panels (same seed, so the methods are
compared on identical data and identical resamples) from the reference truth (DESIGN.md s6), fits each and
records whether the interval of rho and of every element of A, b and Sigma covers the truth. Printed per
strategy: coverage of rho and, for A, b and Sigma, the mean, min and max coverage over their elements; the
binomial standard error of one coverage figure at nominal level, sqrt(p (1 - p) / R); and, once, the bias of
each parameter group in units of its sampling sd (max over elements of |bias| / sd), the usual suspect when
intervals centred on a biased estimate under-cover.

``--method em,exact`` calibrates each discretisation on panels simulated with its own step map (Euler-Maruyama
for ``em``, Phi = exp(A dt) for ``exact``). The half-life is the discrete one, ln 2 / -ln max|mu|.

Run: ``python benchmarks/bench_calibration.py [--replications 400] [--bootstrap 1000] [--ci percentile,basic,bca]
[--method em,exact]`` (about 0.1 s per replication and method at 1000 resamples).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from llmsde.dynamics import calibrate, reference_truth
from llmsde.dynamics.calibrate import CalibrationResult


def _cell(cov: np.ndarray) -> str:
    c = np.ravel(cov)
    return f"{c.mean():.3f} ({c.min():.3f}-{c.max():.3f})" if c.size > 1 else f"{c[0]:.3f}"


def _bias_row(res: CalibrationResult, name: str) -> str:
    parts = []
    for key, c in res.strategies[name].items():
        sd = np.sqrt(np.clip(c.rmse**2 - c.bias**2, 1e-300, None))
        parts.append(f"{key} {float(np.max(np.abs(c.bias) / sd)):.2f}")
    return ", ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=400)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--level", type=float, default=0.95)
    parser.add_argument("--ci", default="percentile,basic,bca", help="comma-separated CI methods")
    parser.add_argument("--method", default="em", help="comma-separated discretisations: em, exact")
    args = parser.parse_args()
    methods = [f"{d}/{m.strip()}" for d in args.method.split(",") if d.strip() for m in args.ci.split(",") if m.strip()]
    truth = reference_truth(args.iterations)
    se = math.sqrt(args.level * (1 - args.level) / args.replications)
    print(
        f"coverage of {args.level:.0%} CIs: {args.replications} replications of {args.sessions} sessions x "
        f"{args.iterations} iterations per strategy, {args.bootstrap} resamples, seed {args.seed}; "
        f"binomial SE of one figure {se:.3f} (2 SE band {args.level - 2 * se:.3f}-{args.level + 2 * se:.3f})"
    )
    results: dict[str, CalibrationResult] = {}
    for m in methods:
        t0 = time.perf_counter()
        disc, ci = m.split("/")
        results[m] = calibrate(
            truth,
            args.sessions,
            args.iterations,
            args.replications,
            args.bootstrap,
            args.seed,
            args.level,
            method=disc.strip(),
            ci=ci,
        )
        print(f"{m}: {time.perf_counter() - t0:.1f} s", flush=True)
    header = [
        "strategy",
        "method/ci",
        "rho",
        "half-life",
        "A mean (min-max)",
        "b mean (min-max)",
        "Sigma mean (min-max)",
    ]
    print(" | ".join(header))
    print(" | ".join("---" for _ in header))
    for name in truth.strategies:
        for m in methods:
            c = results[m].strategies[name]
            print(" | ".join([name, m, _cell(c["rho"].coverage), _cell(c["half_life"].coverage), _cell(c["A"].coverage),
                              _cell(c["b"].coverage), _cell(c["Sigma"].coverage)]))  # fmt: skip
    print("\nmax |bias| / sd per parameter group (point estimates, shared by all methods):")
    first = results[methods[0]]
    for name in truth.strategies:
        print(f"  {name}: {_bias_row(first, name)}")


if __name__ == "__main__":
    main()
