"""Held objectives (constant or never observed within a strategy) and skipped strategies (issues #5 and #7)."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
from sde_data import EF_LIKE, one

from llmsde.checks import evaluate_rules
from llmsde.checks.rules import Rule
from llmsde.dynamics import LinearSdeEstimator, SdeFit, simulate
from llmsde.errors import LlmsdeWarning

# A 2-objective sub-system with known parameters (the third objective is set by the test).
A2 = np.array([[-0.40, 0.05], [-0.10, -0.60]])
B2 = np.array([2.4, 5.0])
S2 = np.array([[0.20, -0.04], [-0.04, 0.30]])


def _panel2(moving: tuple[int, int], third: float, sessions: int, seed: int, iterations: int = 10) -> np.ndarray:
    """Sessions whose ``moving`` objectives follow (A2, B2, S2) and whose third objective is ``third`` (or NaN)."""
    rng = np.random.default_rng(seed)
    x = np.empty((sessions, iterations + 1, 3))
    held = ({0, 1, 2} - set(moving)).pop()
    x[..., held] = third
    cur = rng.normal([5.0, 6.0], 1.0, size=(sessions, 2))
    root = np.linalg.cholesky(S2)
    for k in range(iterations + 1):
        x[:, k, list(moving)] = cur
        cur = cur + cur @ A2.T + B2 + rng.standard_normal((sessions, 2)) @ root.T
    return x


def _fit(x: np.ndarray, labels: list[str], **kw: object) -> tuple[SdeFit, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LlmsdeWarning)
        est = LinearSdeEstimator(n_bootstrap=kw.pop("n_bootstrap", 40), random_state=0, **kw)  # type: ignore[arg-type]
        fit = est.fit(x, labels)
    return fit, [str(w.message) for w in caught if issubclass(w.category, LlmsdeWarning)]


def test_constant_objective_is_held_and_other_strategies_are_unchanged() -> None:
    x_a, _ = one(EF_LIKE, sessions=80, seed=1)
    x_b = _panel2((1, 2), 10.0, sessions=80, seed=2)
    both, msgs = _fit(np.concatenate([x_a, x_b]), ["A"] * 80 + ["SF"] * 80)
    alone, _ = _fit(x_a, ["A"] * 80)
    assert "security is constant at 10 in SF: held fixed, drift fitted on efficiency and functionality" in msgs
    fa, ref = both.strategies["A"], alone.strategies["A"]
    for key in ("A", "b", "Sigma", "eigenvalues", "rho"):
        np.testing.assert_allclose(getattr(fa, key).value, getattr(ref, key).value, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fa.equilibrium.value, ref.equilibrium.value, rtol=1e-10)
    np.testing.assert_allclose(fa.r2["in_sample"].overall.value, ref.r2["in_sample"].overall.value, rtol=1e-10)
    sf = both.strategies["SF"]
    assert sf.held == {"security": 10.0} and sf.moving == (1, 2) and not fa.held
    assert np.all(sf.A.value[0, :] == 0.0) and np.all(sf.A.value[:, 0] == 0.0) and sf.b.value[0] == 0.0
    assert np.all(sf.Sigma.value[0, :] == 0.0) and np.all(sf.Sigma.value[:, 0] == 0.0)
    assert sf.A.lo[0, 1] == 0.0 and sf.A.hi[0, 1] == 0.0
    np.testing.assert_allclose(sf.A.value[1:, 1:], A2, atol=0.06)
    assert sf.eigenvalues.value.shape == (2, 2) and sf.discrete_modulus.value.shape == (2,)
    np.testing.assert_allclose(sf.rho.value, -np.linalg.eigvals(A2).real.max(), atol=0.06)
    eq = sf.equilibrium.value
    assert eq[0] == 10.0 and sf.equilibrium.lo[0] == 10.0
    np.testing.assert_allclose(eq[1:], -np.linalg.solve(A2, B2), atol=0.3)
    assert math.isnan(sf.r2["in_sample"].per_objective.value[0]) and sf.r2["in_sample"].overall.value > 0.3
    assert any("held fixed" in n for n in sf.notes)
    assert not any("sit on 0 or 10" in m for m in msgs)


def test_missing_objective_is_held_and_the_rest_is_recovered() -> None:
    x = _panel2((0, 1), math.nan, sessions=300, seed=3)
    fit, msgs = _fit(x, ["SEC"] * 300)
    assert any("functionality is missing in every state of SEC" in m for m in msgs)
    sf = fit.strategies["SEC"]
    assert sf.held == {"functionality": None} and sf.n_dropped == 0 and sf.n_transitions == 3000
    np.testing.assert_allclose(sf.A.value[:2, :2], A2, atol=0.04)
    np.testing.assert_allclose(sf.b.value[:2], B2, atol=0.3)
    np.testing.assert_allclose(sf.Sigma.value[:2, :2], S2, atol=0.04)
    assert np.isnan(sf.A.value[2, :]).all() and np.isnan(sf.A.value[:, 2]).all() and np.isnan(sf.b.value[2])
    np.testing.assert_allclose(sf.equilibrium.value[:2], -np.linalg.solve(A2, B2), atol=0.2)
    assert math.isnan(sf.equilibrium.value[2]) and math.isnan(sf.x0_mean[2])
    assert sf.A.covers(np.pad(A2, ((0, 1), (0, 1))))[:2, :2].all()
    doc = json.loads(json.dumps(fit.to_dict(), allow_nan=False))
    entry = doc["strategies"]["SEC"]
    assert entry["held"] == {"functionality": None} and entry["A"]["value"][2] == [None, None, None]
    assert len(entry["A"]["value"]) == 3 and len(entry["eigenvalues"]["value"]) == 2
    back = SdeFit.from_dict(doc).strategies["SEC"]
    assert back.held == sf.held and back.eigenvalues.value.shape == (2, 2)
    sim = simulate(back, steps=5, paths=50, seed=1)
    assert np.isnan(sim.paths[..., 2]).all() and np.isfinite(sim.paths[..., :2]).all()


def test_partly_missing_keeps_dropping_transitions() -> None:
    x, labels = one(sessions=30, seed=4)
    x[:5, 3, 2] = np.nan
    fit, msgs = _fit(x, labels)
    assert fit.strategies["X"].n_dropped == 10 and not fit.strategies["X"].held and not msgs


def test_unfittable_strategy_is_skipped_and_others_still_fitted() -> None:
    x_a, _ = one(sessions=40, seed=5)
    x_b, _ = one(sessions=1, seed=6)
    fit, msgs = _fit(np.concatenate([x_a, x_b]), ["A"] * 40 + ["B"])
    alone, _ = _fit(x_a, ["A"] * 40)
    assert list(fit.strategies) == ["A"] and "B" in fit.skipped
    assert fit.skipped["B"].startswith("one session")
    assert any(m.startswith("strategy 'B' skipped") for m in msgs)
    np.testing.assert_allclose(fit.strategies["A"].A.value, alone.strategies["A"].A.value, rtol=1e-12)
    doc = fit.to_dict()
    assert doc["skipped"] == {"B": fit.skipped["B"]}
    assert SdeFit.from_dict(doc).skipped == fit.skipped


def test_all_objectives_held_skips_the_strategy() -> None:
    x_a, _ = one(sessions=20, seed=7)
    x_b = np.full((20, 11, 3), 10.0)
    fit, _ = _fit(np.concatenate([x_a, x_b]), ["A"] * 20 + ["B"] * 20)
    assert fit.skipped == {"B": "every objective is constant or missing"}


def test_no_fittable_strategy_names_every_reason() -> None:
    x, _ = one(sessions=4, iterations=1, seed=8)
    fit, msgs = _fit(x, ["P", "Q", "Q", "Q"])
    assert fit.strategies == {}
    assert fit.skipped["P"].startswith("one session") and fit.skipped["Q"].startswith("3 usable transitions")
    assert "no strategy could be fitted" in msgs[-1] and all("\n" not in m for m in msgs)


def test_few_sessions_fewer_than_folds_is_leave_one_out() -> None:
    x, labels = one(sessions=4, seed=9)
    fit, _ = _fit(x, labels, folds=5)
    sf = fit.strategies["X"]
    assert any("leave-one-session-out" in n for n in sf.notes) and math.isfinite(float(sf.rho.value))


def test_schema_version_1_is_still_read() -> None:
    x, labels = one(sessions=20, seed=10)
    doc = _fit(x, labels)[0].to_dict()
    assert doc["schema_version"] == 3
    doc["schema_version"] = 1
    del doc["skipped"]
    for entry in doc["strategies"].values():
        del entry["held"]
    back = SdeFit.from_dict(doc)
    assert back.skipped == {} and back.strategies["X"].held == {}


def test_held_constant_stays_put_in_simulation_and_checks_fail_cleanly() -> None:
    x_a, _ = one(sessions=30, seed=11)
    x_b = _panel2((1, 2), 10.0, sessions=30, seed=12)
    x_c, _ = one(sessions=1, seed=13)
    fit, _ = _fit(np.concatenate([x_a, x_b, x_c]), ["A"] * 30 + ["SF"] * 30 + ["C"])
    sim = simulate(fit.strategies["SF"], x0=[3.0, 5.0, 5.0], steps=4, paths=20, seed=0)
    assert np.all(sim.paths[..., 0] == 10.0)
    rules = (Rule(index=1, metric="rho", op=">", value=0.0, strategies=None),)
    report = evaluate_rules(rules, fit)
    bad = [r for r in report.results if r.strategy == "C"]
    assert len(bad) == 1 and not bad[0].passed and "not fitted: one session" in bad[0].line()
    assert all(r.passed for r in report.results if r.strategy != "C")
