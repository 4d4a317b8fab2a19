"""The Tobit solver and the bivariate pieces against independent implementations (scipy) and known truth."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, stats

from llmsde.dynamics.tobit import (
    PairData,
    bvn_cdf,
    censor_codes,
    censored_loglik,
    censored_mean,
    pair_correlation,
    tobit,
)


def _data(n: int = 800, seed: int = 1, sigma: float = 1.7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.c_[rng.uniform(0, 10, (n, 3)), np.ones(n)]
    y = np.clip(x @ np.array([0.8, 0.05, -0.1, 1.5]) + sigma * rng.standard_normal(n), 0, 10)
    return x, y


def test_newton_matches_a_direct_scipy_minimisation_of_the_tobit_likelihood() -> None:
    x, y = _data()
    assert 0.03 < np.mean(censor_codes(y, 0, 10) != 0) < 0.5
    ols = np.linalg.lstsq(x, y, rcond=None)[0]
    fit = tobit(x, y, np.ones((1, len(y))), ols, np.std(y - x @ ols))

    def nll(p: np.ndarray) -> float:
        return float(-censored_loglik(x @ p[:4], np.exp(p[4]), y).sum())

    ref = optimize.minimize(nll, np.r_[ols, 0.0], method="BFGS", options={"gtol": 1e-8})
    assert fit.ok[0]
    np.testing.assert_allclose(fit.beta[0], ref.x[:4], atol=1e-4)
    assert fit.sigma[0] == pytest.approx(np.exp(ref.x[4]), abs=1e-4)
    assert fit.loglik[0] == pytest.approx(-ref.fun, abs=1e-6)


def test_without_censored_values_tobit_is_ols_with_the_ml_variance() -> None:
    rng = np.random.default_rng(2)
    x = np.c_[rng.uniform(3, 7, (300, 2)), np.ones(300)]
    y = x @ np.array([0.5, 0.2, 1.0]) + 0.3 * rng.standard_normal(300)
    assert (censor_codes(y, 0, 10) == 0).all()
    ols = np.linalg.lstsq(x, y, rcond=None)[0]
    fit = tobit(x, y, np.ones((1, 300)), np.zeros(3), 1.0)
    np.testing.assert_allclose(fit.beta[0], ols, atol=1e-8)
    assert fit.sigma[0] == pytest.approx(np.sqrt(np.mean((y - x @ ols) ** 2)), rel=1e-8)


def test_batched_rows_equal_separate_fits() -> None:
    x, y = _data(300, seed=4)
    rng = np.random.default_rng(0)
    w = rng.multinomial(300, np.ones(300) / 300, size=3).astype(float)
    batch = tobit(x, y, w, np.zeros(4), 1.0)
    for i in range(3):
        one = tobit(x, y, w[i : i + 1], np.zeros(4), 1.0)
        np.testing.assert_allclose(batch.beta[i], one.beta[0], atol=1e-7)


def test_bvn_cdf_agrees_with_scipy() -> None:
    rng = np.random.default_rng(0)
    h, k, r = rng.normal(size=60), rng.normal(size=60), rng.uniform(-0.95, 0.95, 60)
    ref = [stats.multivariate_normal.cdf([a, b], cov=[[1, c], [c, 1]]) for a, b, c in zip(h, k, r, strict=True)]
    np.testing.assert_allclose(bvn_cdf(h, k, r), ref, atol=1e-7)


def test_censored_mean_matches_monte_carlo() -> None:
    z = np.random.default_rng(0).normal(9.0, 2.0, 400_000)
    assert float(censored_mean(np.array(9.0), np.array(2.0))) == pytest.approx(np.clip(z, 0, 10).mean(), abs=0.01)


def test_pairwise_likelihood_recovers_a_correlation_that_interior_pairs_miss() -> None:
    rng = np.random.default_rng(5)
    n, r_true = 4000, 0.6
    z = rng.multivariate_normal([0.0, 0.0], [[1, r_true], [r_true, 1]], size=n)
    y = np.clip(z, -0.3, 10.0)
    codes = [censor_codes(y[:, j], -0.3, 10.0) for j in range(2)]
    data = PairData(np.where(codes[0] == 0, y[:, 0], -0.3)[None], np.where(codes[1] == 0, y[:, 1], -0.3)[None], *codes)
    r, ok = pair_correlation(data, np.ones((1, n)), np.zeros(1))
    inside = (codes[0] == 0) & (codes[1] == 0)
    naive = np.corrcoef(y[inside].T)[0, 1]
    assert ok[0]
    assert abs(r[0] - r_true) < 0.04
    assert abs(naive - r_true) > 0.1
