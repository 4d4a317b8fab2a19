"""Evaluating gates on a fit of data with known parameters (DESIGN.md reference: AI rho 0.15, FF x*_S = 0)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pytest

from llmsde.checks import MetricValue, Rule, difference, evaluate_rules, parse_rules, read_metric
from llmsde.errors import ConfigError

if TYPE_CHECKING:
    from conftest import Fitted


def _rules(*items: dict[str, object]) -> list[Rule]:
    return parse_rules({"rule": list(items)})


def test_rho_gate_fails_only_for_the_slow_strategy(reference_fit: Fitted) -> None:
    report = evaluate_rules(_rules({"metric": "rho", "op": ">", "value": 0.2}), reference_fit.fit)
    verdict = {r.strategy: r.passed for r in report.results}
    assert verdict == {"EF": True, "SF": True, "FF": True, "AI": False}
    assert not report.passed
    (fail,) = report.failures
    line = fail.line()
    assert line.startswith("FAIL rho > 0.2 [AI]: value 0.1") and "CI [" in line and "threshold 0.2" in line


def test_security_equilibrium_gate_per_strategy(reference_fit: Fitted) -> None:
    rules = _rules(
        {"metric": "equilibrium.security", "strategy": "SF", "op": ">=", "value": 5},
        {"metric": "equilibrium.security", "strategy": ["FF"], "op": ">=", "value": 5},
    )
    report = evaluate_rules(rules, reference_fit.fit)
    assert [(r.strategy, r.passed) for r in report.results] == [("SF", True), ("FF", False)]


def test_significance_operators_use_the_ci(reference_fit: Fitted) -> None:
    ff = reference_fit.fit.strategies["FF"]
    trend = read_metric(ff, "trend.security")
    assert trend.hi < 0  # FF drives security to 0 from a start near 3: significantly negative
    rules = _rules(
        {"metric": "trend.security", "strategy": "FF", "op": "not_significantly_below", "value": 0},
        {"metric": "trend.security", "strategy": "FF", "op": "significantly_below", "value": 0},
        {"metric": "trend.security", "strategy": "SF", "op": "significantly_above", "value": 0},
        {"metric": "trend.security", "strategy": "SF", "op": "not_significantly_above", "value": 0},
    )
    assert [r.passed for r in evaluate_rules(rules, reference_fit.fit).results] == [False, True, True, False]


def test_significance_without_ci_fails_with_reason(reference_fit: Fitted) -> None:
    rules = _rules({"metric": "max_discrete_modulus", "op": "not_significantly_above", "value": 1})
    report = evaluate_rules(rules, reference_fit.fit)
    assert all(not r.passed and "no CI" in r.reason for r in report.results)


def test_baseline_difference_and_conservative_ci(reference_fit: Fitted) -> None:
    rules = _rules(
        {"metric": "equilibrium.security", "relative_to": "baseline", "op": ">=", "value": -0.5},
    )
    same = evaluate_rules(rules, reference_fit.fit, baseline=reference_fit.fit)
    assert same.passed
    for r in same.results:
        assert r.value.value == pytest.approx(0.0)
        assert r.value.lo < 0 < r.value.hi
    with pytest.raises(ConfigError, match="relative to a baseline"):
        evaluate_rules(rules, reference_fit.fit)


def test_difference_adds_half_widths() -> None:
    d = difference(MetricValue(5.0, 4.0, 6.5), MetricValue(3.0, 2.5, 3.2))
    assert (d.value, d.lo, d.hi) == (2.0, 4.0 - 3.2, 6.5 - 2.5)
    nan = difference(MetricValue(1.0, math.nan, math.nan), MetricValue(0.0, -1.0, 1.0))
    assert math.isnan(nan.lo) and not nan.has_ci


def test_report_json_shape(reference_fit: Fitted) -> None:
    report = evaluate_rules(_rules({"metric": "rho", "strategy": "AI", "op": ">", "value": 0.2}), reference_fit.fit)
    d = report.to_dict()
    assert d["passed"] is False and d["n_failed"] == 1 and d["n_rules"] == 1
    (res,) = d["results"]
    assert res["strategy"] == "AI" and res["threshold"] == 0.2 and len(res["ci"]) == 2
