"""Runner with several models: each session calls its own model's provider with that model's settings, the
paired sessions share call seeds, and one model's endpoint failing leaves the other model's sessions running."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from runner_fakes import TASKS, FakeScorer, FakeStrategy, ScriptedProvider, extract

from llmsde.config import StudyConfig, build_config
from llmsde.runner import execute_run, plan_sessions
from llmsde.runner.scheduler import RunOutcome
from llmsde.store import RunManifest, RunStore

MODELS = [{"label": "cold", "temperature": 0.2}, {"label": "hot", "temperature": 1.2, "max_tokens": 77}]


def _cfg(**kw: Any) -> StudyConfig:
    base = {"sessions": 4, "iterations": 3, "strategies": ["EF", "SF"], "concurrency": 3, "seed": 7}
    return build_config({**base, "models": MODELS, **kw})


def _store(tmp_path: Path, config: StudyConfig) -> RunStore:
    store = RunStore.create(tmp_path / "run", {}, RunManifest("run", {}, {}, "scripted", "m", None, config.seed))
    labels = [m.label for m in config.models]
    store.add_sessions(plan_sessions(config.strategies, list(TASKS), config.sessions, config.seed, labels))
    return store


def _run(store: RunStore, config: StudyConfig, providers: dict[str, ScriptedProvider]) -> RunOutcome:
    strategies = {name: FakeStrategy(name) for name in config.strategies}
    coro = execute_run(store, config, providers, FakeScorer(), extract, TASKS, strategies, score_slots=2)
    return asyncio.run(coro)


def test_each_model_gets_its_provider_and_settings_with_paired_seeds(tmp_path: Path) -> None:
    config = _cfg()
    store = _store(tmp_path, config)
    cold, hot = ScriptedProvider(), ScriptedProvider()
    assert _run(store, config, {"cold": cold, "hot": hot}).new_iterations == 2 * 8 * 4
    assert {(p.temperature, p.max_tokens) for _, p in cold.calls} == {(0.2, 2048)}
    assert {(p.temperature, p.max_tokens) for _, p in hot.calls} == {(1.2, 77)}
    assert sorted(p.seed or 0 for _, p in cold.calls) == sorted(p.seed or 0 for _, p in hot.calls)
    rows = store.iteration_rows()
    assert {r["model"] for r in rows} == {"cold", "hot"}
    assert all(str(r["session"]).startswith(f"{r['model']}/") for r in rows)


def test_one_model_failing_does_not_stop_the_other(tmp_path: Path) -> None:
    config = _cfg()
    store = _store(tmp_path, config)
    outcome = _run(store, config, {"cold": ScriptedProvider(), "hot": ScriptedProvider(trip_after=3)})
    assert outcome.endpoint_error is not None and "endpoint down" in outcome.endpoint_error
    hot = {s.session_id for s in store.sessions() if s.model == "hot"}
    assert outcome.waiting and set(outcome.waiting) <= hot
    done = {s.model: 0 for s in store.sessions()}
    for s in store.sessions():
        done[s.model] += s.status == "done"
    assert done == {"cold": 8, "hot": done["hot"]} and done["hot"] < 8
    for s in store.sessions():  # committed iterations are a prefix of each chain
        ks = [it["k"] for it in store.session_iterations(s.session_id)]
        assert ks == list(range(len(ks)))
    healthy = ScriptedProvider()
    _run(store, config, {"cold": ScriptedProvider(), "hot": healthy})
    assert all(s.status == "done" for s in store.sessions())
    assert healthy.calls and len(store.iteration_rows()) == 2 * 8 * 4
