"""The run store: one SQLite file per run, written by one connection in the runner's event-loop thread.

Why SQLite in WAL mode with ``synchronous=NORMAL``: each scored iteration is one short transaction, readers
(``llmsde fit`` on a live run) never block the writer, and a killed process loses at most the iterations that
were in flight, never a committed one. A single writer connection avoids cross-thread locking entirely; the
runner calls the store from the event loop only and does the slow work (provider calls, scoring) elsewhere.
"""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from llmsde._atomic import write_text_atomic
from llmsde.errors import RunDirError, StoreError
from llmsde.store.records import IterationRecord, RunManifest, SessionRow, utc_now
from llmsde.store.schema import DDL, MIGRATIONS, SCHEMA_VERSION, STORE_FILENAME

__all__ = ["CONFIG_FILENAME", "IterationRecord", "RunManifest", "RunStore", "SessionRow", "utc_now"]

CONFIG_FILENAME = "config.json"


_USAGE_SUMS = (
    "COUNT(k), COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0),"
    " COALESCE(SUM(retries), 0), COALESCE(SUM(latency_s), 0), SUM(cost_usd)"
)


def _usage_dict(row: Sequence[Any]) -> dict[str, Any]:
    calls, prompt, completion, retries, latency, cost = row
    return {
        "calls": calls,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "retries": retries,
        "mean_latency_s": round(latency / calls, 4) if calls else 0.0,
        "cost_usd": None if cost is None else round(cost, 6),
    }


