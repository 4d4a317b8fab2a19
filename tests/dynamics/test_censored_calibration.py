"""A small replication of the calibration on clipped truth (the full one is benchmarks/bench_censored.py):
the censored intervals cover the truth, the linear ones, fitted to the same clipped panels, do not."""

from __future__ import annotations

import numpy as np

from llmsde.dynamics import Truth, calibrate_censored, reference_truth


def test_censored_intervals_cover_where_the_linear_ones_miss_on_the_ff_design() -> None:
    truth = Truth({"FF": reference_truth().strategies["FF"]})
    res = calibrate_censored(truth, sessions=100, iterations=10, replications=6, n_bootstrap=60, seed=3)
    assert res.settings["bound_share"][0] > 0.4
    cens, lin = res.strategies["FF censored"], res.strategies["FF linear"]
    for param in ("A", "b", "Sigma", "equilibrium"):
        assert np.mean(cens[param].coverage) >= 0.75, param
    assert float(cens["rho"].coverage) >= 0.5
    assert float(lin["rho"].coverage) <= 0.2
    assert lin["equilibrium"].coverage[0] <= 0.2
    assert np.mean(lin["Sigma"].coverage) < np.mean(cens["Sigma"].coverage)
    assert abs(float(cens["rho"].bias)) < abs(float(lin["rho"].bias))
