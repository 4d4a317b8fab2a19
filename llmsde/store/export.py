"""Export a run's store as flat tables: ``iterations`` (one row per scored iteration) and ``sessions``.

The iterations table carries the panel columns ``session, strategy, k, security, efficiency, functionality``
that ``llmsde fit`` reads from a panel file, plus the task, the reason and error, token usage, latency and a
few raw metrics flattened to scalars (bandit finding counts, tests passed/total, every scalar of
``raw["radon"]`` and ``raw["timing"]`` as ``radon_<key>`` / ``timing_<key>``). Raw metrics are flattened
generically so the export does not break when the scorer adds a figure; the full raw JSON stays in the store.

Missing scores are ``null`` in JSONL and Parquet and an empty cell in CSV. Files are written through
:func:`llmsde._atomic.atomic_path` (a unique temporary file, fsynced, renamed), so a reader never sees half a
file and two exports into one directory do not trip over each other.
"""

from __future__ import annotations

import csv
import json
import math
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmsde._atomic import atomic_path
from llmsde.errors import ConfigError
from llmsde.store.schema import STORE_FILENAME
from llmsde.store.sqlite import RunStore

__all__ = ["EXPORT_FORMATS", "ExportResult", "export_run", "flatten_raw", "iteration_table", "session_table"]

EXPORT_FORMATS = ("jsonl", "csv", "parquet")

_LEADING = ("session", "strategy", "k", "security", "efficiency", "functionality", "task", "replicate")
"""Columns placed first, in this order; the rest follow in the store's order, then raw metrics sorted."""


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What was written: one path per table, and the row counts."""

    iterations_path: str
    sessions_path: str
    iterations: int
    sessions: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (the ``--json`` output)."""
        return {
            "iterations_path": self.iterations_path,
            "sessions_path": self.sessions_path,
            "iterations": self.iterations,
            "sessions": self.sessions,
        }


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


def flatten_raw(raw: dict[str, Any]) -> dict[str, Any]:
    """Scalar columns from a ScoreResult ``raw`` dict; unknown or nested parts are left out."""
    out: dict[str, Any] = {}
    findings = raw.get("bandit")
    if isinstance(findings, list):
        out["bandit_findings"] = len(findings)
        out["bandit_high"] = sum(
            1 for f in findings if isinstance(f, dict) and str(f.get("severity", "")).upper() == "HIGH"
        )
    tests = raw.get("tests")
    if isinstance(tests, list):
        out["tests_total"] = len(tests)
        out["tests_passed"] = sum(1 for t in tests if isinstance(t, dict) and t.get("passed"))
    for section in ("radon", "timing"):
        block = raw.get(section)
        if isinstance(block, dict):
            for key, value in block.items():
                if _scalar(value):
                    out[f"{section}_{key}"] = value
    return out


def _raw_by_key(run_dir: Path) -> dict[tuple[str, int], dict[str, Any]]:
    uri = f"file:{run_dir / STORE_FILENAME}?mode=ro"
    conn = sqlite3.connect(uri, uri=True)
    try:
        rows = conn.execute("SELECT session_id, k, raw_json FROM iterations").fetchall()
    finally:
        conn.close()
    out: dict[tuple[str, int], dict[str, Any]] = {}
    for session, k, text in rows:
        try:
            data = json.loads(text or "{}")
        except json.JSONDecodeError:
            data = {}
        out[(session, k)] = data if isinstance(data, dict) else {}
    return out


def _clean(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value


def iteration_table(run_dir: str | Path) -> tuple[list[str], list[dict[str, Any]]]:
    """(columns, rows) of the iterations table of a run; NaN scores become None."""
    path = Path(run_dir)
    with RunStore.open(path) as store:
        rows = store.iteration_rows()
    raw = _raw_by_key(path)
    table: list[dict[str, Any]] = []
    extra: set[str] = set()
    for row in rows:
        flat = flatten_raw(raw.get((row["session"], row["k"]), {}))
        extra |= flat.keys()
        table.append({**{k: _clean(v) for k, v in row.items()}, **flat})
    base = list(_LEADING) + [c for c in (rows[0] if rows else {}) if c not in _LEADING]
    columns = base + sorted(extra - set(base))
    return columns, [{c: r.get(c) for c in columns} for r in table]


def session_table(run_dir: str | Path) -> tuple[list[str], list[dict[str, Any]]]:
    """(columns, rows) of the sessions table, with the number of iterations stored per session."""
    with RunStore.open(run_dir) as store:
        sessions = store.sessions()
        per_session: dict[str, int] = {}
        for row in store.iteration_rows():
            per_session[row["session"]] = per_session.get(row["session"], 0) + 1
    columns = ["session", "ordinal", "model", "task", "strategy", "replicate", "seed", "status", "iterations"]
    rows = [
        {
            "session": s.session_id,
            "ordinal": s.ordinal,
            "model": s.model,
            "task": s.task_id,
            "strategy": s.strategy,
            "replicate": s.replicate,
            "seed": s.seed,
            "status": s.status,
            "iterations": per_session.get(s.session_id, 0),
        }
        for s in sessions
    ]
    return columns, rows


def _write_jsonl(path: Path, columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps({c: row[c] for c in columns}, allow_nan=False, default=str) + "\n")


def _write_csv(path: Path, columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(columns))
        writer.writeheader()
        for row in rows:
            writer.writerow({c: "" if row[c] is None else row[c] for c in columns})


def _write_parquet(path: Path, columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = {c: [r[c] for r in rows] for c in columns}
    arrays = {}
    for c, values in data.items():
        try:
            arrays[c] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arrays[c] = pa.array([None if v is None else str(v) for v in values], type=pa.string())
    pq.write_table(pa.table(arrays), path)


_WRITERS = {"jsonl": _write_jsonl, "csv": _write_csv, "parquet": _write_parquet}


def _write(path: Path, fmt: str, columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    with atomic_path(path) as tmp:
        _WRITERS[fmt](tmp, columns, rows)


def export_run(run_dir: str | Path, fmt: str = "csv", out: str | Path | None = None) -> ExportResult:
    """Write ``iterations.<fmt>`` and ``sessions.<fmt>`` of a run into ``out`` (default: ``<run>/export``)."""
    if fmt not in EXPORT_FORMATS:
        raise ConfigError(f"unknown export format '{fmt}'", f"choose one of {', '.join(EXPORT_FORMATS)}")
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ConfigError(
                "Parquet export needs pyarrow, which is not installed", "pip install 'llmsde[parquet]'"
            ) from None
    it_cols, it_rows = iteration_table(run_dir)
    se_cols, se_rows = session_table(run_dir)
    target = Path(out) if out is not None else Path(run_dir) / "export"
    target.mkdir(parents=True, exist_ok=True)
    it_path = target / f"iterations.{fmt}"
    se_path = target / f"sessions.{fmt}"
    _write(it_path, fmt, it_cols, it_rows)
    _write(se_path, fmt, se_cols, se_rows)
    return ExportResult(str(it_path), str(se_path), len(it_rows), len(se_rows))
