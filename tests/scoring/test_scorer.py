"""The Scorer end to end: real sandbox, real bandit and radon, real timing."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from llmsde.config import SandboxConfig, ScoringConfig
from llmsde.errors import SandboxError
from llmsde.sandbox import LAYERS
from llmsde.scoring import Scorer, ScoreResult, score_code
from llmsde.tasks import AssertCase, IOCase, Task, Workload

REFERENCE = "def dedupe(xs):\n    return list(dict.fromkeys(xs))\n"
SLOW = (
    "def dedupe(xs):\n"
    "    out = []\n"
    "    for x in xs:\n"
    "        if x not in out:\n"
    "            out.append(x)\n"
    "    return out\n"
)
TASK = Task(
    id="dedupe",
    spec="Remove duplicates, keeping first occurrences in order.",
    entry_point="dedupe",
    tests=(
        IOCase(([1, 2, 1, 3],), [1, 2, 3], name="basic"),
        IOCase(([],), [], name="empty"),
        AssertCase("assert candidate(['a', 'a']) == ['a']", name="strings"),
    ),
    seed_code=SLOW,
    reference=REFERENCE,
    workload=Workload(calls=((list(range(400)) * 2,),)),
)
SANDBOX = SandboxConfig.model_validate({"wall_s": 3.0, "slots": 2})


@pytest.fixture(scope="module")
def scorer() -> Iterator[Scorer]:
    with Scorer(ScoringConfig.model_validate({"timing_repeats": 3}), SANDBOX) as s:
        yield s


def test_correct_code_passes_every_test_and_reports_raw_figures(scorer: Scorer) -> None:
    r = scorer.score(REFERENCE, TASK)
    assert r.functionality == 10.0 and r.security == 10.0 and r.reason is None
    assert 0 < r.efficiency < 10
    assert [t["passed"] for t in r.raw["tests"]] == [True, True, True]
    assert r.raw["timing"]["source"] == "workload" and r.raw["timing"]["candidate_s"] > 0
    assert set(r.raw["radon"]) >= {"cc_mean", "mi"} and r.raw["bandit"] == []


def test_slower_code_scores_lower_efficiency(scorer: Scorer) -> None:
    fast, slow = scorer.score(REFERENCE, TASK), scorer.score(SLOW, TASK)
    assert slow.functionality == 10.0
    assert slow.raw["timing"]["ratio"] > 2
    assert slow.efficiency < fast.efficiency


def test_partially_wrong_code_gets_partial_functionality(scorer: Scorer) -> None:
    wrong = scorer.score("def dedupe(xs):\n    return xs\n", TASK)
    assert wrong.functionality == pytest.approx(10 / 3)
    assert [t["passed"] for t in wrong.raw["tests"]] == [False, True, False]


def test_insecure_code_loses_security(scorer: Scorer) -> None:
    code = "import pickle\ndef dedupe(xs):\n    return eval(repr(list(dict.fromkeys(xs))))\n"
    r = scorer.score(code, TASK)
    assert r.security < 10 and {f["test_id"] for f in r.raw["bandit"]} >= {"B307", "B403"}
    assert r.functionality == 10.0


@pytest.mark.parametrize(("code", "reason"), [(None, "no code in reply"), ("def dedupe(xs:\n", "syntax error")])
def test_code_that_does_not_parse_scores_zero_and_nan(scorer: Scorer, code: str | None, reason: str) -> None:
    r = scorer.score(code, TASK)
    assert r.functionality == 0.0 and math.isnan(r.security) and math.isnan(r.efficiency)
    assert r.reason is not None and r.reason.startswith(reason)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("raise RuntimeError('boom')\n", "import failed: RuntimeError: boom"),
        ("import os\nos._exit(3)\n", "import failed"),
        ("x = 1\n", "import failed: NameError"),
    ],
)
def test_code_that_parses_but_cannot_be_used_keeps_its_security_score(scorer: Scorer, code: str, reason: str) -> None:
    r = scorer.score(code, TASK)
    assert r.functionality == 0.0 and math.isnan(r.efficiency)
    assert 0.0 <= r.security <= 10.0 and isinstance(r.raw["bandit"], list)
    assert r.reason is not None and r.reason.startswith(reason)


def test_security_of_code_without_the_entry_point_counts_its_findings(scorer: Scorer) -> None:
    code = "import pickle\ndef helper(xs):\n    return eval(repr(xs))\n"
    r = scorer.score(code, TASK)
    assert r.reason is not None and "entry point 'dedupe' is not defined" in r.reason
    assert r.security < 10 and {f["test_id"] for f in r.raw["bandit"]} >= {"B307", "B403"}
    assert r.functionality == 0.0 and math.isnan(r.efficiency)


def test_oversized_source_is_refused_before_the_sandbox(scorer: Scorer) -> None:
    r = scorer.score("x = 1\n" * 60_000, TASK)
    assert r.functionality == 0.0 and "max_source_kb" in (r.reason or "")


def test_a_failing_workload_makes_efficiency_nan_with_reason(scorer: Scorer) -> None:
    code = "def dedupe(xs):\n    if len(xs) > 100:\n        raise ValueError('big')\n" + REFERENCE.split("\n", 1)[1]
    r = scorer.score(code, TASK)
    assert r.functionality == 10.0 and r.security == 10.0
    assert math.isnan(r.efficiency) and "workload failed: ValueError: big" in (r.reason or "")


def test_hanging_workload_is_a_timeout_not_a_hang(scorer: Scorer) -> None:
    code = "def dedupe(xs):\n    while len(xs) > 100:\n        pass\n    return list(dict.fromkeys(xs))\n"
    r = scorer.score(code, TASK)
    assert math.isnan(r.efficiency) and "timed out" in (r.reason or "")


def test_without_workload_the_io_calls_are_timed(scorer: Scorer) -> None:
    task = Task("nowl", "spec", "dedupe", TASK.tests, reference=REFERENCE)
    r = scorer.score(SLOW, task)
    assert r.raw["timing"]["source"] == "io-calls" and r.raw["timing"]["candidate_s"] > 0


def test_concurrent_scoring_from_threads_is_consistent(scorer: Scorer) -> None:
    codes = [REFERENCE, SLOW, "def dedupe(xs):\n    return xs\n"] * 4
    with ThreadPoolExecutor(max_workers=4) as ex:
        results = list(ex.map(lambda c: scorer.score(c, TASK), codes))
    assert [r.functionality for r in results] == [10.0, 10.0, pytest.approx(10 / 3)] * 4


def test_result_round_trips_through_json_form(scorer: Scorer) -> None:
    r = scorer.score("raise ValueError\n", TASK)
    assert ScoreResult.from_dict(r.to_dict()).reason == r.reason


def test_isolation_report_is_exposed(scorer: Scorer) -> None:
    missing = [name for name in LAYERS if name not in scorer.isolation.level.split("+")]
    assert len(scorer.isolation.warnings) == len(missing) and "seccomp" not in missing
    assert missing == [] if os.geteuid() == 0 else "uid" in missing


def test_required_isolation_is_enforced() -> None:
    config = SandboxConfig.model_validate({"require_isolation": True, "slots": 1})
    if os.geteuid() == 0:
        with Scorer(sandbox=config) as strict:
            assert strict.isolation.warnings == ()
    else:
        with pytest.raises(SandboxError, match="missing .*uid"):
            Scorer(sandbox=config)


def test_score_code_convenience_function() -> None:
    r = score_code(REFERENCE, TASK, sandbox=SandboxConfig.model_validate({"slots": 1}))
    assert r.functionality == 10.0


TESTLESS = Task(
    id="testless",
    spec="Run a shell command (a security-seed task: no tests, no workload).",
    entry_point="run",
    tests=(),
    seed_code="import subprocess\n\ndef run(cmd):\n    return subprocess.check_output(cmd, shell=True)\n",
)


def test_task_without_tests_scores_efficiency_from_radon_and_leaves_functionality_missing(scorer: Scorer) -> None:
    res = scorer.score(TESTLESS.seed_code, TESTLESS)
    assert math.isnan(res.functionality)
    assert 0 < res.efficiency <= 10 and res.raw["timing"]["source"] == "none"
    assert res.efficiency == pytest.approx(res.raw["timing"]["radon_score"])
    assert res.security < 10 and "radon only" in (res.reason or "")


@pytest.mark.parametrize("code", [None, "def run(:\n", "raise SystemExit(3)\n"])
def test_broken_code_is_functionality_zero_only_when_the_task_has_tests(scorer: Scorer, code: str | None) -> None:
    without = scorer.score(code, TESTLESS)
    with_tests = scorer.score(code, TASK)
    assert math.isnan(without.functionality) and with_tests.functionality == 0.0
    assert math.isnan(without.efficiency) and without.reason
    assert math.isnan(without.security) == (code is None or code.startswith("def run(:"))
