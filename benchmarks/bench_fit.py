"""Fit time against the number of transitions, side by side with statsmodels on the same problem.

For n transitions in 1e3 .. 1e6 (10 transitions per session), times:

- ``llmsde point``: ``LinearSdeEstimator(n_bootstrap=0, compare_models=False).fit`` (one strategy;
  includes k-fold validation and diagnostics);
- ``llmsde boot``: the same with 1000 session-bootstrap resamples (up to 4e4 transitions: the bootstrap
  cost grows with the number of sessions);
- ``sm OLS``: ``statsmodels.OLS`` on the same pooled design [x_k, 1] -> dx_k, one equation per objective;
- ``sm VAR``: ``statsmodels.tsa.VAR(1)`` on one long trajectory of n transitions, against our fit of that
  trajectory, cut into sessions that share boundary states (VAR's Phi - I equals our A when dt = 1).

Coefficients are compared where the models coincide (max abs difference, must be < 1e-8). Ratios are
statsmodels time / llmsde point time, measured in this run. Columns are skipped when statsmodels is absent
(``pip install -e ".[bench]"``). Run: ``python benchmarks/bench_fit.py [--max 1000000]``.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from llmsde.dynamics import LinearSdeEstimator, reference_truth, simulate_panel
from llmsde.dynamics.truth import Truth


def _best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _design(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    prev, nxt = x[:, :-1].reshape(-1, 3), x[:, 1:].reshape(-1, 3)
    return np.column_stack([prev, np.ones(len(prev))]), nxt - prev


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max", type=float, default=1e6, help="largest number of transitions")
    args = parser.parse_args()
    try:
        import statsmodels.api as sm
        from statsmodels.tsa.api import VAR
    except ImportError:
        sm = VAR = None
    ef = Truth({"EF": reference_truth().strategies["EF"]})
    sizes = [n for n in (1e3, 1e4, 1e5, 1e6) if n <= args.max]
    header = ["transitions", "llmsde point s", "llmsde boot1000 s", "sm OLS s", "OLS/llmsde", "max|dA| OLS",
              "sm VAR s", "llmsde 1-traj s", "VAR/llmsde", "max|dA| VAR"]  # fmt: skip
    print(" | ".join(header))
    print(" | ".join("---" for _ in header))
    for n in sizes:
        sessions = int(n) // 10
        x, labels = simulate_panel(ef, sessions, 10, np.random.default_rng(0))
        repeat = 3 if n < 1e6 else 1
        point_est = LinearSdeEstimator(n_bootstrap=0, compare_models=False, random_state=0)
        t_point, fit = _best(partial(point_est.fit, x, labels), repeat)
        a_ours = fit.strategies["EF"].A.value
        t_boot = "-"
        if n <= 4e4:
            boot_est = LinearSdeEstimator(n_bootstrap=1000, compare_models=False, random_state=0)
            t_boot = f"{_best(partial(boot_est.fit, x, labels), repeat)[0]:.3f}"
        row = [f"{int(n):>9d}", f"{t_point:.3f}", t_boot]
        if sm is None:
            row += ["-"] * 7
        else:
            design, dx = _design(x)

            def ols(design: np.ndarray = design, dx: np.ndarray = dx) -> np.ndarray:
                return np.column_stack([sm.OLS(dx[:, j], design).fit().params for j in range(3)])

            t_ols, beta = _best(ols, repeat)
            d_ols = float(np.abs(beta[:3].T - a_ours).max())
            long = simulate_panel(ef, 1, int(n), np.random.default_rng(1))[0][0]
            t_var, res = _best(partial(_var, VAR, long), repeat)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                one = LinearSdeEstimator(n_bootstrap=0, folds=2, compare_models=False)
                t_one, fit1 = _best(partial(_one_traj, one, long), repeat)
            phi = res.coefs[0]
            d_var = float(np.abs((phi - np.eye(3)) - fit1.strategies["T"].A.value).max())
            row += [f"{t_ols:.3f}", f"{t_ols / t_point:.2f}", f"{d_ols:.1e}", f"{t_var:.3f}", f"{t_one:.3f}",
                    f"{t_var / t_one:.2f}", f"{d_var:.1e}"]  # fmt: skip
            if max(d_ols, d_var) > 1e-8:
                raise SystemExit(f"coefficients disagree with statsmodels at n={int(n)}: {d_ols:.2e} {d_var:.2e}")
        print(" | ".join(row), flush=True)


def _var(var_cls: Any, long: np.ndarray) -> Any:
    return var_cls(long).fit(1, trend="c")


def _one_traj(est: LinearSdeEstimator, long: np.ndarray) -> Any:
    """One long trajectory cut into sessions of 10 transitions that share their boundary states, so every
    transition of the series enters the regression exactly once (the same design VAR(1) uses)."""
    n = len(long) - 1
    starts = np.arange(0, n, 10)
    x = np.full((len(starts), 11, 3), np.nan)
    for i, s in enumerate(starts):
        piece = long[s : s + 11]
        x[i, : len(piece)] = piece
    return est.fit(x, ["T"] * len(starts))


if __name__ == "__main__":
    main()
