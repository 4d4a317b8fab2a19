"""RunStore: round trip, one transaction per iteration, schema checks, NaN handling, no secrets."""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

import pytest

from llmsde.errors import RunDirError, StoreError
from llmsde.store import STORE_FILENAME, IterationRecord, RunManifest, RunStore, SessionRow


def _manifest(run_id: str = "r1") -> RunManifest:
    return RunManifest(
        run_id=run_id,
        config={"seed": 3, "provider": {"api_key_env": "OPENAI_API_KEY"}},
        versions={"python": "3"},
        provider="surrogate",
        model="m",
        base_url=None,
        seed=3,
    )


def _sessions() -> list[SessionRow]:
    return [
        SessionRow("EF/t1/0", 0, "t1", "EF", 0, 11),
        SessionRow("SF/t1/0", 1, "t1", "SF", 0, 12),
    ]


@pytest.fixture()
def store(tmp_path: Path) -> RunStore:
    s = RunStore.create(tmp_path / "run", {"seed": 3}, _manifest())
    s.add_sessions(_sessions())
    return s


def test_round_trip(store: RunStore, tmp_path: Path) -> None:
    rec = IterationRecord(
        "EF/t1/0", 1, 7.5, math.nan, 10.0,
        prompt=[{"role": "user", "content": "hi"}], response="```python\nx=1\n```", code="x = 1\n",
        reason="timing failed", raw={"bandit": []}, prompt_tokens=3, completion_tokens=4, model_id="m-1",
    )  # fmt: skip
    store.commit_iteration(IterationRecord("EF/t1/0", 0, 1.0, 2.0, 3.0, code="x = 0\n"))
    store.commit_iteration(rec)
    store.close()

    reopened = RunStore.open(tmp_path / "run")
    rows = reopened.iteration_rows()
    assert [(r["session"], r["k"]) for r in rows] == [("EF/t1/0", 0), ("EF/t1/0", 1)]
    row = rows[1]
    assert row["strategy"] == "EF" and row["task"] == "t1"
    assert row["security"] == 7.5 and math.isnan(row["efficiency"]) and row["functionality"] == 10.0
    assert row["reason"] == "timing failed" and row["model_id"] == "m-1" and row["completion_tokens"] == 4
    assert reopened.completed_keys() == {("EF/t1/0", 0), ("EF/t1/0", 1)}
    its = reopened.session_iterations("EF/t1/0")
    assert its[1]["prompt"] == [{"role": "user", "content": "hi"}] and its[1]["code"] == "x = 1\n"
    assert reopened.manifest().run_id == "r1" and reopened.manifest().config["seed"] == 3
    assert [s.session_id for s in reopened.sessions()] == ["EF/t1/0", "SF/t1/0"]
    raw_db = sqlite3.connect(tmp_path / "run" / STORE_FILENAME)
    assert raw_db.execute("SELECT efficiency FROM iterations WHERE k = 1").fetchone() == (None,)
    assert raw_db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert json.loads((tmp_path / "run" / "config.json").read_text()) == {"seed": 3}


def test_one_transaction_per_iteration(store: RunStore) -> None:
    statements: list[str] = []
    store._conn.set_trace_callback(statements.append)
    store.commit_iteration(IterationRecord("EF/t1/0", 0, 1.0, 1.0, 1.0), session_done=False)
    store.commit_iteration(IterationRecord("EF/t1/0", 1, 1.0, 1.0, 1.0), session_done=True)
    kinds = [s.split()[0].upper() for s in statements]
    assert kinds == ["BEGIN", "INSERT", "COMMIT", "BEGIN", "INSERT", "UPDATE", "COMMIT"]
    assert {s.session_id: s.status for s in store.sessions()} == {"EF/t1/0": "done", "SF/t1/0": "pending"}


