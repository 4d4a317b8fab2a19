"""The offline surrogate: deterministic, honest about being a simulator, intent-driven, really editing."""

from __future__ import annotations

import ast
import asyncio
import random
import re
import statistics
from pathlib import Path

import pytest
import task_exec

from llmsde.config import ProviderConfig, StrategyConfig
from llmsde.providers import make_provider
from llmsde.providers.surrogate import SurrogateProvider, read_intent, surrogate_reply
from llmsde.scoring.extract import extract_code
from llmsde.scoring.security import BanditRunner
from llmsde.tasks import Task, builtin_tasks, get_strategy
from llmsde.types import ChatMessage, GenerationParams

TASKS = {t.id: t for t in builtin_tasks()}
BANDIT = BanditRunner()
_WEIGHT = {"LOW": 1.0, "MEDIUM": 3.0, "HIGH": 6.0}


def _code(reply: str) -> str:
    m = re.search(r"```python\n(.*)```", reply, re.S)
    assert m, reply
    return m.group(1)


def _weight(code: str) -> float:
    try:
        return sum(_WEIGHT[f["severity"]] for f in BANDIT.scan(code))
    except ValueError:
        return float("nan")


def _chain(task: Task, strategy: str, seed: int, steps: int, custom: dict[str, StrategyConfig] | None = None) -> str:
    strat = get_strategy(strategy, custom)
    code = task.seed_code or ""
    for k in range(steps):
        code = _code(surrogate_reply(strat.messages(task, code, k, seed), seed=seed * 100 + k))
    return code


def test_same_request_same_reply_and_seeds_differ() -> None:
    msgs = get_strategy("AI").messages(TASKS["find_users"], TASKS["find_users"].seed_code or "", 0, 0)
    assert surrogate_reply(msgs, 3) == surrogate_reply(list(msgs), 3)
    assert len({surrogate_reply(msgs, s) for s in range(12)}) >= 3


def test_reply_says_it_is_a_simulator_and_code_is_extractable() -> None:
    task = TASKS["dedupe_emails"]
    reply = surrogate_reply(get_strategy("EF").messages(task, task.seed_code or "", 0, 0), 1)
    assert "simulator" in reply and "not a language model" in reply
    assert extract_code(reply, task.entry_point) == _code(reply)


def test_no_code_in_request_gets_an_honest_answer() -> None:
    reply = surrogate_reply([ChatMessage("user", "Write a function that adds two numbers.")], 0)
    assert "simulator" in reply and "```" not in reply


def test_intent_reading() -> None:
    assert (
        max(
            read_intent(get_strategy("SF").prompt(TASKS["issue_tokens"], "x", 0, 0)).items(),
            key=lambda kv: kv[1],
        )[0]
        == "security"
    )
    assert read_intent("Please fix the vulnerabilities in this:\n```python\nx = 1\n```")["security"] == 1.0
    assert read_intent("Make it run faster.") == {"speed": 1.0}
    assert read_intent("Support more input formats and options.") == {"feature": 1.0}
    ai = get_strategy("AI").prompt(TASKS["issue_tokens"], "def f():\n    return 'fast secure'\n", 0, 0)
    assert read_intent(ai) == {"vague": 1.0}, "the spec paragraph and the code must not count as instructions"


def test_security_rules_remove_real_bandit_findings() -> None:
    steps = 0
    for task in TASKS.values():
        if "insecure-seed" not in task.tags:
            continue
        code = task.seed_code or ""
        before = _weight(code)
        after = _weight(_chain(task, "SF", seed=1, steps=4))
        assert after <= before, task.id
        steps += after < before
    assert steps >= 5


def test_custom_vulnerability_prompt_behaves_like_sf() -> None:
    custom = {"VULN": StrategyConfig(prompt="Find and remove the vulnerabilities.\n{code}")}
    seeds = [t for t in TASKS.values() if "insecure-seed" in t.tags]
    start = statistics.mean(_weight(t.seed_code or "") for t in seeds)
    end = statistics.mean(_weight(_chain(t, "VULN", 2, 6, custom)) for t in seeds)
    assert end < 0.5 * start


