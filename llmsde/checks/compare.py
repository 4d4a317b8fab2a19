"""Differences between two studies (B minus A) per strategy, with CIs and a plain-language line per
significant one.

Two sources of CIs, and the report says which it used:

- ``bootstrap``: both inputs are runs. Each run's sessions are bootstrapped independently
  (:mod:`llmsde.checks.resample`) and the CI is the percentile interval of the differences of draws.
- ``stored_ci``: at least one input is only a fit.json. The CI of B - A is [lo_B - hi_A, hi_B - lo_A],
  which adds the two half-widths; it is conservative (wider than a joint bootstrap), so fewer changes are
  called significant.

A difference is significant when its CI excludes 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from llmsde.checks.evaluate import difference
from llmsde.checks.metrics import read_metric
from llmsde.types import OBJECTIVES

if TYPE_CHECKING:
    from llmsde.checks.resample import MetricDraws
    from llmsde.dynamics import SdeFit

__all__ = ["COMPARED_METRICS", "Comparison", "Difference", "compare_draws", "compare_fits"]

COMPARED_METRICS: tuple[str, ...] = (
    "rho",
    *(f"equilibrium.{o}" for o in OBJECTIVES),
    *(f"drift.{t}_from_{s}" for t in OBJECTIVES for s in OBJECTIVES if t != s),
    "trend.security",
)
"""Convergence rate, equilibrium, drift coupling and the security trend, as issue #6 asks."""


