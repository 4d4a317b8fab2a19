"""Runner: plan and seeds, full chains, failures recorded as data, breaker stop, resume, history trimming."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest
from runner_fakes import TASKS, FakeScorer, FakeStrategy, ScriptedProvider, extract

from llmsde.config import StudyConfig, build_config
from llmsde.errors import ConfigError
from llmsde.runner import (
    ChainState,
    Progress,
    RunOutcome,
    execute_run,
    plan_sessions,
    rebuild_state,
    session_seed,
    trim_history,
)
from llmsde.scoring.result import ScoreResult
from llmsde.store import RunManifest, RunStore
from llmsde.tasks.model import Task
from llmsde.types import ChatMessage


def _store(tmp_path: Path, config: StudyConfig, name: str = "run") -> RunStore:
    manifest = RunManifest(name, {}, {}, "scripted", "m", None, config.seed)
    store = RunStore.create(tmp_path / name, {}, manifest)
    store.add_sessions(plan_sessions(config.strategies, list(TASKS), config.sessions, config.seed))
    return store


def _run(store: RunStore, config: StudyConfig, provider: ScriptedProvider, **kw: Any) -> RunOutcome:
    strategies = {name: FakeStrategy(name) for name in config.strategies}
    coro = execute_run(store, config, provider, FakeScorer(), extract, TASKS, strategies, score_slots=2, **kw)
    return asyncio.run(coro)


def _cfg(**kw: Any) -> StudyConfig:
    base = {"sessions": 4, "iterations": 3, "strategies": ["EF", "SF"], "concurrency": 3, "seed": 7}
    return build_config({**base, **kw})


def test_plan_round_robin_and_stable_seeds() -> None:
    plan = plan_sessions(["EF", "SF"], ["a", "b", "c"], 4, study_seed=1)
    assert [s.session_id for s in plan[:4]] == ["EF/a/0", "SF/a/0", "EF/b/0", "SF/b/0"]
    assert [s.session_id for s in plan[-2:]] == ["EF/a/1", "SF/a/1"]
    assert len({s.seed for s in plan}) == len(plan)
    assert plan[0].seed == session_seed(1, "a", "EF", 0) == plan_sessions(["EF"], ["a"], 1, 1)[0].seed
    assert session_seed(2, "a", "EF", 0) != plan[0].seed
    with pytest.raises(ConfigError):
        plan_sessions(["EF", "EF"], ["a"], 1, 0)


def test_full_run_commits_every_iteration_once(tmp_path: Path) -> None:
    config = _cfg()
    store = _store(tmp_path, config)
    events: list[Progress] = []
    provider = ScriptedProvider()
    assert _run(store, config, provider, on_progress=events.append) == (8 * 4, (), None)
    keys = store.completed_keys()
    assert keys == {(s.session_id, k) for s in store.sessions() for k in range(4)}
    assert all(s.status == "done" for s in store.sessions())
    rows = store.iteration_rows()
    seeded = [r for r in rows if r["task"] == "add" and r["k"] == 0]
    assert all(r["prompt_tokens"] == 0 for r in seeded)
    unseeded = [r for r in rows if r["task"] == "neg" and r["k"] == 0]
    assert all(r["model_id"] == "fake-1" for r in unseeded)
    assert events[-1].iterations_done == events[-1].iterations_total == 32
    assert events[-1].sessions_done == 8
    seeds = sorted(p.seed for _, p in provider.calls if p.seed is not None)
    assert len(seeds) == len(set(seeds)) == len(provider.calls) == 32 - 4


def test_context_length_errors_and_scorer_crashes_are_data(tmp_path: Path) -> None:
    config = _cfg(sessions=2)

    class CrashingScorer(FakeScorer):
        def score(self, code: str | None, task: Task) -> ScoreResult:
            if code and "-a" in code:
                raise RuntimeError("sandbox exploded")
            return super().score(code, task)

    store = _store(tmp_path, config)
    provider = ScriptedProvider(fail_every=3, no_code_every=5)
    strategies = {n: FakeStrategy(n) for n in config.strategies}
    asyncio.run(execute_run(store, config, provider, CrashingScorer(), extract, TASKS, strategies))
    rows = store.iteration_rows()
    assert len(rows) == 4 * 4
    failed = [r for r in rows if r["error"]]
    too_long = [r for r in failed if r["error"].startswith("context length exceeded: HTTP 400")]
    assert too_long and all(r["reason"] == "context length exceeded; no code" for r in too_long)
    assert all(r["functionality"] == 0.0 for r in too_long)
    assert any(r["error"].startswith("scorer error: RuntimeError") for r in failed)
    assert all(r["security"] != r["security"] for r in failed)  # NaN
    no_code = [r for r in rows if r["reason"] == "no code"]
    assert no_code and all(r["functionality"] == 0.0 for r in no_code)
    assert store.counts()["failed"] == len(failed)


def test_breaker_stops_cleanly_and_resume_finishes(tmp_path: Path) -> None:
    config = _cfg()
    store = _store(tmp_path, config)
    outcome = _run(store, config, ScriptedProvider(trip_after=9))
    assert outcome.endpoint_error == "scripted: endpoint down"
    assert set(outcome.waiting) == {s.session_id for s in store.sessions() if s.status != "done"}
    partial = store.completed_keys()
    assert 0 < len(partial) < 32
    for s in store.sessions():  # committed iterations form a prefix 0..n-1 of each chain
        ks = sorted(k for sid, k in partial if sid == s.session_id)
        assert ks == list(range(len(ks)))
    assert _run(store, config, ScriptedProvider()) == (32 - len(partial), (), None)
    rows = store.iteration_rows()
    assert sorted((r["session"], r["k"]) for r in rows) == sorted(
        (s.session_id, k) for s in store.sessions() for k in range(4)
    )


def test_same_seed_same_chains_regardless_of_interruption(tmp_path: Path) -> None:
    config = _cfg()
    a = _store(tmp_path, config, "a")
    _run(a, config, ScriptedProvider())
    b = _store(tmp_path, config.model_copy(update={"concurrency": 1}), "b")
    assert _run(b, config, ScriptedProvider(trip_after=5)).waiting
    _run(b, config, ScriptedProvider())

    def codes(store: RunStore) -> list[tuple[str, int, str | None, float]]:
        out = []
        for s in store.sessions():
            for it in store.session_iterations(s.session_id):
                out.append((s.session_id, it["k"], it["code"], it["prompt"] and it["prompt"][-1]["content"]))
        return out

    assert codes(a) == codes(b)


def test_full_history_rebuilds_the_conversation(tmp_path: Path) -> None:
    config = _cfg(sessions=1, strategies=["EF"], provider={"history": "full"})
    store = _store(tmp_path, config)
    provider = ScriptedProvider()
    _run(store, config, provider)
    last_sent = provider.calls[-1][0]
    assert [m.role for m in last_sent] == ["system", "user", "assistant", "user", "assistant", "user"]
    its = store.session_iterations("EF/add/0")
    rebuilt = rebuild_state(its[:3], "full")
    assert rebuilt.next_k == 3 and rebuilt.code == its[2]["code"]
    assert [m.role for m in rebuilt.history] == ["system", "user", "assistant", "user", "assistant"]
    assert rebuilt.history[:-1] == [ChatMessage(m["role"], m["content"]) for m in its[2]["prompt"]]


def test_rebuild_keeps_last_good_code_after_failure() -> None:
    its: list[dict[str, Any]] = [
        {"k": 0, "prompt": None, "response": None, "code": "v0", "error": None},
        {
            "k": 1,
            "prompt": [{"role": "user", "content": "u1"}],
            "response": "r1",
            "code": "v1",
            "error": None,
        },
        {"k": 2, "prompt": [{"role": "user", "content": "u2"}], "response": "", "code": None, "error": "500"},
    ]
    state = rebuild_state(its, "full")
    assert state == ChainState(3, "v1", [ChatMessage("user", "u1"), ChatMessage("assistant", "r1")])
    assert rebuild_state(its, "last").history == []


def test_trim_history_keeps_head_and_last() -> None:
    msgs = [ChatMessage("system", "s"), ChatMessage("user", "first " * 10)]
    for i in range(10):
        msgs += [ChatMessage("assistant", f"a{i} " * 100), ChatMessage("user", f"u{i} " * 100)]
    trimmed = trim_history(msgs, budget_tokens=400)
    assert trimmed[:2] == msgs[:2] and trimmed[-1] == msgs[-1]
    assert 2 < len(trimmed) < len(msgs) and sum(len(m.content) for m in trimmed) // 4 <= 400
    assert [m.role for m in trimmed[2:]] == ["assistant", "user"] * ((len(trimmed) - 2) // 2)
    assert trimmed[2:] == msgs[len(msgs) - len(trimmed) + 2 :]
    assert trim_history(msgs, budget_tokens=10**6) == msgs


class _CallWatchingProvider(ScriptedProvider):
    """Lets a scorer thread wait until a given number of calls has been made."""

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Condition()

    async def complete(self, messages: Any, params: Any) -> Any:
        result = await super().complete(messages, params)
        with self.started:
            self.started.notify_all()
        return result


class _WaitForNextCallScorer(FakeScorer):
    """Scoring of iteration k returns only once the call for k+1 has been made (or after 5 s, recorded as False).

    With one session and one scoring slot, the i-th score call is iteration k = i. A runner that waits for the
    score before calling again never makes call k+1 during scoring, so ``overlapped`` would hold False.
    """

    def __init__(self, provider: _CallWatchingProvider, last_k: int) -> None:
        self.provider, self.last_k = provider, last_k
        self.overlapped: list[bool] = []

    def score(self, code: str | None, task: Task) -> ScoreResult:
        k = len(self.overlapped)
        if k < self.last_k:
            with self.provider.started:
                self.overlapped.append(
                    self.provider.started.wait_for(lambda: len(self.provider.calls) >= k + 1, timeout=5)
                )
        else:
            self.overlapped.append(True)
        return super().score(code, task)


def test_next_call_is_made_while_the_current_iteration_is_scored(tmp_path: Path) -> None:
    config = _cfg(sessions=1, strategies=["EF"], iterations=4, concurrency=1)
    manifest = RunManifest("run", {}, {}, "scripted", "m", None, config.seed)
    store = RunStore.create(tmp_path / "run", {}, manifest)
    store.add_sessions(plan_sessions(config.strategies, ["add"], 1, config.seed))
    provider = _CallWatchingProvider()
    scorer = _WaitForNextCallScorer(provider, last_k=4)
    coro = execute_run(store, config, provider, scorer, extract, TASKS, {"EF": FakeStrategy("EF")}, score_slots=1)
    assert asyncio.run(coro).new_iterations == 5
    assert scorer.overlapped == [True] * 5
    assert [k for _, k in sorted(store.completed_keys())] == [0, 1, 2, 3, 4]
    ks = [r["k"] for r in store.iteration_rows()]
    assert ks == sorted(ks)