def test_strategies_drift_differently() -> None:
    tasks = [TASKS[i] for i in ("find_users", "dedupe_emails", "replay_history", "word_frequencies")]
    stats: dict[str, tuple[float, float]] = {}
    for name in ("SF", "FF", "EF", "AI"):
        finals = [_chain(t, name, s, 8) for t in tasks for s in range(3)]
        weights = [w for w in map(_weight, finals) if w == w]  # NaN: an unparseable final, which is allowed
        assert len(weights) >= len(finals) - 2
        stats[name] = (statistics.mean(weights), statistics.mean(len(c) for c in finals))
    seed_w = statistics.mean(_weight(t.seed_code or "") for t in tasks)
    seed_len = statistics.mean(len(t.seed_code or "") for t in tasks)
    assert stats["SF"][0] < seed_w
    assert stats["FF"][0] > 2 * seed_w and stats["FF"][0] > stats["AI"][0] > stats["SF"][0]
    assert stats["FF"][1] > 2 * seed_len and stats["FF"][1] > stats["EF"][1]


def test_speed_rules_make_trap_code_faster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for tid in ("dedupe_emails", "word_frequencies", "common_tags"):
        task = TASKS[tid]
        strat = get_strategy("EF")
        code = task.seed_code or ""
        for k in range(12):
            reply = surrogate_reply(strat.messages(task, code, k, 0), seed=k, temperature=0.0)
            code = _code(reply)
            if "speed+" in reply.splitlines()[1]:
                break
        assert code != task.seed_code, tid
        assert task_exec.workload_cpu(task, code) < 0.5 * task_exec.workload_cpu(task, task.seed_code or "")


def test_regressions_break_tests_and_fixes_restore_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from llmsde.providers.surrogate import rules_misc
    from llmsde.providers.surrogate._edit import Ctx

    monkeypatch.chdir(tmp_path)
    for tid in ("dedupe_emails", "common_tags", "word_frequencies"):
        task = TASKS[tid]
        code = task.reference or ""
        for bug, fix in zip(rules_misc.REGRESS, rules_misc.FIX, strict=True):
            broken = bug(code, Ctx(ast.parse(code), None), random.Random(0))
            if broken is None:
                continue
            if task_exec.functionality(task, broken) < 10:
                fixed = fix(broken, Ctx(ast.parse(broken), None), random.Random(0))
                assert fixed == code, (tid, bug.__name__)
                return
    pytest.fail("no regression rule broke a test")


def test_features_keep_tests_passing_but_add_risk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from llmsde.providers.surrogate._edit import Ctx
    from llmsde.providers.surrogate.rules_feature import add_feature

    monkeypatch.chdir(tmp_path)
    task = TASKS["dedupe_emails"]
    code = task.reference or ""
    for i in range(6):
        tree = ast.parse(code)
        entry = next(f for f in tree.body if isinstance(f, ast.FunctionDef) and f.name == task.entry_point)
        new = add_feature(code, Ctx(tree, entry), random.Random(i))
        assert new is not None
        code = new
    assert task_exec.functionality(task, code) == 10.0
    assert _weight(code) > 0


def test_unparseable_code_is_usually_repaired() -> None:
    task = TASKS["merge_intervals"]
    broken = (task.reference or "").replace(
        "for start, end in sorted(intervals):", "for start, end in sorted(intervals)"
    )
    msgs = get_strategy("AI").messages(task, broken, 0, 0)
    replies = [surrogate_reply(msgs, s) for s in range(10)]
    assert sum("repair" in r for r in replies) >= 6


def test_temperature_zero_applies_one_edit() -> None:
    task = TASKS["find_users"]
    reply = surrogate_reply(get_strategy("SF").messages(task, task.seed_code or "", 0, 0), 5, temperature=0.0)
    assert reply.splitlines()[1].count(":") == 1 + 1  # "Edits: kind:rule."
    assert "sec+" in reply


def test_provider_reports_usage_and_honours_request_seed() -> None:
    provider = make_provider(ProviderConfig.model_validate({"name": "surrogate"}), seed=4)
    assert isinstance(provider, SurrogateProvider)
    task = TASKS["grid_distance"]
    msgs = get_strategy("EF").messages(task, task.seed_code or "", 0, 0)
    done = asyncio.run(provider.complete(msgs, GenerationParams(seed=9, temperature=0.7)))
    assert done.error is None and done.model == "surrogate" and done.latency_s == 0.0 and done.finish_reason == "stop"
    assert done.system_fingerprint is not None and done.system_fingerprint.startswith("surrogate-")
    assert done.usage.prompt_tokens > 50 and done.usage.completion_tokens > 20
    assert done.text == surrogate_reply(msgs, 9, 0.7)
    default = asyncio.run(provider.complete(msgs, GenerationParams(seed=None)))
    assert default.text == surrogate_reply(msgs, 4, 0.7)
    asyncio.run(provider.aclose())
