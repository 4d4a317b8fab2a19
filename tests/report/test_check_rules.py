"""The rules schema of ``llmsde check``: valid files parse, every kind of mistake is one ConfigError naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmsde.checks import OPERATORS, load_rules, metric_names, parse_rules
from llmsde.errors import ConfigError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "rules.toml"


def _rule(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {"metric": "rho", "op": ">", "value": 0.2}
    base.update(kw)
    return {"rule": [base]}


def test_shipped_example_parses() -> None:
    rules = load_rules(EXAMPLES, known_strategies=["EF", "SF", "FF", "AI"])
    assert [r.metric for r in rules] == [
        "equilibrium.security",
        "rho",
        "drift.security_from_efficiency",
        "trend.security",
    ]
    assert rules[0].strategies == ("SF",) and rules[1].strategies is None


def test_symmetric_metric_alias_is_canonicalised() -> None:
    (rule,) = parse_rules(_rule(metric="interference.functionality_efficiency"))
    assert rule.metric == "interference.efficiency_functionality"


def test_every_metric_name_parses() -> None:
    for name in metric_names():
        assert parse_rules(_rule(metric=name))[0].metric == name


@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        (_rule(metric="rhoo"), "unknown metric 'rhoo'"),
        (_rule(op="=>"), "unknown op '=>'"),
        (_rule(value="high"), "value must be a finite number"),
        (_rule(value=True), "value must be a finite number"),
        (_rule(strategy="XX"), "unknown strategy 'XX'"),
        (_rule(strategy=[]), "strategy must be a label"),
        (_rule(relative_to="yesterday"), "unknown relative_to 'yesterday'"),
        (_rule(colour="red"), "unknown key 'colour'"),
        ({"rule": [{"metric": "rho", "value": 1}]}, "missing key 'op'"),
        ({"rules": []}, "unknown top-level key 'rules'"),
        ({"version": 2, "rule": [{"metric": "rho", "op": ">", "value": 1}]}, "unsupported version 2"),
        ({}, "has no [[rule]] tables"),
    ],
)
def test_invalid_rules_name_the_problem(doc: dict[str, object], needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_rules(doc, "r.toml", known_strategies=["SF", "FF"])
    line = info.value.one_line()
    assert needle in line and "\n" not in line
    assert line.startswith("r.toml")


def test_unknown_op_lists_valid_choices() -> None:
    with pytest.raises(ConfigError) as info:
        parse_rules(_rule(op="~"))
    assert all(op in info.value.hint for op in OPERATORS)


def test_unknown_strategy_lists_fit_strategies() -> None:
    with pytest.raises(ConfigError) as info:
        parse_rules(_rule(strategy="XX"), known_strategies=["SF", "FF"])
    assert "SF, FF" in info.value.hint


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="rules file not found"):
        load_rules(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[[rule]\nmetric = ", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_rules(bad)
