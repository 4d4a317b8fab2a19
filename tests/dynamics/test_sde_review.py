"""Issue 12, items 1-4: the exact method, half-life CIs, the discrete reading of dt = 1 and the no-memory baseline.

Each test reproduces the defect the review measured (numbers in the docstrings) and checks the fix.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from llmsde.dynamics import LinearSdeEstimator, SdeFit, StrategyFit, calibrate, simulate
from llmsde.errors import LlmsdeWarning

PHI = np.array([[0.3, 0.0, 0.0], [0.1, 0.2, 0.0], [0.05, -0.1, 0.1]])
"""A stable VAR(1) with Phi eigenvalues 0.3, 0.2, 0.1 (lower-triangular)."""
X_STAR = np.array([5.0, 5.0, 5.0])


def var_panel(phi: np.ndarray, sessions: int = 200, steps: int = 10, seed: int = 0, q: float = 0.25) -> np.ndarray:
    """x_{k+1} = Phi x_k + c + e with x* = (5, 5, 5), e ~ N(0, q I), x_0 ~ N(x*, 4 I)."""
    rng = np.random.default_rng(seed)
    c = (np.eye(3) - phi) @ X_STAR
    x = np.empty((sessions, steps + 1, 3))
    x[:, 0] = X_STAR + rng.normal(0.0, 2.0, (sessions, 3))
    for k in range(steps):
        x[:, k + 1] = x[:, k] @ phi.T + c + rng.normal(0.0, math.sqrt(q), (sessions, 3))
    return x


def fit_one(x: np.ndarray, n_bootstrap: int = 300, **kw: object) -> StrategyFit:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LlmsdeWarning)
        fit = LinearSdeEstimator(n_bootstrap=n_bootstrap, random_state=0, compare_models=False, **kw).fit(  # type: ignore[arg-type]
            x, ["X"] * len(x)
        )
    return fit.strategies["X"]


@pytest.fixture(scope="module")
def exact_fit() -> StrategyFit:
    return fit_one(var_panel(PHI), method="exact")


def test_exact_stability_uses_exp_lambda_dt(exact_fit: StrategyFit) -> None:
    """Review: reported ``stable: false`` with modulus 1.006 (|1 + lambda| with lambda = log 0.1)."""
    assert exact_fit.method == "exact" and exact_fit.stable
    np.testing.assert_allclose(np.sort(exact_fit.discrete_modulus.value), [0.1, 0.2, 0.3], atol=0.04)
    lam = exact_fit.eigenvalues_complex
    np.testing.assert_allclose(exact_fit.discrete_modulus.value, np.abs(np.exp(lam)), rtol=1e-12)
    assert exact_fit.phi_eigenvalues is not None
    np.testing.assert_allclose(exact_fit.phi_eigenvalues.value[:, 0], np.exp(lam).real, rtol=1e-12)


def test_exact_simulation_steps_with_phi_and_lands_on_the_equilibrium(exact_fit: StrategyFit) -> None:
    """Review: the simulated mean path oscillated and landed far from x* (Euler steps with A = logm(Phi))."""
    sim = simulate(exact_fit, x0=[0.0, 0.0, 0.0], steps=20, paths=4000, seed=1, clip="none")
    assert exact_fit.equilibrium is not None
    np.testing.assert_allclose(sim.mean[-1], exact_fit.equilibrium.value, atol=0.05)
    from scipy.linalg import expm

    phi_hat = expm(exact_fit.A.value)
    expected = np.stack([np.linalg.matrix_power(phi_hat, k) @ -exact_fit.equilibrium.value for k in range(21)])
    np.testing.assert_allclose(sim.mean - exact_fit.equilibrium.value, expected, atol=0.05)
    spread = sim.paths[:, -1].std(axis=0)
    np.testing.assert_allclose(spread, 0.5, atol=0.06)  # stationary sd ~ sqrt(q / (1 - phi^2)) ~ 0.5


def test_calibrate_exact_simulates_the_model_it_checks() -> None:
    """Review: ``calibrate`` with method exact simulated Euler-Maruyama panels (rho coverage 0.33)."""
    res = calibrate(sessions=40, iterations=10, replications=12, n_bootstrap=100, method="exact", seed=3)
    cover = np.mean([float(p["rho"].coverage) for p in res.strategies.values()])
    assert res.settings["method"] == "exact"
    assert cover >= 0.8, {k: float(p["rho"].coverage) for k, p in res.strategies.items()}


def random_walk(sessions: int = 100, steps: int = 10, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 5.0 + np.cumsum(rng.normal(0.0, 0.5, (sessions, steps + 1, 3)), axis=1)


def test_half_life_ci_is_infinite_when_resamples_do_not_converge() -> None:
    """Review: a random walk (rho CI [-0.009, 0.003]) got a finite half-life CI [147, 3624]."""
    sf = fit_one(random_walk(), n_bootstrap=400)
    assert sf.rho.lo < 0 < sf.rho.hi
    assert math.isinf(float(sf.half_life.hi))
    assert any("half-life" in n and "infinite" in n for n in sf.notes), sf.notes
    doc = sf.to_dict()
    assert doc["half_life"]["ci"][1] is None
    back = StrategyFit.from_dict(doc)
    assert math.isinf(float(back.half_life.hi))


def test_discrete_half_life_is_that_of_the_mean_path() -> None:
    """Review: EF at rho 0.33 halves in ln 2 / -ln 0.67 = 1.73 iterations, not ln 2 / 0.33 = 2.10."""
    phi = np.diag([0.67, 0.55, 0.45])
    sf = fit_one(var_panel(phi, sessions=400, seed=2), n_bootstrap=100)
    top = float(sf.discrete_modulus.value.max())
    assert float(sf.half_life.value) == pytest.approx(math.log(2) / -math.log(top), rel=1e-12)
    assert float(sf.half_life.value) == pytest.approx(1.73, abs=0.12)
    assert float(sf.half_life_continuous.value) == pytest.approx(math.log(2) / float(sf.rho.value), rel=1e-12)
    assert sf.half_life.lo <= sf.half_life.value <= sf.half_life.hi


def test_negative_multiplier_is_alternating() -> None:
    """1 + lambda < 0: paths alternate sign each step; the old mode said "exponential"."""
    sf = fit_one(var_panel(np.diag([-0.5, 0.4, 0.3]), sessions=150, seed=4), n_bootstrap=200)
    assert sf.mode == "alternating"
    assert sf.phi_eigenvalues is not None and sf.phi_eigenvalues.hi[-1, 0] < 0


def test_modes_are_decided_from_the_cis() -> None:
    """Review: an iid panel was called "oscillatory" and a random walk "exponential" (1e-6 tolerance)."""
    rng = np.random.default_rng(5)
    iid = fit_one(rng.normal(5.0, 1.0, (100, 11, 3)), n_bootstrap=300)
    assert iid.mode != "oscillatory"
    walk = fit_one(random_walk(seed=6), n_bootstrap=300)
    assert walk.mode == "marginal"
    rot = 0.7 * np.array([[math.cos(0.6), -math.sin(0.6), 0.0], [math.sin(0.6), math.cos(0.6), 0.0], [0, 0, 0.5 / 0.7]])
    osc = fit_one(var_panel(rot, sessions=150, seed=7), n_bootstrap=300)
    assert osc.mode == "oscillatory"


def test_static_mean_baseline_and_phi_eigenvalues_show_no_memory() -> None:
    """Review: iid scores gave rho 0.98 and held-out R^2 0.48 against 0.00 for both baselines."""
    rng = np.random.default_rng(8)
    sf = fit_one(rng.normal(5.0, 1.0, (100, 11, 3)), n_bootstrap=300)
    assert float(sf.rho.value) == pytest.approx(1.0, abs=0.1)
    assert set(sf.baselines) == {"no_change", "mean_change", "static_mean"}
    model = float(sf.r2["held_out"].overall.value)
    static = float(sf.baselines["static_mean"]["one_step"].overall.value)
    assert model > 0.4 and static == pytest.approx(model, abs=0.02)
    multi = float(sf.baselines["static_mean"]["multi_step"].overall.value)
    assert multi == pytest.approx(float(sf.r2["multi_step"].overall.value), abs=0.03)
    assert sf.phi_eigenvalues is not None
    assert np.all(sf.phi_eigenvalues.lo[:, 0] < 0) and np.all(sf.phi_eigenvalues.hi[:, 0] > 0)


def test_schema_3_round_trips_and_version_2_is_still_read(exact_fit: StrategyFit) -> None:
    fit = SdeFit({"X": exact_fit}, {"dt": 1.0})
    doc = fit.to_dict()
    assert doc["schema_version"] == 3
    back = SdeFit.from_dict(doc).strategies["X"]
    assert back.phi_eigenvalues is not None and back.mode == exact_fit.mode
    np.testing.assert_allclose(back.half_life_continuous.value, exact_fit.half_life_continuous.value)
    old = doc["strategies"]["X"]
    for key in ("phi_eigenvalues", "half_life_continuous"):
        del old[key]
    doc["schema_version"] = 2
    v2 = SdeFit.from_dict(doc).strategies["X"]
    assert v2.phi_eigenvalues is None and math.isnan(float(v2.half_life_continuous.value))