def test_failed_commit_rolls_back_and_is_store_error(store: RunStore) -> None:
    store.commit_iteration(IterationRecord("EF/t1/0", 0, 1.0, 1.0, 1.0))
    with pytest.raises(StoreError, match=r"\(EF/t1/0, 0\)"):
        store.commit_iteration(IterationRecord("EF/t1/0", 0, 2.0, 2.0, 2.0), session_done=True)
    with pytest.raises(StoreError):
        store.commit_iteration(IterationRecord("nope", 0, 2.0, 2.0, 2.0))
    assert store.counts() == {"sessions": 2, "sessions_done": 0, "iterations": 1, "failed": 0}
    assert store.iteration_rows()[0]["security"] == 1.0


def test_counts_finish_and_resume_marks(store: RunStore) -> None:
    store.commit_iteration(IterationRecord("EF/t1/0", 0, 1.0, 1.0, 1.0, error="provider: 500"))
    store.set_isolation("rlimits", ["no network namespace"])
    store.finish("stopped")
    m = store.manifest()
    assert (m.status, m.isolation_level, m.isolation_warnings) == (
        "stopped",
        "rlimits",
        ("no network namespace",),
    )
    assert m.ended_at is not None
    store.mark_resumed()
    m = store.manifest()
    assert (m.status, m.resumes, m.ended_at) == ("running", 1, None)
    assert store.counts()["failed"] == 1


def test_create_refuses_existing_dir(store: RunStore, tmp_path: Path) -> None:
    with pytest.raises(RunDirError, match="already exists"):
        RunStore.create(tmp_path / "run", {}, _manifest())


def test_open_errors_are_one_line_run_dir_errors(tmp_path: Path, store: RunStore) -> None:
    with pytest.raises(RunDirError, match="not a run directory"):
        RunStore.open(tmp_path)
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / STORE_FILENAME).write_bytes(b"this is not sqlite at all" * 50)
    with pytest.raises(RunDirError, match="(cannot open|unreadable) run store"):
        RunStore.open(tmp_path / "junk")
    db = sqlite3.connect(tmp_path / "run" / STORE_FILENAME, isolation_level=None)
    db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    db.close()
    with pytest.raises(RunDirError, match="schema version 99") as info:
        RunStore.open(tmp_path / "run")
    assert "\n" not in info.value.one_line()


def test_duplicate_sessions_are_store_error(store: RunStore) -> None:
    with pytest.raises(StoreError, match="duplicate session"):
        store.add_sessions([SessionRow("EF/t1/0", 5, "t1", "EF", 0, 1)])


def _downgrade_to_v1(run_dir: Path) -> None:
    """Rebuild the tables without the version-2 columns, as version 1 of llmsde wrote them."""
    conn = sqlite3.connect(run_dir / STORE_FILENAME)
    with conn:
        conn.execute("ALTER TABLE sessions DROP COLUMN model")
        conn.execute("ALTER TABLE iterations DROP COLUMN finish_reason")
        conn.execute("ALTER TABLE iterations DROP COLUMN worker")
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    conn.close()


def test_version_1_store_is_migrated_without_losing_iterations(store: RunStore) -> None:
    store.commit_iteration(IterationRecord("EF/t1/0", 0, 7.0, 5.0, 10.0, code="x = 1"))
    run_dir = store.run_dir
    store.close()
    _downgrade_to_v1(run_dir)
    with RunStore.open(run_dir) as reopened:
        rows = reopened.iteration_rows()
        assert [(r["session"], r["k"], r["security"]) for r in rows] == [("EF/t1/0", 0, 7.0)]
        assert rows[0]["model"] == "" and rows[0]["finish_reason"] is None
        reopened.commit_iteration(IterationRecord("EF/t1/0", 1, 6.0, 5.0, 10.0, finish_reason="length"))
        assert reopened.iteration_rows()[1]["finish_reason"] == "length"
    conn = sqlite3.connect(run_dir / STORE_FILENAME)
    assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("2",)
    conn.close()


def test_session_model_label_round_trips(tmp_path: Path) -> None:
    with RunStore.create(tmp_path / "m", {}, _manifest()) as s:
        s.add_sessions([SessionRow("a/EF/t1/0", 0, "t1", "EF", 0, 1, model="a")])
        assert s.sessions()[0].model == "a"
