"""Endpoint failures are never data: the session waits uncommitted, the others go on, resume fills exactly the gap.

Also issue 12 item 14: one function (``advance``) builds the chain state for the live loop and for resume, so a
chain interrupted at any k and resumed equals the uninterrupted one, with ``history = "full"`` and a scorer crash.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from runner_fakes import TASKS, FakeScorer, FakeStrategy, ScriptedProvider, extract

from llmsde.config import StudyConfig, build_config
from llmsde.runner import ChainState, RunOutcome, advance, execute_run, plan_sessions, rebuild_state
from llmsde.scoring.result import ScoreResult
from llmsde.store import RunManifest, RunStore
from llmsde.tasks.model import Task
from llmsde.types import ChatMessage, Completion


def _store(tmp_path: Path, config: StudyConfig, name: str) -> RunStore:
    store = RunStore.create(tmp_path / name, {}, RunManifest(name, {}, {}, "scripted", "m", None, config.seed))
    store.add_sessions(plan_sessions(config.strategies, list(TASKS), config.sessions, config.seed))
    return store


def _run(store: RunStore, config: StudyConfig, provider: Any, scorer: Any = None) -> RunOutcome:
    strategies = {name: FakeStrategy(name) for name in config.strategies}
    coro = execute_run(store, config, provider, scorer or FakeScorer(), extract, TASKS, strategies, score_slots=2)
    return asyncio.run(coro)


class CrashOnSomeCode(FakeScorer):
    """Crashes on code whose call-seed marker is divisible by 3: deterministic in the content, not the order."""

    def score(self, code: str | None, task: Task) -> ScoreResult:
        marker = re.search(r"# s(\d+)", code or "")
        if marker is not None and int(marker.group(1)) % 3 == 0:
            raise RuntimeError("sandbox exploded")
        return super().score(code, task)


class TooLongForSomeSeeds(ScriptedProvider):
    """A context-length error for every call seed divisible by 4: deterministic in the request, not the order."""

    async def complete(self, messages: Any, params: Any) -> Completion:
        done = await super().complete(messages, params)
        if params.seed % 4 == 0:
            return Completion(text="", error="context length exceeded: HTTP 400: too long")
        return done


def _chain(store: RunStore) -> list[tuple[Any, ...]]:
    out = []
    for s in store.sessions():
        for it in store.session_iterations(s.session_id):
            out.append((s.session_id, it["k"], it["prompt"], it["response"], it["code"], it["error"]))
    return out


def test_one_failed_call_stops_only_its_session_and_resume_redoes_exactly_it(tmp_path: Path) -> None:
    config = build_config({"sessions": 3, "iterations": 3, "strategies": ["EF", "SF"], "concurrency": 2, "seed": 3})
    store = _store(tmp_path, config, "run")
    outcome = _run(store, config, ScriptedProvider(down_calls=frozenset({4})))
    assert len(outcome.waiting) == 1 and outcome.endpoint_error == "scripted: connection refused"
    [waiting] = outcome.waiting
    statuses = {s.session_id: s.status for s in store.sessions()}
    assert statuses.pop(waiting) == "pending" and set(statuses.values()) == {"done"}
    committed = sorted(k for sid, k in store.completed_keys() if sid == waiting)
    assert committed == list(range(len(committed))) and len(committed) < 4
    resumed = _run(store, config, ScriptedProvider())
    assert resumed.waiting == () and resumed.new_iterations == 4 - len(committed)
    keys = Counter((r["session"], r["k"]) for r in store.iteration_rows())
    assert set(keys.values()) == {1}
    assert set(keys) == {(s.session_id, k) for s in store.sessions() for k in range(4)}
    assert all(r["error"] is None for r in store.iteration_rows())


def test_an_open_breaker_stops_every_session_of_the_provider_at_its_next_call(tmp_path: Path) -> None:
    config = build_config({"sessions": 4, "iterations": 3, "strategies": ["EF", "SF"], "concurrency": 3, "seed": 3})
    store = _store(tmp_path, config, "run")
    provider = ScriptedProvider(trip_after=6)
    outcome = _run(store, config, provider)
    pending = [s.session_id for s in store.sessions() if s.status != "done"]
    assert list(outcome.waiting) == pending and len(pending) >= 5
    assert len(provider.calls) <= 6 + len(pending)  # one refused call per waiting session, no retry storm
    assert all(r["error"] is None for r in store.iteration_rows())


@pytest.mark.parametrize("history", ["full", "last"])
def test_interrupting_at_every_call_and_resuming_gives_the_uninterrupted_chain(tmp_path: Path, history: str) -> None:
    config = build_config(
        {
            "sessions": 2,
            "iterations": 4,
            "strategies": ["EF"],
            "concurrency": 1,
            "seed": 11,
            "provider": {"history": history},
        }
    )
    reference = _store(tmp_path, config, "reference")
    full_provider = TooLongForSomeSeeds()
    _run(reference, config, full_provider, CrashOnSomeCode())
    expected = _chain(reference)
    errors = [row[5] or "" for row in expected]
    assert any(e.startswith("scorer error") for e in errors) and any(e.startswith("context length") for e in errors)
    for n in range(1, len(full_provider.calls) + 1):
        store = _store(tmp_path, config, f"cut{n}")
        first = _run(store, config, TooLongForSomeSeeds(down_calls=frozenset({n})), CrashOnSomeCode())
        assert len(first.waiting) == 1
        second = _run(store, config, TooLongForSomeSeeds(), CrashOnSomeCode())
        assert second.waiting == ()
        assert _chain(store) == expected, f"interrupted at call {n}"


def test_advance_is_the_rule_for_both_paths() -> None:
    prompt = [{"role": "user", "content": "u1"}]
    state = ChainState()
    advance(state, prompt=None, response=None, code="v0", error=None, history="full")
    advance(state, prompt=prompt, response="r1", code=None, error="scorer error: boom", history="full")
    assert state == ChainState(2, "v0", [ChatMessage("user", "u1"), ChatMessage("assistant", "r1")])
    advance(state, prompt=[{"role": "user", "content": "u2"}], response=None, code=None, error="ctx", history="full")
    assert state.next_k == 3 and state.history[-1] == ChatMessage("assistant", "r1")
    rows = [
        {"prompt": None, "response": None, "code": "v0", "error": None},
        {"prompt": prompt, "response": "r1", "code": None, "error": "scorer error: boom"},
        {"prompt": [{"role": "user", "content": "u2"}], "response": None, "code": None, "error": "ctx"},
    ]
    assert rebuild_state(rows, "full") == state


@pytest.mark.parametrize(
    ("finish_reason", "note"),
    [("length", "reply cut at max_tokens"), ("content_filter", "refusal"), ("refusal", "refusal")],
)
def test_finish_reason_is_stored_and_a_cut_or_refused_reply_says_so(
    tmp_path: Path, finish_reason: str, note: str
) -> None:
    class OddProvider(ScriptedProvider):
        async def complete(self, messages: Any, params: Any) -> Completion:
            done = await super().complete(messages, params)
            odd = len(self.calls) % 2 == 0
            text = done.text[:20] if odd else done.text
            return Completion(text=text, model=done.model, finish_reason=finish_reason if odd else "stop")

    config = build_config({"sessions": 1, "iterations": 4, "strategies": ["EF"], "concurrency": 1})
    store = _store(tmp_path, config, "run")
    _run(store, config, OddProvider())
    called = [r for r in store.iteration_rows() if r["k"] > 0 or r["task"] == "neg"]
    assert {r["finish_reason"] for r in called} == {"stop", finish_reason}
    for r in called:
        assert (r["finish_reason"] == finish_reason) == (r["reason"] or "").startswith(note)
        assert r["error"] is None
