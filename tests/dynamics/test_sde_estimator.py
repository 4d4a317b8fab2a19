"""LinearSdeEstimator: parameter recovery, the estimator contract, edge cases, options and fit.json."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from sde_data import EF_LIKE, one, panel

from llmsde.dynamics import LinearSdeEstimator, SdeFit, TruthParams, reference_truth
from llmsde.errors import FitInputError, LlmsdeWarning


@pytest.fixture(scope="module")
def reference_fit() -> tuple[SdeFit, object]:
    truth = reference_truth()
    x, labels = panel(truth, sessions=300, seed=11)
    return LinearSdeEstimator(n_bootstrap=200, random_state=0).fit(x, labels), truth


def test_recovers_reference_parameters(reference_fit) -> None:
    fit, truth = reference_fit
    assert list(fit.strategies) == ["EF", "SF", "FF", "AI"]
    for name, p in truth.strategies.items():
        sf = fit.strategies[name]
        np.testing.assert_allclose(sf.A.value, p.A, atol=0.06)
        np.testing.assert_allclose(sf.Sigma.value, p.Sigma, atol=0.12 * np.abs(p.Sigma).max())
        assert abs(float(sf.rho.value) - p.rho) < 0.06
        eq = -np.linalg.solve(p.A, p.b)
        assert sf.equilibrium is not None
        np.testing.assert_allclose(sf.equilibrium.value, eq, atol=0.2)
        assert sf.n_sessions == 300 and sf.n_transitions == 3000 and sf.n_dropped == 0
        assert sf.stable
        lo, hi = float(sf.rho.lo), float(sf.rho.hi)
        assert lo < float(sf.rho.value) < hi


def test_r2_and_baselines(reference_fit) -> None:
    fit, truth = reference_fit
    for name, sf in fit.strategies.items():
        r2_in = float(sf.r2["in_sample"].overall.value)
        assert abs(r2_in - truth.achieved[name]["r2"]) < 0.06
        held = float(sf.r2["held_out"].overall.value)
        assert held <= r2_in + 1e-9 and held > r2_in - 0.05
        assert held > float(sf.baselines["mean_change"]["one_step"].overall.value)
        assert held > float(sf.baselines["no_change"]["one_step"].overall.value)
        assert float(sf.r2["multi_step"].overall.value) > float(sf.baselines["no_change"]["multi_step"].overall.value)


def test_interference_views(reference_fit) -> None:
    fit, truth = reference_fit
    sf = fit.strategies["EF"]
    corr = sf.interference.corr_dx
    assert np.all(np.diag(corr.value) == 0)
    assert abs(float(corr.value[2, 1]) - truth.achieved["EF"]["corr_FE"]) < 0.08
    np.testing.assert_allclose(np.diag(sf.interference.coupling.value), 0.0)
    a = sf.A.value
    assert sf.interference.coupling_normalised.value[2, 1] == pytest.approx(a[2, 1] / abs(a[2, 2]))
    s = sf.Sigma.value
    assert sf.interference.noise_corr.value[2, 0] == pytest.approx(s[2, 0] / np.sqrt(s[2, 2] * s[0, 0]))


def test_in_sample_r2_matches_direct_computation() -> None:
    x, labels = one(sessions=40, seed=4)
    sf = LinearSdeEstimator(n_bootstrap=0).fit(x, labels).strategies["X"]
    prev, nxt = x[:, :-1].reshape(-1, 3), x[:, 1:].reshape(-1, 3)
    design = np.column_stack([prev, np.ones(len(prev))])
    e = (nxt - prev) - design @ np.linalg.lstsq(design, nxt - prev, rcond=None)[0]
    dx = nxt - prev
    want = 1 - (e**2).sum() / ((dx - dx.mean(0)) ** 2).sum()
    assert float(sf.r2["in_sample"].overall.value) == pytest.approx(want, rel=1e-9)
    assert np.isnan(sf.A.lo).all()


def test_contract_no_mutation_and_reproducible() -> None:
    x, labels = one(sessions=30, seed=5)
    x_before = x.copy()
    est = LinearSdeEstimator(n_bootstrap=50, random_state=3)
    params = est.get_params()
    a = est.fit(x, labels)
    b = est.fit(x, labels)
    assert est.get_params() == params
    np.testing.assert_array_equal(x, x_before)
    assert json.dumps(a.to_dict()) == json.dumps(b.to_dict())
    assert a is not b
    c = LinearSdeEstimator(n_bootstrap=50, random_state=4).fit(x, labels)
    assert json.dumps(a.to_dict()) != json.dumps(c.to_dict())


def test_bootstrap_ci_brackets_truth_on_large_panel() -> None:
    x, labels = one(sessions=400, seed=6)
    sf = LinearSdeEstimator(n_bootstrap=300, random_state=0).fit(x, labels).strategies["X"]
    covered = sf.A.covers(EF_LIKE.A)
    assert covered.sum() >= 7
    assert sf.diagnostics.bootstrap_valid == 300


@pytest.mark.parametrize(
    "kwargs,needle",
    [
        ({"dt": 0}, "dt"),
        ({"n_bootstrap": -1}, "n_bootstrap"),
        ({"ci_level": 1.5}, "ci_level"),
        ({"folds": 1}, "folds"),
        ({"method": "rk4"}, "method"),
        ({"model": "huge"}, "model"),
        ({"random_state": "x"}, "random_state"),
        ({"ci": "studentized"}, "ci must be one of"),
    ],
)
def test_bad_parameters_name_the_argument(kwargs: dict, needle: str) -> None:
    x, labels = one(sessions=10)
    with pytest.raises(FitInputError, match=needle):
        LinearSdeEstimator(**kwargs).fit(x, labels)


def _const(x: np.ndarray) -> np.ndarray:
    y = x.copy()
    y[...] = 10.0
    return y


@pytest.mark.parametrize(
    "make,needle",
    [
        (lambda x: x[:0], "empty"),
        (lambda x: x[..., :2], "shape"),
        (lambda x: x[:, :1], "n_steps"),
        (lambda x: np.where(np.arange(x.size).reshape(x.shape) == 0, np.inf, x), "infinite"),
    ],
)
def test_edge_cases_are_one_line_errors(make, needle: str) -> None:
    x, _ = one(sessions=20, seed=7)
    bad = make(x)
    with pytest.raises(FitInputError, match=needle) as info:
        LinearSdeEstimator(n_bootstrap=10).fit(bad, ["X"] * len(bad))
    assert "\n" not in info.value.one_line()


@pytest.mark.parametrize(
    "make,reason",
    [
        (lambda x: x[:1], "one session"),
        (lambda x: x[:2, :3], "4 usable transitions; need more than 5"),
        (_const, "every objective is constant or missing"),
    ],
)
def test_data_that_allow_no_fit_give_reasons_not_errors(make, reason: str) -> None:
    x, _ = one(sessions=20, seed=7)
    bad = make(x)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LlmsdeWarning)
        fit = LinearSdeEstimator(n_bootstrap=10).fit(bad, ["X"] * len(bad))
    assert fit.strategies == {} and fit.skipped["X"].startswith(reason)
    assert "no strategy could be fitted" in str(caught[-1].message)


def test_label_count_must_match() -> None:
    x, _ = one(sessions=10)
    with pytest.raises(FitInputError, match="one entry per session"):
        LinearSdeEstimator().fit(x, ["X"] * 9)


def test_nan_transitions_are_dropped_and_counted_padding_is_not() -> None:
    x, labels = one(sessions=30, seed=8)
    x = np.concatenate([x, np.full((30, 2, 3), np.nan)], axis=1)
    x[0, 3, 1] = np.nan
    sf = LinearSdeEstimator(n_bootstrap=20).fit(x, labels).strategies["X"]
    assert sf.n_dropped == 2
    assert sf.n_transitions == 30 * 10 - 2


def test_singular_a_gives_no_equilibrium_and_a_note() -> None:
    rng = np.random.default_rng(0)
    x, labels = one(sessions=30, seed=9)
    x[:, :, 0] = 2.0 + 0.5 * np.arange(x.shape[1])[None, :] + rng.normal(0, 1, (30, 1))
    sf = LinearSdeEstimator(n_bootstrap=20).fit(x, labels).strategies["X"]
    assert sf.equilibrium is None
    assert any("singular" in n for n in sf.notes)
    assert sf.to_dict()["equilibrium"] is None
    assert sf.mode == "marginal"


def test_boundary_pile_up_warns() -> None:
    x, labels = one(sessions=30, seed=10)
    x[..., 2] = np.clip(x[..., 2] + 3.0, 0, 10)
    with pytest.warns(LlmsdeWarning, match="functionality states sit on 0 or 10.*--model censored"):
        sf = LinearSdeEstimator(n_bootstrap=20).fit(x, labels).strategies["X"]
    assert sf.diagnostics.boundary_fraction[2] > 0.3


def test_exact_method_matches_logm_and_recovers_continuous_parameters() -> None:
    from scipy.linalg import expm, logm

    a = EF_LIKE.A
    phi = expm(a)
    rng = np.random.default_rng(1)
    n, t = 400, 10
    x = np.empty((n, t + 1, 3))
    x[:, 0] = rng.normal(5, 2, (n, 3))
    c = np.linalg.solve(a, (phi - np.eye(3)) @ EF_LIKE.b)
    for k in range(t):
        x[:, k + 1] = x[:, k] @ phi.T + c + rng.normal(0, 0.3, (n, 3))
    labels = ["X"] * n
    em = LinearSdeEstimator(n_bootstrap=0).fit(x, labels).strategies["X"]
    ex = LinearSdeEstimator(n_bootstrap=50, method="exact").fit(x, labels).strategies["X"]
    np.testing.assert_allclose(ex.A.value, logm(np.eye(3) + em.A.value).real, atol=1e-8)
    np.testing.assert_allclose(ex.A.value, a, atol=0.05)
    assert ex.diagnostics.exact_log_real is True
    np.testing.assert_allclose(ex.equilibrium.value, em.equilibrium.value, atol=1e-8)


def test_exact_method_says_when_log_is_not_real() -> None:
    fast = TruthParams(A=np.diag([-1.5, -1.6, -1.7]), b=np.array([7.5, 8.0, 8.5]), Sigma=0.2 * np.eye(3))
    x, labels = one(fast, sessions=60, seed=2)
    with pytest.warns(LlmsdeWarning, match="not real"):
        sf = LinearSdeEstimator(n_bootstrap=20, method="exact").fit(x, labels).strategies["X"]
    assert sf.method == "em" and sf.diagnostics.exact_log_real is False
    assert any("not real" in n for n in sf.notes)


def test_pooled_and_diagonal_models(reference_fit) -> None:
    x, labels = panel(sessions=60, seed=3)
    with warnings.catch_warnings():  # the misspecified models may put FF's security equilibrium below 0 (flagged)
        warnings.simplefilter("ignore", LlmsdeWarning)
        pooled = LinearSdeEstimator(n_bootstrap=30, model="pooled").fit(x, labels)
        diag = LinearSdeEstimator(n_bootstrap=30, model="diagonal").fit(x, labels)
    a0 = pooled.strategies["EF"].A.value
    for sf in pooled.strategies.values():
        np.testing.assert_array_equal(sf.A.value, a0)
    assert not np.allclose(pooled.strategies["EF"].b.value, pooled.strategies["SF"].b.value)
    for sf in diag.strategies.values():
        assert np.count_nonzero(sf.A.value - np.diag(np.diag(sf.A.value))) == 0
    rows = {m.model: m for m in pooled.model_comparison}
    assert set(rows) == {"full", "diagonal", "pooled"}
    assert rows["full"].n_params > rows["diagonal"].n_params
    assert rows["full"].heldout_loglik > rows["pooled"].heldout_loglik
    assert rows["full"].aic < rows["pooled"].aic


def test_fit_json_is_strict_and_round_trips(reference_fit) -> None:
    fit, _ = reference_fit
    doc = fit.to_dict()
    text = json.dumps(doc, allow_nan=False)
    assert doc["schema_version"] == 3
    s = doc["strategies"]["SF"]
    for key in (
        "A",
        "b",
        "Sigma",
        "rho",
        "eigenvalues",
        "equilibrium",
        "r2",
        "interference",
        "n_sessions",
        "n_transitions",
    ):
        assert key in s
    assert len(s["A"]["value"]) == 3 and len(s["A"]["ci"]) == 2 and len(s["A"]["ci"][0]) == 3
    assert len(s["eigenvalues"]["value"]) == 3 and len(s["eigenvalues"]["value"][0]) == 2
    assert set(s["interference"]) == {"corr_dx", "coupling", "coupling_normalised", "noise_corr"}
    back = SdeFit.from_dict(json.loads(text))
    assert json.dumps(back.to_dict(), allow_nan=False) == text
    with pytest.raises(ValueError, match="schema_version"):
        SdeFit.from_dict({**doc, "schema_version": 99})


def test_no_warnings_on_clean_data() -> None:
    x, labels = one(sessions=30, seed=12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LinearSdeEstimator(n_bootstrap=30, method="exact").fit(x, labels)


def test_pooled_constant_objective_is_named() -> None:
    x, labels = panel(sessions=10, seed=4)
    x[..., 0] = 10.0
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always", LlmsdeWarning)
        fit = LinearSdeEstimator(n_bootstrap=10, model="pooled").fit(x, labels)
    assert fit.strategies == {} and set(fit.skipped) == set(labels)
    assert all("'security' is constant (10) in the pooled panel" in r for r in fit.skipped.values())
