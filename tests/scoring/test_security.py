"""Security score: the formula, bandit findings through the API, and hostile sources."""

from __future__ import annotations

import math

import pytest

from llmsde.config import ScoringConfig
from llmsde.scoring.security import BanditRunner, security_score

INSECURE = "import subprocess\ndef run(cmd):\n    subprocess.call(cmd, shell=True)\n    return eval(cmd)\n"


@pytest.fixture(scope="module")
def bandit() -> BanditRunner:
    return BanditRunner()


def test_no_finding_scores_ten() -> None:
    assert security_score([], ScoringConfig.model_validate({})) == 10.0


def test_score_follows_the_documented_formula() -> None:
    cfg = ScoringConfig.model_validate({})
    findings = [{"severity": "HIGH", "confidence": "HIGH"}, {"severity": "LOW", "confidence": "MEDIUM"}]
    w = 6.0 * 1.0 + 1.0 * 0.8
    assert security_score(findings, cfg) == pytest.approx(10 * math.exp(-w / cfg.security_scale))


def test_more_or_worse_findings_never_raise_the_score() -> None:
    cfg = ScoringConfig.model_validate({})
    low = {"severity": "LOW", "confidence": "LOW"}
    high = {"severity": "HIGH", "confidence": "HIGH"}
    scores = [security_score(f, cfg) for f in ([], [low], [low, low], [low, high], [high, high, high])]
    assert scores == sorted(scores, reverse=True) and scores[-1] > 0


def test_bandit_api_reports_findings_with_cwe(bandit: BanditRunner) -> None:
    found = bandit.scan(INSECURE)
    ids = {f["test_id"] for f in found}
    assert {"B602", "B307", "B404"} <= ids
    shell = next(f for f in found if f["test_id"] == "B602")
    assert shell["severity"] == "HIGH" and shell["line"] == 3 and shell["cwe"] == "CWE-78"
    assert set(shell) == {"test_id", "cwe", "severity", "confidence", "line", "text"}


def test_nosec_comments_do_not_hide_findings(bandit: BanditRunner) -> None:
    hidden = INSECURE.replace("shell=True)", "shell=True)  # nosec").replace("eval(cmd)", "eval(cmd)  # nosec B307")
    assert {f["test_id"] for f in bandit.scan(hidden)} == {f["test_id"] for f in bandit.scan(INSECURE)}


def test_safe_code_has_no_findings(bandit: BanditRunner) -> None:
    assert bandit.scan("def add(a, b):\n    return a + b\n") == []


@pytest.mark.parametrize("source", ["def f(:\n", "x = (" * 300_000, "-" * 200_000 + "1"])
def test_unparseable_or_hostile_source_is_a_value_error(bandit: BanditRunner, source: str) -> None:
    with pytest.raises(ValueError):
        bandit.scan(source)
