"""simulate (Euler-Maruyama with the [0, 10] rule), the reference truth, and calibration coverage."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sde_data import one

from llmsde.dynamics import LinearSdeEstimator, Truth, calibrate, reference_truth, simulate
from llmsde.dynamics.truth import REFERENCE, population_moments
from llmsde.errors import FitInputError


@pytest.fixture(scope="module")
def fitted():
    x, labels = one(sessions=100, seed=1)
    return LinearSdeEstimator(n_bootstrap=0).fit(x, labels).strategies["X"]


@pytest.mark.parametrize("rule", ["clip", "reflect"])
def test_paths_stay_in_bounds(fitted, rule: str) -> None:
    sim = simulate(fitted, x0=[9.5, 0.5, 9.9], steps=15, paths=500, seed=1, clip=rule)
    assert sim.paths.shape == (500, 16, 3)
    assert sim.paths.min() >= 0.0 and sim.paths.max() <= 10.0
    np.testing.assert_allclose(sim.paths[:, 0], np.tile([9.5, 0.5, 9.9], (500, 1)))
    on_edge = np.isclose(sim.paths, 10.0) | np.isclose(sim.paths, 0.0)
    assert on_edge.any() if rule == "clip" else not on_edge[:, 1:].any()


def test_unclipped_mean_follows_the_drift(fitted) -> None:
    sim = simulate(fitted, x0=[2.0, 2.0, 2.0], steps=40, paths=4000, seed=0, clip="none")
    a, b = fitted.A.value, fitted.b.value
    m = np.array([2.0, 2.0, 2.0])
    for _ in range(40):
        m = m + a @ m + b
    np.testing.assert_allclose(sim.mean[-1], m, atol=0.05)
    np.testing.assert_allclose(sim.mean[-1], fitted.equilibrium.value, atol=0.1)
    emp = np.cov(sim.paths[:, 1] - sim.paths[:, 0] - (sim.paths[:, 0] @ a.T + b), rowvar=False)
    np.testing.assert_allclose(emp, fitted.Sigma.value, atol=0.03)


def test_seeded_and_defaults_to_mean_start(fitted) -> None:
    a = simulate(fitted, steps=5, paths=10, seed=3)
    b = simulate(fitted, steps=5, paths=10, seed=3)
    np.testing.assert_array_equal(a.paths, b.paths)
    np.testing.assert_allclose(a.paths[0, 0], fitted.x0_mean)
    assert set(a.quantiles) == {0.05, 0.25, 0.5, 0.75, 0.95}
    assert np.all(a.quantiles[0.05] <= a.quantiles[0.95])


@pytest.mark.parametrize(
    "kwargs,needle",
    [
        ({"clip": "wrap"}, "clip"),
        ({"steps": 0}, "steps"),
        ({"paths": 0}, "paths"),
        ({"x0": [1, 2]}, "start state"),
        ({"x0": [11, 2, 3]}, "outside"),
    ],
)
def test_bad_simulation_arguments(fitted, kwargs: dict, needle: str) -> None:
    with pytest.raises(FitInputError, match=needle):
        simulate(fitted, **kwargs)


def test_reference_truth_matches_design_figures() -> None:
    truth = reference_truth()
    assert list(truth.strategies) == ["EF", "SF", "FF", "AI"]
    for name, ref in REFERENCE.items():
        p = truth.strategies[name]
        assert p.rho == pytest.approx(ref["rho"])
        np.testing.assert_allclose(-np.linalg.solve(p.A, p.b), ref["equilibrium"], atol=1e-9)
        assert np.linalg.eigvalsh(p.Sigma).min() > 0
        r2, corr = population_moments(p.A, p.b, p.Sigma, 10)
        assert r2 == pytest.approx(truth.achieved[name]["r2"])
    for name in ("EF", "SF"):
        assert truth.achieved[name]["r2"] == pytest.approx(REFERENCE[name]["r2"], abs=1e-3)
        assert truth.achieved[name]["corr_FE"] == pytest.approx(-0.17, abs=1e-3)
    back = Truth.from_dict(json.loads(json.dumps(truth.to_dict())))
    np.testing.assert_array_equal(back.strategies["FF"].Sigma, truth.strategies["FF"].Sigma)


@pytest.mark.parametrize(
    "doc,needle",
    [
        ({}, "strategies"),
        ({"strategies": {"X": {"A": [[1]], "b": [0, 0, 0], "Sigma": np.eye(3).tolist()}}}, "A"),
        (
            {"strategies": {"X": {"A": np.eye(3).tolist(), "b": [0, 0, 0], "Sigma": (-np.eye(3)).tolist()}}},
            "Sigma",
        ),
    ],
)
def test_bad_truth_documents(doc: dict, needle: str) -> None:
    with pytest.raises(FitInputError, match=needle):
        Truth.from_dict(doc)


def test_calibration_coverage_is_near_nominal() -> None:
    """50 panels x 2 strategies x 21 parameters: pooled 95% coverage must land in [0.89, 0.98], bias small."""
    ref = reference_truth()
    truth = Truth({"EF": ref.strategies["EF"], "SF": ref.strategies["SF"]})
    res = calibrate(truth, sessions=50, iterations=10, replications=50, n_bootstrap=150, seed=1)
    cov = np.concatenate([np.ravel(c.coverage) for v in res.strategies.values() for c in v.values()])
    assert 0.89 <= cov.mean() <= 0.98
    for name, params in res.strategies.items():
        assert abs(float(params["rho"].bias)) < 0.05
        assert np.max(np.abs(params["A"].bias)) < 0.03, name
    doc = res.to_dict()
    assert set(doc["strategies"]["EF"]["A"]) >= {"bias", "rmse", "coverage"}
    json.dumps(doc, allow_nan=False)


def test_calibrate_rejects_bad_sizes() -> None:
    with pytest.raises(FitInputError, match="sessions"):
        calibrate(sessions=1, replications=1)
