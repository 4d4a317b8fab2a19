"""Break and repair rates recovered from synthetic panels with known rates; the logistic test; first passage."""

from __future__ import annotations

import numpy as np
import pytest

from llmsde.dynamics import fit_breakage
from llmsde.dynamics.breakage import session_counts
from llmsde.dynamics.first_passage import summarise_paths
from llmsde.errors import FitInputError


def _chain(n: int, t: int, p_break, p_repair: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sessions of a two-state chain; scores random in working states, functionality 0 when broken."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 10, (n, t, 3))
    broken = np.zeros((n, t), dtype=bool)
    for k in range(1, t):
        pb = p_break(x[:, k - 1]) if callable(p_break) else p_break
        u = rng.random(n)
        broken[:, k] = np.where(broken[:, k - 1], u >= p_repair, u < pb)
    x[broken] = np.nan
    x[broken, 2] = 0.0
    return x, broken


@pytest.mark.parametrize(("p_break", "p_repair"), [(0.15, 0.6), (0.05, 0.3)])
def test_known_break_and_repair_rates_are_recovered_with_covering_cis(p_break: float, p_repair: float) -> None:
    hits = []
    for seed in range(20):
        x, broken = _chain(150, 11, p_break, p_repair, seed)
        out = fit_breakage(x, broken, ["S"] * 150, n_bootstrap=300, random_state=seed, logistic=False)["S"]
        hits.append((out.break_rate.covers(p_break), out.repair_rate.covers(p_repair)))
        assert abs(float(out.break_rate.value) - p_break) < 0.04
        assert out.n_breaks <= out.n_working and out.n_repairs <= out.n_broken
    cover = np.mean(hits, axis=0)
    assert (cover >= 0.8).all(), cover


def test_breaking_that_depends_on_functionality_is_detected_by_the_lr_test() -> None:
    def p_break(state: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(1.0 - 0.5 * state[:, 2])))

    x, broken = _chain(300, 11, p_break, 0.5, 0)
    lg = fit_breakage(x, broken, ["S"] * 300, n_bootstrap=0)["S"].logistic
    assert lg is not None
    assert lg.p_value < 1e-6
    assert lg.coef[3] == pytest.approx(-0.5, abs=0.12)
    assert lg.df == 3


def test_counts_and_repaired_gaps() -> None:
    broken = np.array([[False, True, True, False, True], [True, False, False, False, False]])
    present = np.ones_like(broken)
    present[1, 4] = False
    counts = session_counts(broken, present)
    np.testing.assert_array_equal(counts[0], [2, 2, 2, 1, 1])
    np.testing.assert_array_equal(counts[1], [2, 0, 1, 1, 0])


def test_shapes_are_checked() -> None:
    with pytest.raises(FitInputError, match="breakage needs"):
        fit_breakage(np.zeros((2, 3, 3)), np.zeros((2, 4), bool), ["a", "a"])


def test_first_passage_of_a_deterministic_path() -> None:
    """Security 9, 6, 3, 0 (no noise, clipped at 0): first <= 5 at k = 2; one of three later states on 0."""
    a = np.zeros((1, 3, 3))
    b = np.array([[-3.0, 0.0, 0.0]])
    sig = np.zeros((1, 3, 3))
    starts = np.array([[[9.0, 7.0, 7.0]]])
    observed = np.ones((1, 1, 4), dtype=bool)
    out = summarise_paths(a, b, sig, starts, observed, np.array([5.0, 5.0, 5.0]), 3, 2, np.random.default_rng(0))
    np.testing.assert_allclose(out.passage_by_k[0, 0], [0.0, 1.0, 1.0])
    assert out.expected_tau[0, 0] == 2.0
    assert out.reached[0, 1] == 0.0 and out.expected_tau[0, 1] == 100.0
    np.testing.assert_allclose(out.design_share[0, 0], [1 / 3, 0.0])
    np.testing.assert_allclose(out.final_share[0, 0], [1.0, 0.0])
