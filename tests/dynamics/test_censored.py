"""The censored SDE fit on clipped synthetic truth: recovery, CIs, an objective absorbed at 0, bound shares."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from llmsde.dynamics import (
    CensoredSdeEstimator,
    LinearSdeEstimator,
    SdeFit,
    Truth,
    TruthParams,
    reference_truth,
    simulate_censored,
    simulate_clipped_panel,
)
from llmsde.errors import FitInputError, LlmsdeWarning

ABSORBED = TruthParams(
    A=np.array([[-0.5, 0.0, 0.0], [0.05, -0.4, 0.0], [0.0, -0.05, -0.6]]),
    b=np.array([-1.0, 2.0, 5.95]),
    Sigma=np.array([[0.8, 0.1, 0.0], [0.1, 0.6, -0.1], [0.0, -0.1, 0.9]]),
)
"""Latent security equilibrium -2 (absorbed at 0), efficiency 4.75, functionality ~10 (on the upper bound)."""


@pytest.fixture(scope="module")
def absorbed() -> tuple[np.ndarray, tuple[str, ...], object]:
    truth = Truth({"X": ABSORBED}, x0_mean=(5.0, 4.0, 6.0))
    x, labels = simulate_clipped_panel(truth, 150, 10, np.random.default_rng(11))
    fit = CensoredSdeEstimator(n_bootstrap=200, random_state=0).fit(x, labels)
    return x, labels, fit.strategies["X"]


def test_an_objective_absorbed_at_zero_is_named_and_its_latent_equilibrium_covered(absorbed) -> None:
    x, _, cf = absorbed
    true_eq = np.linalg.solve(ABSORBED.A, -ABSORBED.b)
    assert true_eq[0] < -1.5
    assert ((x[:, 5:, 0] == 0).mean()) > 0.6
    assert cf.absorbed[0] == "absorbed at 0"
    assert cf.absorbed[1] == ""
    assert cf.latent_equilibrium.covers(true_eq)[:2].all()
    assert cf.stationary_bound_share.value[0, 0] > 0.8
    assert cf.A.covers(ABSORBED.A).mean() >= 7 / 9
    assert cf.b.covers(ABSORBED.b).mean() >= 2 / 3


def test_the_linear_fit_mistakes_the_absorbing_floor_for_an_equilibrium(absorbed) -> None:
    x, labels, cf = absorbed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LlmsdeWarning)
        lin = LinearSdeEstimator(n_bootstrap=200, random_state=0, compare_models=False).fit(x, labels).strategies["X"]
    true_eq = np.linalg.solve(ABSORBED.A, -ABSORBED.b)
    assert lin.equilibrium is not None
    assert not lin.equilibrium.covers(true_eq)[0]
    assert lin.equilibrium.value[0] >= -0.5
    assert abs(cf.b.value[0] - ABSORBED.b[0]) < abs(lin.b.value[0] - ABSORBED.b[0])


def test_simulated_bound_shares_match_the_data_within_a_few_points(absorbed) -> None:
    _, _, cf = absorbed
    data = np.array(cf.bound_share_data)
    assert data[0, 0] > 0.5 and data[2, 1] > 0.1
    np.testing.assert_allclose(cf.bound_share_model.value, data, atol=0.03)
    sim = simulate_censored(cf, x0=(5.0, 4.0, 6.0), steps=10, paths=4000, seed=1)
    assert sim.paths.min() >= 0.0 and sim.paths.max() <= 10.0
    assert (sim.paths[:, 5:, 0] == 0).mean() > 0.6


def test_first_passage_of_an_absorbed_objective_is_certain_and_quick(absorbed) -> None:
    _, _, cf = absorbed
    fp = {f.objective: f for f in cf.first_passage}
    sec = fp["security"]
    assert sec.threshold == 5.0
    assert np.all(np.diff(sec.prob_by_k.value) >= 0)
    assert sec.prob_by_k.value[-1] > 0.99
    assert sec.expected_iterations.value < 3
    assert sec.prob_by_k.lo[0] <= sec.prob_by_k.value[0] <= sec.prob_by_k.hi[0]


def test_clipped_reference_design_recovers_parameters_and_held_out_figures_compare() -> None:
    truth = reference_truth(10)
    x, labels = simulate_clipped_panel(Truth({"FF": truth.strategies["FF"]}), 200, 10, np.random.default_rng(3))
    cf = CensoredSdeEstimator(n_bootstrap=100, random_state=1).fit(x, labels).strategies["FF"]
    p = truth.strategies["FF"]
    assert np.abs(cf.A.value - p.A).max() < 0.15
    assert np.abs(cf.Sigma.value - p.Sigma).max() < 0.2
    assert cf.rho.covers(p.rho)
    assert set(cf.r2_held_out) == {"censored", "linear"}
    assert cf.loglik_held_out["censored"] > cf.loglik_held_out["linear"]


def test_results_round_trip_through_fit_json(absorbed) -> None:
    _, _, cf = absorbed
    fit = SdeFit(strategies={}, meta={}, censored={"X": cf})
    back = SdeFit.from_dict(fit.to_dict())
    got = back.censored["X"]
    np.testing.assert_allclose(got.A.value, cf.A.value)
    assert got.absorbed == cf.absorbed
    assert got.first_passage[0].prob_by_k.value.shape == cf.first_passage[0].prob_by_k.value.shape
    assert "censored" not in SdeFit(strategies={}, meta={}).to_dict()


def test_broken_states_are_set_aside_and_bad_arguments_are_one_line_errors() -> None:
    truth = Truth({"X": ABSORBED})
    x, labels = simulate_clipped_panel(truth, 40, 6, np.random.default_rng(0))
    broken = np.zeros(x.shape[:2], dtype=bool)
    broken[:, 3] = True
    cf = CensoredSdeEstimator(n_bootstrap=0, random_state=0).fit(x, labels, broken=broken).strategies["X"]
    assert x.shape[1] == 7
    assert cf.n_transitions == 40 * (6 - 2)
    with pytest.raises(FitInputError, match="broken must have shape"):
        CensoredSdeEstimator(n_bootstrap=0).fit(x, labels, broken=broken[:, :2])
    with pytest.raises(FitInputError, match="thresholds"):
        CensoredSdeEstimator(thresholds=(5.0, 5.0)).fit(x, labels)
    with pytest.raises(FitInputError, match="n_bootstrap"):
        CensoredSdeEstimator(n_bootstrap=-1).fit(x, labels)


def test_a_strategy_that_cannot_be_fitted_is_skipped_with_a_reason() -> None:
    x = np.full((3, 4, 3), 5.0)
    res = CensoredSdeEstimator(n_bootstrap=0).fit(x, ["A"] * 3)
    assert res.strategies == {}
    assert "constant" in res.skipped["A"]


def test_held_objectives_are_kept_out_of_the_censored_fit() -> None:
    truth = Truth({"FF": reference_truth().strategies["FF"]})
    x, labels = simulate_clipped_panel(truth, 60, 8, np.random.default_rng(0))
    x[..., 2] = np.nan
    x[..., 1] = np.where(np.isnan(x[..., 0]), np.nan, 10.0)
    cf = CensoredSdeEstimator(n_bootstrap=30, random_state=0).fit(x, labels).strategies["FF"]
    assert cf.held == {"efficiency": 10.0, "functionality": None}
    assert np.isnan(cf.A.value[2, [0, 2]]).all() and cf.A.value[2, 1] == 0 and (cf.A.value[1] == 0).all()
    assert [f.objective for f in cf.first_passage] == ["security"]
    assert cf.stationary_mean.value[1] == 10.0
    assert np.isfinite(cf.r2_held_out["censored"][0])


def test_an_objective_on_a_bound_after_every_transition_skips_with_the_reason() -> None:
    truth = Truth({"SF": reference_truth().strategies["SF"]})
    x, labels = simulate_clipped_panel(truth, 30, 5, np.random.default_rng(0))
    x[:, 1:, 0] = 10.0
    res = CensoredSdeEstimator(n_bootstrap=0).fit(x, labels)
    assert res.skipped["SF"].startswith("security is on 10 after every transition")
