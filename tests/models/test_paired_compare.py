"""The paired model comparison on synthetic trajectories with a known difference between two models, and
strong task effects that both models share (as real tasks do)."""

from __future__ import annotations

import numpy as np
import pytest

from llmsde.checks import COMPARED_METRICS, Difference, bootstrap_metrics, compare_draws, compare_models_paired
from llmsde.errors import FitInputError

N_TASKS, REPS, STEPS = 10, 2, 8


def _panel(shift: float, seed: int = 0) -> tuple[np.ndarray, list[str], list[str], list[str]]:
    """Two models, one strategy; model b's security equilibrium is ``shift`` above a's.

    Each task has its own start (far from the equilibrium for some tasks, near for others) and each (task,
    replicate) its own noise sequence, and both models see the same ones: the paired design of a study whose
    session seeds leave the model out.
    """
    rng = np.random.default_rng(seed)
    task_start = rng.uniform(1.0, 9.0, (N_TASKS, 3))
    eq_a = np.array([4.5, 5.0, 7.5])
    xs, models, strategies, tasks = [], [], [], []
    for t in range(N_TASKS):
        for rep in range(REPS):
            start = task_start[t] + rng.normal(0, 0.2, 3)
            for model, delta in (("a", 0.0), ("b", shift)):
                eq = eq_a + np.array([delta, 0.0, 0.0])
                noise = np.random.default_rng([seed, t, rep])
                path = [start]
                for _ in range(STEPS):
                    path.append(path[-1] + 0.5 * (eq - path[-1]) + noise.normal(0, 0.4, 3))
                xs.append(np.asarray(path))
                models.append(model)
                strategies.append("S1")
                tasks.append(f"t{t}")
    return np.asarray(xs), models, strategies, tasks


def test_known_difference_is_found_with_the_right_sign_and_size() -> None:
    x, models, strategies, tasks = _panel(shift=1.0)
    result = compare_models_paired(x, models, strategies, tasks, n_bootstrap=150, seed=1)
    [pair] = result.pairs
    eq = next(d for d in pair.differences if d.metric == "equilibrium.security")
    assert eq.significant and eq.lo < 1.0 < eq.hi and 0.6 < eq.diff < 1.4
    assert any("settle at a higher security level" in s for s in result.sentences())
    other = next(d for d in pair.differences if d.metric == "equilibrium.efficiency")
    assert other.lo < 0.0 < other.hi
    assert result.n_valid == 150 and {d.metric for d in pair.differences} == set(COMPARED_METRICS)


def test_pairing_gives_narrower_intervals_than_independent_bootstraps() -> None:
    x, models, strategies, tasks = _panel(shift=0.5, seed=3)
    paired = compare_models_paired(x, models, strategies, tasks, n_bootstrap=150, seed=2)
    m = np.asarray(models)
    draws = [  # independent streams: the same seed would resample the same rows of both and pair them by accident
        bootstrap_metrics(x[m == k], ["S1"] * int((m == k).sum()), COMPARED_METRICS, 150, seed)
        for k, seed in (("a", 2), ("b", 7))
    ]
    independent = compare_draws(draws[0], draws[1], "a", "b")

    def width(diffs: tuple[Difference, ...]) -> float:
        d = next(d for d in diffs if d.metric == "equilibrium.security")
        return d.hi - d.lo

    assert width(paired.pairs[0].differences) < 0.5 * width(independent.differences)


def test_identical_models_differ_by_exactly_nothing() -> None:
    x, models, strategies, tasks = _panel(shift=0.0)
    result = compare_models_paired(x, models, strategies, tasks, n_bootstrap=40, seed=0)
    assert result.sentences() == []
    for d in result.pairs[0].differences:
        assert d.diff == pytest.approx(0.0, abs=1e-9) or not np.isfinite(d.diff)


def test_one_model_is_refused() -> None:
    x, models, strategies, tasks = _panel(shift=0.0)
    keep = [i for i, m in enumerate(models) if m == "a"]
    with pytest.raises(FitInputError, match="two or more models"):
        compare_models_paired(x[keep], ["a"] * len(keep), ["S1"] * len(keep), [tasks[i] for i in keep])
