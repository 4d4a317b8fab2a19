"""``compare``: B minus A with CIs, in bootstrap mode (two panels) and stored-CI mode (two fits)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from llmsde import api
from llmsde.checks import COMPARED_METRICS, bootstrap_metrics, compare_draws, compare_fits, independent_streams
from llmsde.config import build_config
from llmsde.dynamics import LinearSdeEstimator, reference_truth, simulate_panel


def _panel(seed: int, sessions: int = 30) -> tuple[np.ndarray, tuple[str, ...]]:
    truth = reference_truth(iterations=8)
    return simulate_panel(truth, sessions, 8, np.random.default_rng(seed))


def _swap(labels: tuple[str, ...]) -> tuple[str, ...]:
    """Relabel FF sessions as SF and vice versa: "SF" in B then behaves like FF (security equilibrium 0)."""
    return tuple({"SF": "FF", "FF": "SF"}.get(s, s) for s in labels)


def test_bootstrap_mode_finds_a_real_change_and_not_noise() -> None:
    xa, la = _panel(seed=11)
    xb, lb = _panel(seed=12)
    a = bootstrap_metrics(xa, la, COMPARED_METRICS, n_bootstrap=40, seed=0)
    same = compare_draws(a, bootstrap_metrics(xb, lb, COMPARED_METRICS, n_bootstrap=40, seed=1), "a", "b")
    changed = compare_draws(a, bootstrap_metrics(xb, _swap(lb), COMPARED_METRICS, n_bootstrap=40, seed=1), "a", "b")
    assert same.mode == changed.mode == "bootstrap"
    assert a.n_valid == 40
    sig_same = {(d.strategy, d.metric) for d in same.differences if d.significant}
    assert ("SF", "equilibrium.security") not in sig_same
    eq = next(d for d in changed.differences if d.strategy == "SF" and d.metric == "equilibrium.security")
    assert eq.significant and eq.hi < -4 and eq.diff < -4
    assert any(
        s.startswith("SF: in b the scores settle at a lower security level than in a") for s in changed.sentences()
    )
    assert len(changed.differences) == 4 * len(COMPARED_METRICS)


def test_stored_ci_mode_is_conservative_and_says_so() -> None:
    xa, la = _panel(seed=21)
    xb, lb = _panel(seed=22)
    est = LinearSdeEstimator(n_bootstrap=100, folds=3, random_state=0, compare_models=False)
    fa, fb, fswap = est.fit(xa, la), est.fit(xb, lb), est.fit(xb, _swap(lb))
    comp = compare_fits(fa, fb, "a", "b")
    assert comp.mode == "stored_ci" and "conservatively" in comp.method_note
    for d in comp.differences:
        sa, sb = fa.strategies[d.strategy], fb.strategies[d.strategy]
        if d.metric == "rho":
            assert d.lo == float(sb.rho.lo) - float(sa.rho.hi)
            assert d.hi == float(sb.rho.hi) - float(sa.rho.lo)
    assert not any(d.significant and d.metric == "equilibrium.security" for d in comp.differences)
    swapped = compare_fits(fa, fswap, "a", "b")
    eq = next(d for d in swapped.differences if d.strategy == "SF" and d.metric == "equilibrium.security")
    assert eq.significant and eq.diff < -4


def test_only_common_strategies_are_compared_and_outputs_render() -> None:
    xa, la = _panel(seed=31)
    keep = np.array([s in ("SF", "FF") for s in la])
    est = LinearSdeEstimator(n_bootstrap=50, folds=3, random_state=0, compare_models=False)
    full = est.fit(xa, la)
    part = est.fit(xa[keep], tuple(s for s, k in zip(la, keep, strict=True) if k))
    comp = compare_fits(full, part, "full", "part")
    assert comp.only_in_a == ("EF", "AI") and comp.only_in_b == ()
    assert {d.strategy for d in comp.differences} == {"SF", "FF"}
    md = comp.to_markdown()
    assert "# Comparison: part vs full" in md and "Strategies only in `full`" in md and "| SF | rho |" in md
    js = comp.to_dict()
    assert js["mode"] == "stored_ci" and len(js["differences"]) == 2 * len(COMPARED_METRICS)


def test_a_panel_compared_with_its_copy_has_ci_of_positive_width() -> None:
    """Issue 12 item 12: one seed for both bootstraps paired the resamples, so a copy gave CIs of exactly [0, 0]."""
    x, labels = _panel(seed=31)
    paired = [bootstrap_metrics(x, labels, COMPARED_METRICS, n_bootstrap=30, seed=0) for _ in range(2)]
    same = compare_draws(*paired, "a", "copy")
    assert all(d.lo == d.hi == 0.0 for d in same.differences)  # what the old seeding produced
    a, b = (bootstrap_metrics(x, labels, COMPARED_METRICS, n_bootstrap=30, seed=s) for s in independent_streams(0, 2))
    cmp = compare_draws(a, b, "a", "copy")
    assert all(d.diff == 0.0 for d in cmp.differences)
    assert all(d.hi - d.lo > 0 for d in cmp.differences if d.metric == "rho")
    assert not any(d.significant for d in cmp.differences)


@pytest.mark.slow
def test_api_compare_of_a_run_and_its_copy_uses_independent_streams(tmp_path: Path) -> None:
    config = {"sessions": 6, "iterations": 3, "strategies": ["SF", "FF"], "tasks": ["merge_intervals"], "seed": 5}
    summary = api.run_study(build_config({**config, "out": str(tmp_path / "runs")}))
    copy = tmp_path / "copy"
    shutil.copytree(summary.run_dir, copy)
    cmp = api.compare(summary.run_dir, copy, n_bootstrap=40, seed=0)
    assert cmp.mode == "bootstrap" and "independent session bootstraps" in cmp.method_note
    rho = [d for d in cmp.differences if d.metric == "rho"]
    assert len(rho) == 2 and all(d.diff == 0.0 and d.hi - d.lo > 0 for d in rho)
