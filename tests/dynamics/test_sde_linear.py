"""The sufficient-statistics machinery: resampling by weights equals refitting on the resampled data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sde_data import one

from llmsde.dynamics import _linear as lin
from llmsde.dynamics import stability
from llmsde.dynamics.exact import from_var


def _lstsq(x: np.ndarray) -> np.ndarray:
    prev, nxt = x[:, :-1].reshape(-1, 3), x[:, 1:].reshape(-1, 3)
    design = np.column_stack([prev, np.ones(len(prev))])
    return np.linalg.lstsq(design, nxt - prev, rcond=None)[0]


def test_weighted_solve_equals_lstsq_on_resampled_sessions() -> None:
    x, _ = one(sessions=30, seed=1)
    st = lin.session_stats(lin.transitions(x))
    rng = np.random.default_rng(5)
    picks = rng.integers(0, 30, size=30)
    w = np.bincount(picks, minlength=30).astype(float)
    sol = lin.solve(*lin.weighted(st, w[None, :])[:2], lin.mask_for("full", 4))
    np.testing.assert_allclose(sol.beta[0], _lstsq(x[picks]), atol=1e-10)


def test_residual_cross_matches_explicit_residuals() -> None:
    x, _ = one(sessions=20, seed=2)
    st = lin.session_stats(lin.transitions(x))
    tot = lin.weighted(st, np.ones(20))
    beta = lin.solve(tot.zz, tot.zy, lin.mask_for("full", 4)).beta
    prev, nxt = x[:, :-1].reshape(-1, 3), x[:, 1:].reshape(-1, 3)
    e = (nxt - prev) - np.column_stack([prev, np.ones(len(prev))]) @ beta
    np.testing.assert_allclose(lin.residual_cross(tot, beta), e.T @ e, rtol=1e-9, atol=1e-9)


def test_diagonal_mask_gives_univariate_regressions() -> None:
    x, _ = one(sessions=20, seed=3)
    st = lin.session_stats(lin.transitions(x))
    tot = lin.weighted(st, np.ones(20))
    beta = lin.solve(tot.zz, tot.zy, lin.mask_for("diagonal", 4)).beta
    prev, nxt = x[:, :-1].reshape(-1, 3), x[:, 1:].reshape(-1, 3)
    for j in range(3):
        coef = np.linalg.lstsq(np.column_stack([prev[:, j], np.ones(len(prev))]), nxt[:, j] - prev[:, j], rcond=None)[0]
        np.testing.assert_allclose(beta[[j, 3], j], coef, atol=1e-10)
        assert np.count_nonzero(beta[:3, j]) == 1


def test_singular_resample_is_flagged_not_raised() -> None:
    zz = np.stack([np.eye(4), np.zeros((4, 4))])
    zy = np.ones((2, 4, 3))
    sol = lin.solve(zz, zy, lin.mask_for("full", 4))
    assert sol.valid.tolist() == [True, False]
    assert np.isnan(sol.beta[1]).all()


def test_matched_eigenvalues_follow_the_reference_order() -> None:
    a = np.diag([-0.1, -0.5, -1.0])
    ref = stability.sorted_eigenvalues(a)
    perm = np.array([[0, 0, 1.0], [0, 1.0, 0], [1.0, 0, 0]])
    batch = np.stack([perm @ a @ perm.T, a])
    got = stability.matched_eigenvalues(batch, ref)
    np.testing.assert_allclose(got.real, np.tile(ref.real, (2, 1)))


def test_exact_conversion_inverts_the_exact_discretisation() -> None:
    from scipy.integrate import quad_vec
    from scipy.linalg import expm

    a = np.array([[-0.4, 0.1, 0.0], [0.0, -0.7, 0.05], [0.02, 0.0, -0.3]])
    b = np.array([1.0, 2.0, 3.0])
    sigma = np.array([[0.3, 0.05, 0.0], [0.05, 0.2, -0.04], [0.0, -0.04, 0.25]])
    dt = 1.0
    phi = expm(a * dt)
    c = np.linalg.solve(a, (phi - np.eye(3)) @ b)
    q = quad_vec(lambda s: expm(a * s) @ sigma @ expm(a * s).T, 0.0, dt)[0]
    got = from_var(phi, c, q, dt)
    assert bool(got.real_log)
    np.testing.assert_allclose(got.a, a, atol=1e-9)
    np.testing.assert_allclose(got.b, b, atol=1e-8)
    np.testing.assert_allclose(got.sigma, sigma, atol=1e-8)


def test_exact_conversion_flags_negative_eigenvalues() -> None:
    got = from_var(np.diag([0.5, -0.2, 0.3]), np.zeros(3), np.eye(3), 1.0)
    assert not bool(got.real_log)
    assert np.isnan(got.a).all()


@pytest.mark.parametrize("lam,expected", [([-0.2, -0.5, -1.0], "exponential"), ([0.0, -0.5, -1.0], "marginal")])
def test_mode(lam: list[float], expected: str) -> None:
    assert stability.mode(np.array(lam, dtype=complex)) == expected
    assert stability.mode(np.array([-0.2 + 0.3j, -0.2 - 0.3j, -1.0])) == "oscillatory"
    assert stability.mode(np.array([-0.2, -1.5 + 0j])) == "alternating"


def test_mode_from_cis_overrides_the_point_estimate() -> None:
    lam = np.array([-0.3 + 1e-3j, -0.3 - 1e-3j])
    mu = 1.0 + lam
    im_ci = (np.array([-0.05, -0.06]), np.array([0.06, 0.05]))
    mu_ci = (np.array([0.6, 0.6]), np.array([0.8, 0.8]))
    assert stability.mode(lam) == "oscillatory"
    assert stability.mode(lam, mu, (0.2, 0.4), im_ci, mu_ci) == "exponential"
    assert stability.mode(lam, mu, (-0.01, 0.4), im_ci, mu_ci) == "marginal"
    assert stability.mode(lam, mu, (0.2, 0.4), (im_ci[0] + 0.1, im_ci[1] + 0.1), mu_ci) == "oscillatory"


def test_half_life_maps_non_contracting_rates_to_infinity() -> None:
    out = stability.half_life(np.array([math.log(2.0), 0.0, -0.1, np.nan]))
    assert out[0] == pytest.approx(1.0) and math.isinf(out[1]) and math.isinf(out[2]) and math.isnan(out[3])


def test_lag1_autocorr_matches_explicit_pairs() -> None:
    from llmsde.dynamics.diagnostics import lag1_autocorr

    rng = np.random.default_rng(0)
    resid = rng.normal(size=(50, 9, 3))
    resid[:, 1:, 0] += 0.6 * resid[:, :-1, 0]
    valid = rng.random((50, 9)) > 0.1
    pair = valid[:, :-1] & valid[:, 1:]
    got = lag1_autocorr(np.where(valid[..., None], resid, 0.0), valid)
    for j in range(3):
        want = np.corrcoef(resid[:, :-1, j][pair], resid[:, 1:, j][pair])[0, 1]
        assert got[j] == pytest.approx(want, abs=1e-12)
    assert got[0] > 0.3


def test_exact_step_map_matches_quadrature_and_inverts_from_var() -> None:
    """Phi = expm(A dt), c = int exp(As) ds b, Q = int exp(As) Sigma exp(A's) ds (Van Loan vs quadrature)."""
    from scipy.integrate import quad_vec
    from scipy.linalg import expm

    from llmsde.dynamics.exact import from_var, step_map

    a = np.array([[-0.35, 0.0, 0.0], [0.05, -0.45, 0.0], [-0.03, -0.08, -0.55]])
    b = np.array([1.8, 2.0, 4.2])
    sig = np.array([[0.20, 0.02, -0.03], [0.02, 0.25, -0.05], [-0.03, -0.05, 0.30]])
    m = step_map(a, b, sig, 0.7, "exact")
    np.testing.assert_allclose(m.phi, expm(0.7 * a), atol=1e-12)
    np.testing.assert_allclose(m.c, quad_vec(lambda s: expm(a * s) @ b, 0, 0.7)[0], atol=1e-10)
    np.testing.assert_allclose(m.q, quad_vec(lambda s: expm(a * s) @ sig @ expm(a * s).T, 0, 0.7)[0], atol=1e-10)
    back = from_var(m.phi, m.c, m.q, 0.7)
    np.testing.assert_allclose(back.a, a, atol=1e-10)
    np.testing.assert_allclose(back.sigma, sig, atol=1e-10)
    em = step_map(a, b, sig, 0.7, "em")
    np.testing.assert_allclose(em.phi, np.eye(3) + 0.7 * a)
    np.testing.assert_allclose(em.q, 0.7 * sig)
