"""The scoring seam without Ray: what the session loop commits from an executor, the local executor, the
isolation a run can claim over several workers, and the reaper that stops a run's own Ray instance."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

from runner_fakes import TASKS, FakeScorer, FakeStrategy, ScriptedProvider, extract

from llmsde.config import StudyConfig, build_config
from llmsde.runner import execute_run, plan_sessions
from llmsde.runner.executors import LocalExecutor, Scored, WorkerInfo, common_isolation
from llmsde.runner.executors._reaper import Reaper, children_of
from llmsde.scoring.result import ScoreResult
from llmsde.store import RunManifest, RunStore
from llmsde.tasks.model import Task


def _store(tmp_path: Path) -> tuple[RunStore, StudyConfig]:
    config = build_config({"sessions": 2, "iterations": 2, "strategies": ["EF"], "concurrency": 2, "seed": 1})
    store = RunStore.create(tmp_path / "run", {}, RunManifest("run", {}, {}, "scripted", "m", None, 1))
    store.add_sessions(plan_sessions(config.strategies, list(TASKS), config.sessions, config.seed))
    return store, config


def test_an_async_score_function_is_what_gets_committed(tmp_path: Path) -> None:
    store, config = _store(tmp_path)
    seen: list[str] = []

    async def score(code: str | None, task: Task) -> Scored:
        seen.append(task.id)
        if code is not None and "-a" in code:
            return Scored(ScoreResult(float("nan"), float("nan"), float("nan")), "w:2 weak", "scorer error: boom")
        return Scored(ScoreResult(7.0, 6.0, 10.0), "w:1 strong")

    run = execute_run(store, config, ScriptedProvider(), score, extract, TASKS, {"EF": FakeStrategy("EF")})
    assert asyncio.run(run).new_iterations == 2 * 3
    rows = store.iteration_rows()
    assert sorted(seen) == sorted(r["task"] for r in rows)
    assert {r["worker"] for r in rows if r["task"] == "add"} == {"w:1 strong"}
    neg = [r for r in rows if r["task"] == "neg"]
    assert {r["worker"] for r in neg} == {"w:2 weak"} and all(r["error"] == "scorer error: boom" for r in neg)


def test_local_executor_labels_results_and_turns_a_crash_into_data() -> None:
    class Crashing(FakeScorer):
        def score(self, code: str | None, task: Task) -> ScoreResult:
            if code == "CRASH":
                raise RuntimeError("sandbox exploded")
            return super().score(code, task)

    executor = LocalExecutor(Crashing(), slots=1)

    async def both() -> tuple[Scored, Scored]:
        return await executor.score("x = 1\n", TASKS["add"]), await executor.score("CRASH", TASKS["add"])

    good, bad = asyncio.run(both())
    assert good.worker == bad.worker == "local unknown" and good.error is None and good.result.functionality == 10
    assert bad.error == "scorer error: RuntimeError: sandbox exploded" and bad.result.reason == "scorer error"


def test_common_isolation_is_what_every_worker_has() -> None:
    full = (("netns", True), ("uid", True), ("seccomp", True))
    weak = (("netns", True), ("uid", False), ("seccomp", True))
    a = WorkerInfo("ray:a:1", "netns+uid+seccomp", full)
    b = WorkerInfo("ray:b:2", "netns+seccomp", weak, ("no uid drop",))
    assert common_isolation([a, a]) == ("netns+uid+seccomp", ())
    level, warnings = common_isolation([a, b])
    assert level == "netns+seccomp" and warnings[0] == "no uid drop"
    assert "ray:a:1: netns+uid+seccomp" in warnings[1] and "ray:b:2: netns+seccomp" in warnings[1]


def _sleeper_tree() -> subprocess.Popen[bytes]:
    """A parent with a child of its own, standing in for a Ray head process and an agent below it."""
    return subprocess.Popen(["/bin/sh", "-c", "sleep 60 & wait"])


def test_reaper_kills_the_tree_when_the_driver_vanishes() -> None:
    head = _sleeper_tree()
    time.sleep(0.3)
    (agent,) = children_of(head.pid)
    reaper = Reaper([head.pid])
    assert reaper._proc is not None and reaper._proc.stdin is not None
    time.sleep(1.5)
    reaper._proc.stdin.close()  # what the kernel does to the pipe when the driver is SIGKILLed
    assert head.wait(timeout=10) == -9
    assert reaper._proc.wait(timeout=10) == 0
    deadline = time.monotonic() + 10
    while _alive(agent) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(agent), "the head's child outlived the reaper"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def test_reaper_released_after_a_clean_stop_kills_nothing() -> None:
    head = _sleeper_tree()
    reaper = Reaper([head.pid])
    reaper.release()
    time.sleep(0.3)
    assert head.poll() is None
    head.kill()
    head.wait()
