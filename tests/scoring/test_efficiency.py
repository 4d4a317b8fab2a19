"""Efficiency score: time score shape, radon metrics and their combination."""

from __future__ import annotations

import pytest

from llmsde.scoring.efficiency import efficiency_score, radon_metrics, radon_score, time_score

SIMPLE = "def add(a, b):\n    return a + b\n"
BRANCHY = "def f(x):\n" + "".join(f"    if x == {i}:\n        return {i}\n" for i in range(12)) + "    return -1\n"


def test_reference_speed_lands_mid_scale() -> None:
    assert time_score(1.0, 1.0) == pytest.approx(5.0)
    assert time_score(0.002, 0.002) == pytest.approx(5.0)


def test_time_score_is_scale_free_bounded_and_monotone() -> None:
    ratios = [0.01, 0.1, 0.5, 1, 2, 10, 100]
    scores = [time_score(r * 3e-3, 3e-3) for r in ratios]
    assert scores == sorted(scores, reverse=True)
    assert all(0 < s < 10 for s in scores)
    assert time_score(2.0, 1.0) == pytest.approx(time_score(2e-6, 1e-6))
    assert time_score(0.0, 1.0) == 10.0


def test_radon_metrics_and_score() -> None:
    simple, branchy = radon_metrics(SIMPLE), radon_metrics(BRANCHY)
    assert simple["cc_mean"] == 1 and branchy["cc_max"] == 13
    assert 0 <= radon_score(branchy) < radon_score(simple) <= 10
    assert radon_metrics("x = 1\n")["cc_mean"] == 1.0


def test_radon_refuses_unparseable_source() -> None:
    with pytest.raises(ValueError):
        radon_metrics("def f(:\n")


def test_efficiency_combines_time_and_radon_with_the_weight() -> None:
    m = radon_metrics(SIMPLE)
    assert efficiency_score(1.0, 1.0, m, 1.0) == pytest.approx(5.0)
    assert efficiency_score(1.0, 1.0, m, 0.0) == pytest.approx(radon_score(m))
    mixed = efficiency_score(1.0, 2.0, m, 0.7)
    assert mixed == pytest.approx(0.7 * time_score(1.0, 2.0) + 0.3 * radon_score(m))


def test_cc_scale_and_complexity_weight_shape_the_radon_score() -> None:
    m = radon_metrics(BRANCHY)
    cc_mean, mi = m["cc_mean"], m["mi"]
    assert radon_score(m, 5.0, 1.0) == pytest.approx(10 / (1 + (cc_mean - 1) / 5))
    assert radon_score(m, 5.0, 0.0) == pytest.approx(mi / 10)
    assert radon_score(m, 20.0, 1.0) > radon_score(m, 5.0, 1.0)
    assert radon_score(m) == pytest.approx(0.5 * radon_score(m, 5.0, 1.0) + 0.5 * radon_score(m, 5.0, 0.0))
    combined = efficiency_score(1.0, 1.0, m, 0.4, cc_scale=12.0, complexity_weight=0.8)
    assert combined == pytest.approx(0.4 * 5.0 + 0.6 * radon_score(m, 12.0, 0.8))


def test_scorer_reads_cc_scale_and_complexity_weight_from_the_config() -> None:
    from llmsde.config import ScoringConfig, build_config
    from llmsde.errors import ConfigError
    from llmsde.scoring import score_code
    from llmsde.tasks import Task

    task = Task(id="radon-only", spec="-", entry_point="f", tests=(), seed_code=BRANCHY)
    scoring = ScoringConfig.model_validate({"cc_scale": 20.0, "complexity_weight": 1.0})
    res = score_code(BRANCHY, task, scoring)
    assert res.efficiency == pytest.approx(radon_score(radon_metrics(BRANCHY), 20.0, 1.0))
    assert res.efficiency != pytest.approx(score_code(BRANCHY, task).efficiency)
    with pytest.raises(ConfigError, match="complexity_weight"):
        build_config({"scoring": {"complexity_weight": 1.5}})