@dataclass(frozen=True, slots=True)
class Difference:
    """B - A for one strategy and metric."""

    strategy: str
    metric: str
    a: float
    b: float
    diff: float
    lo: float
    hi: float

    @property
    def significant(self) -> bool:
        """The CI excludes 0."""
        return math.isfinite(self.lo) and math.isfinite(self.hi) and (self.lo > 0 or self.hi < 0)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (NaN as null)."""

        def num(x: float) -> float | None:
            return x if math.isfinite(x) else None

        return {
            "strategy": self.strategy,
            "metric": self.metric,
            "a": num(self.a),
            "b": num(self.b),
            "diff": num(self.diff),
            "ci": [num(self.lo), num(self.hi)],
            "significant": self.significant,
        }


def _phrase(metric: str, up: bool) -> str:
    """What a positive (``up``) or negative difference of ``metric`` means, as the middle of a sentence."""
    if metric == "rho":
        return "the scores converge " + ("faster" if up else "more slowly")
    if metric.startswith("equilibrium."):
        return f"the scores settle at a {'higher' if up else 'lower'} {metric.split('.', 1)[1]} level"
    if metric.startswith("trend."):
        name = metric.split(".", 1)[1]
        return f"refinement {'raises' if up else 'lowers'} {name} more (long-run change from the start)"
    target, source = metric.split(".", 1)[1].split("_from_")
    push = "up more (or down less)" if up else "down more (or up less)"
    return f"a higher {source} level pushes {target} {push}"


@dataclass(frozen=True, slots=True)
class Comparison:
    """All differences between two studies, and how their CIs were obtained."""

    a_name: str
    b_name: str
    mode: str
    """``bootstrap`` or ``stored_ci`` (see the module docstring)."""
    ci_level: float
    differences: tuple[Difference, ...]
    only_in_a: tuple[str, ...] = ()
    only_in_b: tuple[str, ...] = ()
    n_bootstrap: tuple[int, int] | None = None
    """Valid resamples in A and in B (bootstrap mode)."""

    def sentences(self) -> list[str]:
        """One plain-language line per significant difference."""
        pct = round(100 * self.ci_level)
        out = []
        for d in self.differences:
            if d.significant:
                out.append(
                    f"{d.strategy}: in {self.b_name} {_phrase(d.metric, d.diff > 0)} than in {self.a_name} "
                    f"({d.metric} {d.diff:+.3g}, {pct}% CI [{d.lo:+.3g}, {d.hi:+.3g}])."
                )
        return out

    @property
    def method_note(self) -> str:
        """How the CIs were made, in one sentence."""
        if self.mode == "bootstrap":
            na, nb = self.n_bootstrap or (0, 0)
            return (
                f"CIs from independent session bootstraps of each run ({na} and {nb} valid resamples); "
                "a change is significant when the CI of B - A excludes 0."
            )
        return (
            "CIs combine the stored fit CIs conservatively ([lo_B - hi_A, hi_B - lo_A], wider than a joint "
            "bootstrap); pass two run directories for bootstrap CIs of the differences."
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "a": self.a_name,
            "b": self.b_name,
            "mode": self.mode,
            "ci_level": self.ci_level,
            "n_bootstrap": list(self.n_bootstrap) if self.n_bootstrap else None,
            "method": self.method_note,
            "only_in_a": list(self.only_in_a),
            "only_in_b": list(self.only_in_b),
            "differences": [d.to_dict() for d in self.differences],
            "significant": self.sentences(),
        }

    def to_markdown(self) -> str:
        """A Markdown section: significant changes first, then the full table."""
        lines = [
            f"# Comparison: {self.b_name} vs {self.a_name}",
            "",
            f"Differences are B - A with B = `{self.b_name}`, A = `{self.a_name}`. {self.method_note}",
            "",
            "## Significant changes",
            "",
        ]
        sentences = self.sentences()
        lines += [f"- {s}" for s in sentences] or ["- none: every CI of a difference includes 0."]
        for side, labels in ((self.a_name, self.only_in_a), (self.b_name, self.only_in_b)):
            if labels:
                lines += ["", f"Strategies only in `{side}` (not compared): {', '.join(labels)}."]
        lines += [
            "",
            "## All differences",
            "",
            "| strategy | metric | A | B | B - A | CI | significant |",
            "|---|---|---:|---:|---:|---|:---:|",
        ]
        for d in self.differences:
            ci = f"[{d.lo:+.3g}, {d.hi:+.3g}]" if math.isfinite(d.lo) and math.isfinite(d.hi) else "n/a"
            lines.append(
                f"| {d.strategy} | {d.metric} | {d.a:.3g} | {d.b:.3g} | {d.diff:+.3g} | {ci} | "
                f"{'yes' if d.significant else ''} |"
            )
        return "\n".join(lines) + "\n"


def _split(a: list[str], b: list[str]) -> tuple[list[str], tuple[str, ...], tuple[str, ...]]:
    common = [s for s in a if s in b]
    return common, tuple(s for s in a if s not in b), tuple(s for s in b if s not in a)


def compare_fits(a: SdeFit, b: SdeFit, a_name: str = "A", b_name: str = "B") -> Comparison:
    """Compare two fits through their stored CIs (``stored_ci`` mode)."""
    common, only_a, only_b = _split(list(a.strategies), list(b.strategies))
    diffs = []
    for s in common:
        for m in COMPARED_METRICS:
            va, vb = read_metric(a.strategies[s], m), read_metric(b.strategies[s], m)
            d = difference(vb, va)
            diffs.append(Difference(s, m, va.value, vb.value, d.value, d.lo, d.hi))
    level = float(a.meta.get("ci_level", 0.95))
    return Comparison(a_name, b_name, "stored_ci", level, tuple(diffs), only_a, only_b)


def compare_draws(
    a: MetricDraws, b: MetricDraws, a_name: str = "A", b_name: str = "B", ci_level: float = 0.95
) -> Comparison:
    """Compare two runs from independent bootstrap draws (``bootstrap`` mode)."""
    common, only_a, only_b = _split(list(a.point), list(b.point))
    alpha = (1.0 - ci_level) / 2.0
    diffs = []
    for s in common:
        for m in COMPARED_METRICS:
            da, db = a.draws[s][m], b.draws[s][m]
            n = min(len(da), len(db))
            delta = db[:n] - da[:n]
            delta = delta[np.isfinite(delta)]
            if delta.size >= 2:
                lo, hi = (float(q) for q in np.quantile(delta, [alpha, 1.0 - alpha]))
            else:
                lo = hi = math.nan
            pa, pb = a.point[s][m], b.point[s][m]
            diffs.append(Difference(s, m, pa, pb, pb - pa, lo, hi))
    return Comparison(a_name, b_name, "bootstrap", ci_level, tuple(diffs), only_a, only_b, (a.n_valid, b.n_valid))
