"""Bootstrap interval methods (percentile, basic, BCa) on cases with known answers, and their use in the fit."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chi2
from sde_data import one

from llmsde.dynamics import LinearSdeEstimator, Truth, calibrate, reference_truth
from llmsde.dynamics._estimate import Estimate, bca_levels, quantiles


def _mean_draws(sample: np.ndarray, n_boot: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap and leave-one-out jackknife means of a sample."""
    rng = np.random.default_rng(seed)
    n = len(sample)
    draws = sample[rng.integers(0, n, size=(n_boot, n))].mean(axis=1)
    jack = (sample.sum() - sample) / (n - 1)
    return draws, jack


def test_quantiles_match_numpy_and_skip_nan() -> None:
    rng = np.random.default_rng(0)
    d = rng.normal(size=(501, 4, 2))
    d[::7, 1, 0] = np.nan
    d[:, 3, 1] = np.nan
    q = np.linspace(0.01, 0.99, 8).reshape(4, 2)
    got = quantiles(d, q)
    for i in range(4):
        for j in range(2):
            col = d[:, i, j]
            want = np.quantile(col[np.isfinite(col)], q[i, j]) if np.isfinite(col).any() else np.nan
            np.testing.assert_allclose(got[i, j], want, equal_nan=True)


def test_percentile_and_basic_are_reflections() -> None:
    rng = np.random.default_rng(1)
    draws = rng.gamma(2.0, size=2000)
    pct = Estimate.from_draws(2.5, draws, 0.9, "percentile")
    basic = Estimate.from_draws(2.5, draws, 0.9, "basic")
    np.testing.assert_allclose([pct.lo, pct.hi], np.quantile(draws, [0.05, 0.95]))
    np.testing.assert_allclose([basic.lo, basic.hi], [5.0 - pct.hi, 5.0 - pct.lo])


def test_bca_tracks_the_exact_interval_for_the_mean_of_an_exponential() -> None:
    """For exponential samples the exact 90% CI of the mean is xbar * 2n / chi2_{2n}(0.95, 0.05). Averaged over
    200 samples of n = 20, the percentile interval is shifted towards the short tail; BCa puts the lower end on
    the exact one and halves the total error (Efron & Tibshirani 1993, ch. 14)."""
    rng = np.random.default_rng(0)
    n, samples, n_boot = 20, 200, 2000
    x = rng.exponential(size=(samples, n))
    mean = x.mean(axis=1)
    draws = np.stack([x[i][rng.integers(0, n, size=(n_boot, n))].mean(axis=1) for i in range(samples)], axis=1)
    jack = (x.sum(axis=1)[None, :] - x.T) / (n - 1)
    exact = 2 * n / chi2.ppf([0.95, 0.05], 2 * n)
    err = {}
    for method in ("percentile", "bca"):
        e = Estimate.from_draws(mean, draws, 0.9, method, jack=jack)
        err[method] = np.abs(np.array([np.mean(e.lo / mean), np.mean(e.hi / mean)]) - exact)
    assert err["bca"][0] < 0.01 < err["percentile"][0]
    assert err["bca"].sum() < 0.6 * err["percentile"].sum()


def test_bca_respects_monotone_transformations() -> None:
    rng = np.random.default_rng(3)
    sample = rng.lognormal(size=40)
    draws, jack = _mean_draws(sample, 4000, 3)
    raw = Estimate.from_draws(sample.mean(), draws, 0.95, "bca", jack=jack)
    logged = Estimate.from_draws(np.log(sample.mean()), np.log(draws), 0.95, "bca", jack=np.log(jack))
    # z0 is invariant; the jackknife acceleration and the interpolation between draws are so to first order
    np.testing.assert_allclose([np.exp(logged.lo), np.exp(logged.hi)], [raw.lo, raw.hi], rtol=0.01)
    basic = Estimate.from_draws(sample.mean(), draws, 0.95, "basic")
    basic_log = Estimate.from_draws(np.log(sample.mean()), np.log(draws), 0.95, "basic")
    assert abs(np.exp(basic_log.hi) / basic.hi - 1) > 0.03  # the basic interval is not transformation-respecting


def test_bca_reduces_to_percentile_for_symmetric_draws_and_handles_degenerate_ones() -> None:
    draws = np.concatenate([-np.arange(1.0, 501.0), np.arange(1.0, 501.0)])
    pct = Estimate.from_draws(0.0, draws, 0.95, "percentile")
    bc = Estimate.from_draws(0.0, draws, 0.95, "bca")  # no jackknife: acceleration 0
    np.testing.assert_allclose([bc.lo, bc.hi], [pct.lo, pct.hi])
    const = Estimate.from_draws(np.zeros(2), np.zeros((100, 2)), 0.95, "bca", jack=np.zeros((10, 2)))
    np.testing.assert_array_equal(const.lo, 0.0)
    np.testing.assert_array_equal(const.hi, 0.0)
    lo, hi = bca_levels(np.array(np.nan), np.arange(10.0)[:, None].reshape(10), 0.025, None)
    assert (float(lo), float(hi)) == pytest.approx((0.025, 0.975))
    with pytest.raises(ValueError, match="unknown CI method"):
        Estimate.from_draws(0.0, draws, 0.95, "studentized")


def test_fit_bca_jackknife_rows_do_not_leak_into_points_or_counts() -> None:
    x, labels = one(sessions=40, seed=2)
    fits = {
        ci: LinearSdeEstimator(n_bootstrap=200, random_state=1, ci=ci).fit(x, labels) for ci in ("bca", "percentile")
    }
    bca, pct = fits["bca"].strategies["X"], fits["percentile"].strategies["X"]
    np.testing.assert_array_equal(bca.A.value, pct.A.value)
    assert bca.diagnostics.bootstrap_total == 200 and bca.diagnostics.bootstrap_valid == 200
    assert fits["bca"].meta["ci"] == "bca" and fits["percentile"].meta["ci"] == "percentile"
    assert not np.array_equal(bca.rho.lo, pct.rho.lo)
    for sf in (bca, pct):
        assert np.all(sf.A.lo <= sf.A.value) and np.all(sf.A.value <= sf.A.hi)
        assert float(sf.rho.lo) < float(sf.rho.value) < float(sf.rho.hi)


def test_percentile_calibration_of_rho_and_drift_is_near_nominal() -> None:
    """80 panels x 4 reference strategies at the paper's 100 x 10 design with the default (percentile) CIs:
    coverage of rho pooled over the strategies (320 intervals, SE 0.012) and of all 22 calibrated figures per
    strategy (A, b, Sigma elements and rho) must be near 95%. benchmarks/bench_calibration.py measures the same
    at 1000 replications (docs/fit.md)."""
    res = calibrate(reference_truth(), sessions=100, iterations=10, replications=80, n_bootstrap=300, seed=11)
    rho = np.array([float(v["rho"].coverage) for v in res.strategies.values()])
    every = np.concatenate([np.ravel(c.coverage) for v in res.strategies.values() for c in v.values()])
    assert 0.91 <= rho.mean() <= 0.99
    assert 0.92 <= every.mean() <= 0.97
    assert res.settings["ci"] == "percentile"


def test_calibrate_rejects_unknown_ci() -> None:
    from llmsde.errors import FitInputError

    with pytest.raises(FitInputError, match="ci must be one of"):
        calibrate(Truth({"EF": reference_truth().strategies["EF"]}), replications=1, ci="normal")
