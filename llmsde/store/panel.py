"""Panels: score trajectories as one array (sessions x steps x 3) plus a strategy label per session.

This is the hand-over format between stores/files and :mod:`llmsde.dynamics`. A panel file is CSV, JSONL or
Parquet with one row per (session, k) and the columns ``session, strategy, k, security, efficiency,
functionality`` (extra columns are ignored, strategy labels are any strings). An empty cell, ``nan`` or JSON
``null`` is a missing score (NaN); sessions of different lengths are padded with NaN at the end.

When the rows carry a ``model`` column naming more than one model, each session's label becomes
``MODEL/STRATEGY``: the model is then a factor of the fit like the strategy, while :mod:`llmsde.dynamics` keeps
seeing plain labels.

A state is **broken** (its code does not parse or import) by, in this order: an optional ``broken``
column (true/false, 1/0, yes/no), the scorer's ``reason`` (rows of a run store: see :data:`BROKEN_REASONS`), or
else functionality 0 with efficiency missing.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from llmsde.errors import FitInputError

__all__ = [
    "BROKEN_REASONS",
    "PANEL_COLUMNS",
    "Panel",
    "is_broken",
    "model_labels",
    "panel_from_records",
    "read_panel_file",
]

PANEL_COLUMNS: tuple[str, ...] = ("session", "strategy", "k", "security", "efficiency", "functionality")
"""Required columns of a panel file, in the order they are written."""
_SCORES = PANEL_COLUMNS[3:]
_HINT = "a panel file needs columns " + ", ".join(PANEL_COLUMNS) + " (one row per session and iteration)"


@dataclass(frozen=True, eq=False)
class Panel:
    """Trajectories ready for :class:`llmsde.dynamics.LinearSdeEstimator`."""

    x: NDArray[np.float64]
    """ndarray of shape (n_sessions, n_steps, 3): (security, efficiency, functionality), NaN where missing."""
    labels: tuple[str, ...]
    """Strategy label per session."""
    session_ids: tuple[str, ...]
    """Session identifier per session, in the order of ``x``."""
    models: tuple[str, ...] = ()
    """Model label per session (``""`` when the rows name none); labels are ``MODEL/STRATEGY`` when more than
    one model appears."""
    broken: NDArray[np.bool_] | None = None
    """ndarray of shape (n_sessions, n_steps): True where the state's code is broken (module docstring)."""

    @property
    def strategies(self) -> tuple[str, ...]:
        """Distinct labels in order of first appearance."""
        return tuple(dict.fromkeys(self.labels))


def _number(value: Any, column: str, where: str) -> float:
    if value is None or (isinstance(value, str) and value.strip().lower() in {"", "nan", "null", "none"}):
        return math.nan
    if isinstance(value, bool):
        raise FitInputError(
            f"{where}: column {column!r} holds a boolean ({value!r})", "write a number between 0 and 10"
        )
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise FitInputError(
            f"{where}: column {column!r} is not a number: {value!r}", "write a number or leave it empty"
        ) from None
    if math.isinf(out):
        raise FitInputError(f"{where}: column {column!r} is infinite", "leave a missing score empty instead")
    return out


def _step(value: Any, where: str) -> int:
    try:
        k = float(value)
    except (TypeError, ValueError):
        raise FitInputError(f"{where}: column 'k' is not an iteration number: {value!r}", "use 0, 1, 2, ...") from None
    if not k.is_integer() or k < 0:
        raise FitInputError(f"{where}: column 'k' must be an integer >= 0; got {value!r}", "use 0, 1, 2, ...")
    return int(k)