def _nan_to_none(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def _none_to_nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


class RunStore:
    """Read and write one run's ``store.sqlite``; use :meth:`create` or :meth:`open`, not the constructor."""

    def __init__(self, run_dir: Path, conn: sqlite3.Connection) -> None:
        self.run_dir = run_dir
        self._conn = conn

    @classmethod
    def create(cls, run_dir: str | Path, config: Mapping[str, Any], manifest: RunManifest) -> RunStore:
        """Make a new run directory with the resolved config and an empty store; the directory must be new."""
        path = Path(run_dir)
        try:
            path.mkdir(parents=True, exist_ok=False)
        except FileExistsError:
            raise RunDirError(f"run directory already exists: {path}", "choose another --out") from None
        write_text_atomic(path / CONFIG_FILENAME, json.dumps(dict(config), indent=2) + "\n")
        conn = cls._connect(path / STORE_FILENAME)
        conn.executescript(DDL)
        store = cls(path, conn)
        with store._transaction():
            conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            conn.execute(
                "INSERT INTO run (id, run_id, config_json, versions_json, provider, model, base_url, seed,"
                " isolation_level, isolation_warnings, started_at, status) VALUES (1,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    manifest.run_id,
                    json.dumps(manifest.config, sort_keys=True),
                    json.dumps(manifest.versions, sort_keys=True),
                    manifest.provider,
                    manifest.model,
                    manifest.base_url,
                    manifest.seed,
                    manifest.isolation_level,
                    json.dumps(list(manifest.isolation_warnings)),
                    manifest.started_at,
                    manifest.status,
                ),
            )
        return store

    @classmethod
    def open(cls, run_dir: str | Path) -> RunStore:
        """Open an existing run; RunDirError when the directory is not a run or its schema is not ours."""
        path = Path(run_dir)
        db = path / STORE_FILENAME
        if not db.is_file():
            raise RunDirError(
                f"not a run directory: {path} (no {STORE_FILENAME})", "pass a directory made by `llmsde run`"
            )
        conn = cls._connect(db)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.DatabaseError as err:
            conn.close()
            msg = f"unreadable run store {db}: {err}"
            raise RunDirError(msg, "the file is not an llmsde store") from None
        version = int(row[0]) if row is not None and str(row[0]).isdigit() else None
        if version is None or version > SCHEMA_VERSION or version not in (*MIGRATIONS, SCHEMA_VERSION):
            conn.close()
            found = "none" if row is None else row[0]
            raise RunDirError(
                f"run store {db} has schema version {found}, this llmsde reads versions up to {SCHEMA_VERSION}",
                "open it with the llmsde version that wrote it",
            )
        store = cls(path, conn)
        store._migrate(version)
        return store

    def _migrate(self, version: int) -> None:
        """Bring an older store up to :data:`SCHEMA_VERSION`, one version per transaction."""
        while version < SCHEMA_VERSION:
            with self._transaction() as conn:
                for statement in MIGRATIONS[version]:
                    conn.execute(statement)
                version += 1
                conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version),))

    @staticmethod
    def _connect(db: Path) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(db, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=10000")
        except sqlite3.DatabaseError as err:
            msg = f"cannot open run store {db}: {err}"
            raise RunDirError(msg, "check the path and permissions") from None
        return conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One explicit transaction: committed as a whole or rolled back as a whole."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def close(self) -> None:
        """Close the connection (idempotent)."""
        self._conn.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add_sessions(self, sessions: Iterable[SessionRow]) -> None:
        """Record the planned sessions in one transaction."""
        rows = [
            (s.session_id, s.ordinal, s.task_id, s.strategy, s.replicate, s.seed, s.status, s.model) for s in sessions
        ]
        try:
            with self._transaction() as conn:
                conn.executemany(
                    "INSERT INTO sessions (session_id, ordinal, task_id, strategy, replicate, seed, status, model)"
                    " VALUES (?,?,?,?,?,?,?,?)",
                    rows,
                )
        except sqlite3.IntegrityError as err:
            raise StoreError(f"duplicate session in plan: {err}", "session ids must be unique") from None

    def sessions(self) -> list[SessionRow]:
        """All sessions in plan order."""
        cur = self._conn.execute(
            "SELECT session_id, ordinal, task_id, strategy, replicate, seed, status, model FROM sessions"
            " ORDER BY ordinal"
        )
        return [SessionRow(*row) for row in cur]

    def commit_iteration(self, record: IterationRecord, session_done: bool = False) -> None:
        """Write one scored iteration (and, for the last one, the session's ``done`` status) atomically."""
        code_hash = None if record.code is None else hashlib.sha256(record.code.encode()).hexdigest()
        values = (
            record.session_id,
            record.k,
            None if record.prompt is None else json.dumps(record.prompt),
            record.response,
            record.code,
            code_hash,
            _nan_to_none(record.security),
            _nan_to_none(record.efficiency),
            _nan_to_none(record.functionality),
            record.reason,
            json.dumps(record.raw, default=str),
            record.prompt_tokens,
            record.completion_tokens,
            record.latency_s,
            record.retries,
            record.cost_usd,
            record.model_id,
            record.system_fingerprint,
            record.error,
            record.scored_at,
            record.finish_reason,
            record.worker,
        )
        try:
            with self._transaction() as conn:
                conn.execute(f"INSERT INTO iterations VALUES ({','.join('?' * len(values))})", values)
                if session_done:
                    conn.execute("UPDATE sessions SET status = 'done' WHERE session_id = ?", (record.session_id,))
        except sqlite3.IntegrityError as err:
            raise StoreError(
                f"cannot store iteration ({record.session_id}, {record.k}): {err}",
                "each (session, k) is stored once, for a planned session",
            ) from None

    def completed_keys(self) -> set[tuple[str, int]]:
        """The (session, k) pairs already committed."""
        return {(s, k) for s, k in self._conn.execute("SELECT session_id, k FROM iterations")}

    def session_iterations(self, session_id: str) -> list[dict[str, Any]]:
        """One session's iterations by k with ``prompt`` decoded; the runner rebuilds a chain from them."""
        cur = self._conn.execute(
            "SELECT k, prompt_json, response, code, error FROM iterations WHERE session_id = ? ORDER BY k",
            (session_id,),
        )
        return [
            {"k": k, "prompt": None if p is None else json.loads(p), "response": r, "code": c, "error": e}
            for k, p, r, c, e in cur
        ]

    def iteration_rows(self) -> list[dict[str, Any]]:
        """Every iteration with its session's labels, in plan order and by k; missing scores are NaN."""
        cur = self._conn.execute(
            "SELECT i.session_id, s.model, s.strategy, s.task_id, s.replicate, i.k, i.security, i.efficiency,"
            " i.functionality, i.reason, i.error, i.code_sha256, i.prompt_tokens, i.completion_tokens,"
            " i.latency_s, i.retries, i.cost_usd, i.model_id, i.system_fingerprint, i.scored_at,"
            " i.finish_reason, i.worker"
            " FROM iterations i JOIN sessions s USING (session_id) ORDER BY s.ordinal, i.k"
        )
        names = [d[0] for d in cur.description]
        rows = []
        for values in cur:
            row = dict(zip(names, values, strict=True))
            row["session"] = row.pop("session_id")
            row["task"] = row.pop("task_id")
            for key in ("security", "efficiency", "functionality"):
                row[key] = _none_to_nan(row[key])
            rows.append(row)
        return rows

    def counts(self) -> dict[str, int]:
        """Sessions planned and done, iterations stored and failed (``error`` set)."""
        sessions, done = self._conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(status = 'done'), 0) FROM sessions"
        ).fetchone()
        iterations, failed = self._conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(error IS NOT NULL), 0) FROM iterations"
        ).fetchone()
        return {"sessions": sessions, "sessions_done": done, "iterations": iterations, "failed": failed}

    def usage_totals(self) -> dict[str, Any]:
        """Totals over the model calls (iterations k >= 1): calls, tokens, retries, latency and cost.

        ``cost_usd`` is None when no call had a price (the config gave none), so "free" and "unknown" differ.
        """
        row = self._conn.execute(f"SELECT {_USAGE_SUMS} FROM iterations WHERE k >= 1").fetchone()
        return _usage_dict(row)

    def usage_by_model(self) -> dict[str, dict[str, Any]]:
        """:meth:`usage_totals` per model label (``""`` in a single-model run), in plan order."""
        cur = self._conn.execute(
            f"SELECT s.model, {_USAGE_SUMS} FROM sessions s LEFT JOIN iterations i"
            " ON i.session_id = s.session_id AND i.k >= 1 GROUP BY s.model ORDER BY MIN(s.ordinal)"
        )
        return {row[0]: _usage_dict(row[1:]) for row in cur}

    def manifest(self) -> RunManifest:
        """The run manifest as stored."""
        row = self._conn.execute(
            "SELECT run_id, config_json, versions_json, provider, model, base_url, seed, isolation_level,"
            " isolation_warnings, started_at, ended_at, status, resumes FROM run WHERE id = 1"
        ).fetchone()
        if row is None:
            raise StoreError(f"run store in {self.run_dir} has no manifest", "the run was never initialised")
        return RunManifest(
            run_id=row[0],
            config=json.loads(row[1]),
            versions=json.loads(row[2]),
            provider=row[3],
            model=row[4],
            base_url=row[5],
            seed=row[6],
            isolation_level=row[7],
            isolation_warnings=tuple(json.loads(row[8])),
            started_at=row[9],
            ended_at=row[10],
            status=row[11],
            resumes=row[12],
        )

    def set_isolation(self, level: str, warnings: Iterable[str]) -> None:
        """Record the sandbox isolation the scorer achieved (known only once it is built)."""
        with self._transaction() as conn:
            conn.execute(
                "UPDATE run SET isolation_level = ?, isolation_warnings = ? WHERE id = 1",
                (level, json.dumps(list(warnings))),
            )

    def mark_resumed(self) -> None:
        """Count one more resume and set the status back to running."""
        with self._transaction() as conn:
            conn.execute("UPDATE run SET resumes = resumes + 1, status = 'running', ended_at = NULL WHERE id = 1")

    def finish(self, status: str) -> None:
        """Record how this invocation ended: ``complete``, ``incomplete`` (sessions wait for an endpoint that
        failed; resumable), ``stopped`` (interrupted; resumable) or ``failed``."""
        with self._transaction() as conn:
            conn.execute("UPDATE run SET status = ?, ended_at = ? WHERE id = 1", (status, utc_now()))
