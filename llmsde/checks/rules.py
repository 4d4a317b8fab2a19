"""The rules file of ``llmsde check``: a small TOML schema, validated into frozen :class:`Rule` objects.

::

    [[rule]]
    name = "SF keeps security"          # optional label shown in the output
    metric = "equilibrium.security"     # see llmsde.checks.metrics (docs/check.md lists every name)
    strategy = "SF"                     # a label, a list of labels, or "*" (default): every strategy of FIT
    op = ">="                           # >, >=, <, <=, or a significance operator on the CI
    value = 6.0
    relative_to = "baseline"            # optional: check FIT minus BASELINE instead of FIT

Why validate everything up front: a CI gate with a misspelt metric must not "pass" silently. Every problem
is a
:class:`~llmsde.errors.ConfigError` (exit 2) naming the rule, the bad word and the valid choices.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmsde.checks.metrics import METRIC_FAMILIES, canonical
from llmsde.errors import ConfigError

__all__ = ["OPERATORS", "SIGNIFICANCE_OPERATORS", "Rule", "load_rules", "parse_rules"]

OPERATORS: dict[str, str] = {
    ">": "value > threshold",
    ">=": "value >= threshold",
    "<": "value < threshold",
    "<=": "value <= threshold",
    "significantly_above": "CI lower bound > threshold",
    "significantly_below": "CI upper bound < threshold",
    "not_significantly_below": "CI upper bound >= threshold",
    "not_significantly_above": "CI lower bound <= threshold",
}
"""Operator -> what must hold for the rule to pass."""

SIGNIFICANCE_OPERATORS = frozenset(k for k in OPERATORS if "significantly" in k)
_RULE_KEYS = ("name", "metric", "strategy", "op", "value", "relative_to")
_TOP_KEYS = ("version", "rule")


@dataclass(frozen=True, slots=True)
class Rule:
    """One gate, applied to each selected strategy."""

    index: int
    """1-based position in the file, used in messages."""
    metric: str
    """Canonical metric name."""
    op: str
    value: float
    strategies: tuple[str, ...] | None
    """None: every strategy of the fit."""
    relative_to: str | None = None
    name: str = ""

    @property
    def title(self) -> str:
        """The rule as a reader would say it, e.g. ``equilibrium.security >= 6``."""
        lhs = f"{self.metric} - baseline" if self.relative_to else self.metric
        text = f"{lhs} {self.op} {self.value:g}"
        return f"{self.name}: {text}" if self.name else text


def _fail(where: str, what: str, hint: str) -> ConfigError:
    return ConfigError(f"{where}: {what}", hint)


def _parse_one(raw: Any, index: int, source: str, known: Sequence[str] | None) -> Rule:
    where = f"{source}: rule {index}"
    if not isinstance(raw, dict):
        raise _fail(where, "is not a table", "write each rule as a [[rule]] table")
    unknown = sorted(set(raw) - set(_RULE_KEYS))
    if unknown:
        raise _fail(where, f"unknown key {unknown[0]!r}", f"valid keys: {', '.join(_RULE_KEYS)}")
    for key in ("metric", "op", "value"):
        if key not in raw:
            raise _fail(where, f"missing key {key!r}", "every rule needs metric, op and value")
    metric = canonical(str(raw["metric"]))
    if metric is None:
        raise _fail(
            where,
            f"unknown metric {raw['metric']!r}",
            f"valid metrics: {', '.join(METRIC_FAMILIES)} (<obj> = security|efficiency|functionality)",
        )
    op = raw["op"]
    if op not in OPERATORS:
        raise _fail(where, f"unknown op {op!r}", f"valid ops: {', '.join(OPERATORS)}")
    value = raw["value"]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(where, f"value must be a finite number; got {value!r}", "e.g. value = 0.2")
    strategies = _strategies(raw.get("strategy", "*"), where, known)
    relative_to = raw.get("relative_to")
    if relative_to is not None and relative_to != "baseline":
        raise _fail(where, f"unknown relative_to {relative_to!r}", 'the only valid choice is "baseline"')
    name = raw.get("name", "")
    if not isinstance(name, str):
        raise _fail(where, f"name must be a string; got {name!r}", 'e.g. name = "SF keeps security"')
    return Rule(index, metric, op, float(value), strategies, relative_to, name)


def _strategies(raw: Any, where: str, known: Sequence[str] | None) -> tuple[str, ...] | None:
    if raw == "*":
        return None
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not items or not all(isinstance(s, str) for s in items):
        raise _fail(where, f'strategy must be a label, a list of labels or "*"; got {raw!r}', 'e.g. strategy = "SF"')
    if known is not None:
        for label in items:
            if label not in known:
                raise _fail(where, f"unknown strategy {label!r}", f'strategies in the fit: {", ".join(known)}, or "*"')
    return tuple(items)


def parse_rules(
    data: dict[str, Any], source: str = "rules", known_strategies: Sequence[str] | None = None
) -> list[Rule]:
    """Validate a parsed rules document; ``known_strategies`` (the fit's labels) makes unknown labels an
    error."""
    unknown = sorted(set(data) - set(_TOP_KEYS))
    if unknown:
        raise _fail(
            source,
            f"unknown top-level key {unknown[0]!r}",
            "write rules as [[rule]] tables (and optional version = 1)",
        )
    if data.get("version", 1) != 1:
        raise _fail(source, f"unsupported version {data['version']!r}", "this llmsde reads rules version 1")
    raw_rules = data.get("rule")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise _fail(source, "has no [[rule]] tables", "see examples/rules.toml")
    return [_parse_one(raw, i, source, known_strategies) for i, raw in enumerate(raw_rules, start=1)]


def load_rules(path: str | Path, known_strategies: Sequence[str] | None = None) -> list[Rule]:
    """Read and validate a rules TOML file."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"rules file not found: {p}", "pass an existing TOML file, e.g. examples/rules.toml")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{p}: not valid TOML ({err})", "check the syntax against examples/rules.toml") from None
    return parse_rules(data, str(p), known_strategies)
