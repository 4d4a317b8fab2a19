"""Named scalar metrics of one strategy's fit, each with its CI: the vocabulary of ``check`` rules and
``compare``.

A metric name is a dotted path that reads like the figure it names, e.g. ``rho``, ``equilibrium.security`` or
``drift.security_from_efficiency`` (A[security, efficiency]: how the efficiency *level* moves security's
*change*).
Keeping the vocabulary in one table means the rules file, the error message listing valid names,
docs/check.md and
``compare`` can never disagree about what a name means.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from llmsde.types import OBJECTIVES

if TYPE_CHECKING:
    from llmsde.dynamics import Estimate, StrategyFit

__all__ = [
    "METRICS",
    "METRIC_FAMILIES",
    "MetricValue",
    "canonical",
    "describe",
    "metric_names",
    "read_metric",
]


class MetricValue(NamedTuple):
    """A point estimate and its CI bounds; NaN bounds mean the fit had no bootstrap (or the figure has no
    CI)."""

    value: float
    lo: float
    hi: float

    @property
    def has_ci(self) -> bool:
        """True when both bounds are finite."""
        return math.isfinite(self.lo) and math.isfinite(self.hi)


_NAN = MetricValue(math.nan, math.nan, math.nan)
Reader = Callable[["StrategyFit"], MetricValue]


def _at(est: Estimate | None, *index: int) -> MetricValue:
    if est is None:
        return _NAN
    return MetricValue(float(est.value[index]), float(est.lo[index]), float(est.hi[index]))


def _trend(fit: StrategyFit, j: int) -> MetricValue:
    """x*_j - mean start_j: where the strategy takes objective j in the long run, relative to where it
    starts."""
    eq = _at(fit.equilibrium, j)
    x0 = float(fit.x0_mean[j])
    return MetricValue(eq.value - x0, eq.lo - x0, eq.hi - x0)


def _max_modulus(fit: StrategyFit) -> MetricValue:
    return MetricValue(float(fit.discrete_modulus.value.max()), math.nan, math.nan)


def _field(get: Callable[[StrategyFit], Estimate | None], *index: int) -> Reader:
    """A reader of element ``index`` of the estimate ``get(fit)``."""

    def read(fit: StrategyFit) -> MetricValue:
        return _at(get(fit), *index)

    return read


def _r2(horizon: str) -> Reader:
    def read(fit: StrategyFit) -> MetricValue:
        return _at(fit.r2[horizon].overall) if horizon in fit.r2 else _NAN

    return read


def _trend_reader(j: int) -> Reader:
    def read(fit: StrategyFit) -> MetricValue:
        return _trend(fit, j)

    return read


def _build() -> dict[str, tuple[str, Reader]]:
    table: dict[str, tuple[str, Reader]] = {
        "rho": ("convergence rate of the slowest mode, -max Re(lambda)", _field(lambda f: f.rho)),
        "fastest_rate": ("-min Re(lambda)", _field(lambda f: f.fastest_rate)),
        "half_life": (
            "ln 2 / -ln max|mu| in iterations, mu the eigenvalues of Phi (inf when the mean path does not contract)",
            _field(lambda f: f.half_life),
        ),
        "max_discrete_modulus": (
            "max |mu|, mu the eigenvalues of Phi (I + A dt for em, exp(A dt) for exact; < 1: stable; no CI)",
            _max_modulus,
        ),
    }
    for horizon in ("in_sample", "held_out", "multi_step"):
        table[f"r2.{horizon}"] = (f"overall R^2 ({horizon.replace('_', ' ')})", _r2(horizon))
    for j, name in enumerate(OBJECTIVES):
        table[f"equilibrium.{name}"] = (f"x*_{name} = (-A^-1 b)_{name}", _field(lambda f: f.equilibrium, j))
        table[f"trend.{name}"] = (
            f"x*_{name} minus the mean start: long-run change of {name}",
            _trend_reader(j),
        )
        table[f"sigma.{name}"] = (f"noise scale of {name}, sqrt(Sigma_ii)", _field(lambda f: f.sigma, j))
    for i, target in enumerate(OBJECTIVES):
        for j, source in enumerate(OBJECTIVES):
            table[f"drift.{target}_from_{source}"] = (
                f"A[{target}, {source}]: effect of the {source} level on the change of {target}",
                _field(lambda f: f.A, i, j),
            )
            if i == j:
                continue
            table[f"coupling_normalised.{target}_from_{source}"] = (
                f"A[{target}, {source}] / |A[{target}, {target}]|",
                _field(lambda f: f.interference.coupling_normalised, i, j),
            )
            if i < j:
                table[f"interference.{target}_{source}"] = (
                    f"Corr(d {target}, d {source}), the published interference",
                    _field(lambda f: f.interference.corr_dx, i, j),
                )
                table[f"noise_corr.{target}_{source}"] = (
                    f"correlation of the {target} and {source} noise",
                    _field(lambda f: f.interference.noise_corr, i, j),
                )
    return table


METRICS: dict[str, tuple[str, Reader]] = _build()
"""Metric name -> (description, reader)."""

_ALIASES: dict[str, str] = {}
for _i, _a in enumerate(OBJECTIVES):
    for _j, _b in enumerate(OBJECTIVES):
        if _i > _j:
            _ALIASES[f"interference.{_a}_{_b}"] = f"interference.{_b}_{_a}"
            _ALIASES[f"noise_corr.{_a}_{_b}"] = f"noise_corr.{_b}_{_a}"
"""Symmetric metrics answer to either order of their two objectives."""


METRIC_FAMILIES: tuple[str, ...] = (
    "rho",
    "fastest_rate",
    "half_life",
    "max_discrete_modulus",
    "r2.in_sample|held_out|multi_step",
    "equilibrium.<obj>",
    "trend.<obj>",
    "sigma.<obj>",
    "drift.<obj>_from_<obj>",
    "coupling_normalised.<obj>_from_<obj>",
    "interference.<obj>_<obj>",
    "noise_corr.<obj>_<obj>",
)
"""The metric names in compact form for error messages; <obj> is security, efficiency or functionality."""


def metric_names() -> list[str]:
    """Every valid metric name (canonical spellings), in a stable order."""
    return list(METRICS)


def canonical(name: str) -> str | None:
    """The canonical spelling of ``name``, or None when it is not a metric."""
    if name in METRICS:
        return name
    return _ALIASES.get(name)


def describe(name: str) -> str:
    """One-line meaning of a metric."""
    return METRICS[canonical(name) or name][0]


def read_metric(fit: StrategyFit, name: str) -> MetricValue:
    """The value and CI of metric ``name`` in one strategy's fit (KeyError for an unknown name)."""
    key = canonical(name)
    if key is None:
        raise KeyError(name)
    return METRICS[key][1](fit)