def panel_from_records(records: Iterable[Mapping[str, Any]], source: str = "panel") -> Panel:
    """Build a panel from row mappings (one per session and iteration), in any row order."""
    rows: dict[str, dict[int, tuple[float, float, float]]] = {}
    flags: dict[tuple[str, int], bool] = {}
    labels: dict[str, str] = {}
    models: dict[str, str] = {}
    for i, rec in enumerate(records, start=1):
        where = f"{source} row {i}"
        missing = [c for c in PANEL_COLUMNS if c not in rec]
        if missing:
            raise FitInputError(f"{where} lacks column(s) {', '.join(missing)}", _HINT)
        sid = str(rec["session"])
        strategy = str(rec["strategy"])
        if not sid or not strategy:
            raise FitInputError(f"{where}: 'session' and 'strategy' must not be empty", _HINT)
        if labels.setdefault(sid, strategy) != strategy:
            raise FitInputError(
                f"{where}: session {sid!r} has two strategies ({labels[sid]!r} and {strategy!r})",
                "give every session one strategy label",
            )
        models.setdefault(sid, str(rec.get("model") or ""))
        k = _step(rec["k"], where)
        vals = tuple(_number(rec[c], c, where) for c in _SCORES)
        steps = rows.setdefault(sid, {})
        if k in steps:
            raise FitInputError(f"{where}: session {sid!r} has iteration k={k} twice", "remove the duplicate row")
        steps[k] = (vals[0], vals[1], vals[2])
        flags[(sid, k)] = is_broken(rec, vals, where)
    if not rows:
        raise FitInputError(f"{source} has no rows", _HINT)
    n_steps = max(max(s) for s in rows.values()) + 1
    x = np.full((len(rows), n_steps, 3), np.nan)
    broken = np.zeros((len(rows), n_steps), dtype=bool)
    for i, (sid, steps) in enumerate(rows.items()):
        for k, vals in steps.items():
            x[i, k] = vals
            broken[i, k] = flags[(sid, k)]
    model_of = tuple(models[s] for s in rows)
    names = tuple(labels[s] for s in rows)
    if len(set(model_of)) > 1:
        names = model_labels(model_of, names)
    return Panel(x=x, labels=names, session_ids=tuple(rows), models=model_of, broken=broken)


def model_labels(models: Iterable[str], strategies: Iterable[str]) -> tuple[str, ...]:
    """``MODEL/STRATEGY`` per session: the fit groups of a multi-model run."""
    return tuple(f"{m}/{s}" if m else s for m, s in zip(models, strategies, strict=True))


BROKEN_REASONS: tuple[str, ...] = (
    "no code",
    "syntax error",
    "does not compile",
    "source larger than",
    "import failed",
    "missing entry point",
    "entry point",
)
"""Prefixes (or, for "entry point", a substring) of the scorer's reasons that mark code as broken."""
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f"}


def is_broken(rec: Mapping[str, Any], scores: tuple[float, ...], where: str = "panel") -> bool:
    """Whether one row's state is broken: its ``broken`` column, else its ``reason``, else the score rule."""
    flag = rec.get("broken")
    if isinstance(flag, bool):
        return flag
    if isinstance(flag, (int, float)) and not (isinstance(flag, float) and math.isnan(flag)):
        return bool(flag)
    if isinstance(flag, str) and flag.strip():
        text = flag.strip().lower()
        if text in _TRUE | _FALSE:
            return text in _TRUE
        raise FitInputError(f"{where}: column 'broken' must be true/false, 1/0 or yes/no; got {flag!r}", _HINT)
    if "reason" in rec:
        reason = str(rec.get("reason") or "").lower()
        return reason.startswith(BROKEN_REASONS[:-1]) or BROKEN_REASONS[-1] in reason
    return scores[2] == 0.0 and math.isnan(scores[1])


def _check_header(columns: Iterable[str], path: Path) -> None:
    missing = [c for c in PANEL_COLUMNS if c not in set(columns)]
    if missing:
        raise FitInputError(f"{path} lacks column(s) {', '.join(missing)}", _HINT)


def read_panel_file(path: str | Path) -> Panel:
    """Read a CSV, JSONL or Parquet panel file (chosen by suffix)."""
    p = Path(path)
    if not p.is_file():
        raise FitInputError(f"panel file not found: {p}", "pass a run directory or a .csv/.jsonl/.parquet panel")
    suffix = p.suffix.lower()
    if suffix == ".csv":
        with p.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            _check_header(reader.fieldnames or [], p)
            return panel_from_records(list(reader), str(p))
    if suffix in {".jsonl", ".ndjson"}:
        records = []
        with p.open(encoding="utf-8") as fh:
            for i, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as err:
                    raise FitInputError(
                        f"{p} line {i} is not JSON: {err.msg}", "write one JSON object per line"
                    ) from None
                if not isinstance(rec, dict):
                    raise FitInputError(f"{p} line {i} is not a JSON object", "write one JSON object per line")
                records.append(rec)
        return panel_from_records(records, str(p))
    if suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise FitInputError("reading Parquet needs pyarrow", "pip install 'llmsde[parquet]'") from None
        try:
            table = pq.read_table(p)
        except Exception as err:  # pyarrow raises several unrelated types for a bad file
            raise FitInputError(f"{p} is not a readable Parquet file: {err}", "re-export the panel") from None
        _check_header(table.column_names, p)
        extra = ["broken"] if "broken" in table.column_names else []
        return panel_from_records(table.select([*PANEL_COLUMNS, *extra]).to_pylist(), str(p))
    raise FitInputError(f"unknown panel file type {suffix!r} ({p})", "use .csv, .jsonl or .parquet")
