"""Evaluate ``check`` rules against a fit (and optionally a baseline fit): one result per rule and strategy.

A rule relative to a baseline checks FIT minus BASELINE. Its CI is the conservative interval
[lo_fit - hi_base, hi_fit - lo_base]: the two fits come from independent runs but only their marginal CIs
are stored,
and this interval is never narrower than the one a joint bootstrap would give (it adds the half-widths
instead of
adding them in quadrature), so a significance gate on it errs towards "not significant".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmsde.checks.metrics import MetricValue, read_metric
from llmsde.checks.rules import SIGNIFICANCE_OPERATORS, Rule
from llmsde.errors import ConfigError

if TYPE_CHECKING:
    from llmsde.dynamics import SdeFit

__all__ = ["CheckReport", "RuleResult", "evaluate_rules", "difference"]

_MISSING = MetricValue(math.nan, math.nan, math.nan)


@dataclass(frozen=True, slots=True)
class RuleResult:
    """The outcome of one rule for one strategy."""

    rule: Rule
    strategy: str
    value: MetricValue
    passed: bool
    reason: str = ""
    """Why a rule could not be decided (missing value or CI); empty when it was decided."""

    def line(self) -> str:
        """One line: verdict, rule, strategy, value, CI, threshold (and the reason when undecided)."""
        v = self.value
        ci = f"CI [{v.lo:.3g}, {v.hi:.3g}]" if v.has_ci else "CI n/a"
        val = f"{v.value:.4g}" if math.isfinite(v.value) else "n/a"
        verdict = "PASS" if self.passed else "FAIL"
        text = f"{verdict} {self.rule.title} [{self.strategy}]: value {val}, {ci}, threshold {self.rule.value:g}"
        return f"{text} ({self.reason})" if self.reason else text

    def to_dict(self) -> dict[str, Any]:
        """JSON form (NaN as null)."""

        def num(x: float) -> float | None:
            return x if math.isfinite(x) else None

        return {
            "rule": self.rule.index,
            "name": self.rule.name,
            "title": self.rule.title,
            "metric": self.rule.metric,
            "op": self.rule.op,
            "threshold": self.rule.value,
            "relative_to": self.rule.relative_to,
            "strategy": self.strategy,
            "value": num(self.value.value),
            "ci": [num(self.value.lo), num(self.value.hi)],
            "passed": self.passed,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class CheckReport:
    """All results of one ``check``."""

    results: tuple[RuleResult, ...]

    @property
    def passed(self) -> bool:
        """True when every rule held for every selected strategy."""
        return all(r.passed for r in self.results)

    @property
    def failures(self) -> tuple[RuleResult, ...]:
        """The results that did not hold."""
        return tuple(r for r in self.results if not r.passed)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: overall verdict, counts and every result."""
        return {
            "passed": self.passed,
            "n_rules": len({r.rule.index for r in self.results}),
            "n_results": len(self.results),
            "n_failed": len(self.failures),
            "results": [r.to_dict() for r in self.results],
        }


def difference(current: MetricValue, base: MetricValue) -> MetricValue:
    """current - base, with the conservative CI of the module docstring (NaN bounds when either CI is
    missing)."""
    return MetricValue(current.value - base.value, current.lo - base.hi, current.hi - base.lo)


def _decide(op: str, v: MetricValue, threshold: float) -> tuple[bool, str]:
    if not math.isfinite(v.value):
        return False, "value not available (e.g. no equilibrium because A is singular, or the objective is missing)"
    if op in SIGNIFICANCE_OPERATORS:
        if not v.has_ci:
            return False, "no CI: fit with --bootstrap > 0"
        if op == "significantly_above":
            return v.lo > threshold, ""
        if op == "significantly_below":
            return v.hi < threshold, ""
        if op == "not_significantly_below":
            return v.hi >= threshold, ""
        return v.lo <= threshold, ""
    outcome = {
        ">": v.value > threshold,
        ">=": v.value >= threshold,
        "<": v.value < threshold,
        "<=": v.value <= threshold,
    }[op]
    return outcome, ""


def evaluate_rules(rules: Sequence[Rule], fit: SdeFit, baseline: SdeFit | None = None) -> CheckReport:
    """Apply every rule to each strategy it selects; ConfigError when a baseline rule has no baseline."""
    results: list[RuleResult] = []
    for rule in rules:
        if rule.relative_to == "baseline" and baseline is None:
            raise ConfigError(f"rule {rule.index} ({rule.title}) is relative to a baseline", "pass --baseline FIT2")
        labels = rule.strategies if rule.strategies is not None else (*fit.strategies, *fit.skipped)
        for label in labels:
            if label in fit.skipped:
                reason = f"strategy not fitted: {fit.skipped[label]}"
                results.append(RuleResult(rule, label, _MISSING, False, reason))
                continue
            if label not in fit.strategies:
                raise ConfigError(
                    f"rule {rule.index}: unknown strategy {label!r}",
                    f"strategies in the fit: {', '.join(fit.strategies)}",
                )
            value = read_metric(fit.strategies[label], rule.metric)
            if rule.relative_to == "baseline" and baseline is not None:
                if label not in baseline.strategies:
                    why = baseline.skipped.get(label)
                    reason = f"not fitted in the baseline: {why}" if why else "strategy missing from the baseline"
                    results.append(RuleResult(rule, label, value, False, reason))
                    continue
                value = difference(value, read_metric(baseline.strategies[label], rule.metric))
            passed, reason = _decide(rule.op, value, rule.value)
            results.append(RuleResult(rule, label, value, passed, reason))
    return CheckReport(tuple(results))
