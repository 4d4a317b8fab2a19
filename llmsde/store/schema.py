"""The SQL schema of a run store and its version.

The version is bumped whenever a table changes in a way an older reader cannot handle; :class:`RunStore.open`
refuses a store whose version it does not know instead of guessing, because a silently misread store would
corrupt every fit made from it.
"""

from __future__ import annotations

__all__ = ["DDL", "MIGRATIONS", "SCHEMA_VERSION", "STORE_FILENAME"]

SCHEMA_VERSION = 2
"""Version written to ``meta.schema_version``; older versions are migrated on open (see :data:`MIGRATIONS`),
newer ones are refused."""

STORE_FILENAME = "store.sqlite"
"""File name of the store inside a run directory."""

DDL = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- One row (id = 1): what was run, with which software, and how it ended.
CREATE TABLE IF NOT EXISTS run (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    run_id             TEXT NOT NULL,
    config_json        TEXT NOT NULL,
    versions_json      TEXT NOT NULL,
    provider           TEXT NOT NULL,
    model              TEXT NOT NULL,
    base_url           TEXT,
    seed               INTEGER NOT NULL,
    isolation_level    TEXT,
    isolation_warnings TEXT NOT NULL DEFAULT '[]',
    started_at         TEXT NOT NULL,
    ended_at           TEXT,
    status             TEXT NOT NULL,
    resumes            INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    ordinal    INTEGER NOT NULL UNIQUE,
    task_id    TEXT NOT NULL,
    strategy   TEXT NOT NULL,
    replicate  INTEGER NOT NULL,
    seed       INTEGER NOT NULL,
    status     TEXT NOT NULL DEFAULT 'pending',
    model      TEXT NOT NULL DEFAULT ''
);

-- One row per scored iteration, written in one transaction; NULL scores are missing (NaN) scores.
CREATE TABLE IF NOT EXISTS iterations (
    session_id         TEXT NOT NULL REFERENCES sessions(session_id),
    k                  INTEGER NOT NULL CHECK (k >= 0),
    prompt_json        TEXT,
    response           TEXT,
    code               TEXT,
    code_sha256        TEXT,
    security           REAL,
    efficiency         REAL,
    functionality      REAL,
    reason             TEXT,
    raw_json           TEXT NOT NULL DEFAULT '{}',
    prompt_tokens      INTEGER NOT NULL DEFAULT 0,
    completion_tokens  INTEGER NOT NULL DEFAULT 0,
    latency_s          REAL NOT NULL DEFAULT 0,
    retries            INTEGER NOT NULL DEFAULT 0,
    cost_usd           REAL,
    model_id           TEXT,
    system_fingerprint TEXT,
    error              TEXT,
    scored_at          TEXT NOT NULL,
    finish_reason      TEXT,
    worker             TEXT,
    PRIMARY KEY (session_id, k)
);
"""
"""Idempotent DDL; executed once when a store is created."""

MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        "ALTER TABLE sessions ADD COLUMN model TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE iterations ADD COLUMN finish_reason TEXT",
        "ALTER TABLE iterations ADD COLUMN worker TEXT",
    ),
}
"""Statements that bring a store of version v to v + 1. Columns are only ever added (with defaults), so a
migrated store reads exactly like a new one and nothing already collected changes."""
