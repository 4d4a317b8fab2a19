"""CI gates and comparisons on fit results: the ``check`` rules engine and ``compare``.

It reads fits (:class:`~llmsde.dynamics.SdeFit`), never runs or stores; ``compare`` of two runs gets its
bootstrap
draws from :func:`bootstrap_metrics`, which refits resampled panels through the public estimator.
"""

from __future__ import annotations

from llmsde.checks.compare import COMPARED_METRICS, Comparison, Difference, compare_draws, compare_fits
from llmsde.checks.evaluate import CheckReport, RuleResult, difference, evaluate_rules
from llmsde.checks.metrics import METRIC_FAMILIES, MetricValue, canonical, describe, metric_names, read_metric
from llmsde.checks.paired import ModelComparison, compare_models_paired
from llmsde.checks.resample import MetricDraws, bootstrap_metrics, independent_streams
from llmsde.checks.rules import OPERATORS, Rule, load_rules, parse_rules

__all__ = [
    "COMPARED_METRICS",
    "METRIC_FAMILIES",
    "OPERATORS",
    "CheckReport",
    "Comparison",
    "Difference",
    "MetricDraws",
    "MetricValue",
    "ModelComparison",
    "Rule",
    "RuleResult",
    "bootstrap_metrics",
    "canonical",
    "compare_draws",
    "compare_fits",
    "compare_models_paired",
    "describe",
    "difference",
    "evaluate_rules",
    "independent_streams",
    "load_rules",
    "metric_names",
    "parse_rules",
    "read_metric",
]
