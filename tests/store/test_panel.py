"""Panel files (CSV, JSONL, Parquet) and records into (sessions x steps x 3) arrays."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from llmsde.errors import FitInputError
from llmsde.store.panel import PANEL_COLUMNS, panel_from_records, read_panel_file

ROWS = [
    {"session": "a", "strategy": "SF", "k": 0, "security": 1, "efficiency": 2, "functionality": 3},
    {"session": "a", "strategy": "SF", "k": 1, "security": 2, "efficiency": None, "functionality": 4},
    {"session": "b", "strategy": "my strategy", "k": 2, "security": 5, "efficiency": 5, "functionality": 5},
    {"session": "b", "strategy": "my strategy", "k": 0, "security": 4, "efficiency": 4, "functionality": 4},
    {"session": "a", "strategy": "SF", "k": 2, "security": 3, "efficiency": 3, "functionality": 3},
]


def _check(panel) -> None:
    assert panel.x.shape == (2, 3, 3)
    assert panel.labels == ("SF", "my strategy")
    assert panel.session_ids == ("a", "b")
    assert np.isnan(panel.x[0, 1, 1]) and np.isnan(panel.x[1, 1]).all()
    np.testing.assert_array_equal(panel.x[1, 2], [5, 5, 5])
    assert panel.strategies == ("SF", "my strategy")


def test_records() -> None:
    _check(panel_from_records(ROWS))


def test_csv_jsonl_parquet(tmp_path: Path) -> None:
    csv_path = tmp_path / "p.csv"
    lines = [",".join(PANEL_COLUMNS + ("extra",))]
    for r in ROWS:
        lines.append(",".join("" if r[c] is None else str(r[c]) for c in PANEL_COLUMNS) + ",x")
    csv_path.write_text("\n".join(lines) + "\n")
    _check(read_panel_file(csv_path))
    jl = tmp_path / "p.jsonl"
    jl.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n\n")
    _check(read_panel_file(jl))
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq_path = tmp_path / "p.parquet"
    pq.write_table(pa.Table.from_pylist(ROWS), pq_path)
    _check(read_panel_file(pq_path))


@pytest.mark.parametrize(
    "rows,needle",
    [
        ([{"session": "a", "strategy": "S", "k": 0, "security": 1, "efficiency": 1}], "functionality"),
        ([{**ROWS[0], "security": "high"}], "not a number"),
        ([{**ROWS[0], "k": -1}], "integer >= 0"),
        ([{**ROWS[0], "k": 1.5}], "integer >= 0"),
        ([ROWS[0], ROWS[0]], "twice"),
        ([ROWS[0], {**ROWS[1], "strategy": "EF"}], "two strategies"),
        ([], "no rows"),
        ([{**ROWS[0], "security": "inf"}], "infinite"),
    ],
)
def test_bad_records(rows: list, needle: str) -> None:
    with pytest.raises(FitInputError, match=needle):
        panel_from_records(rows)


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(FitInputError, match="not found"):
        read_panel_file(tmp_path / "missing.csv")
    (tmp_path / "p.txt").write_text("x")
    with pytest.raises(FitInputError, match="unknown panel file type"):
        read_panel_file(tmp_path / "p.txt")
    (tmp_path / "h.csv").write_text("session,strategy,k,security\n")
    with pytest.raises(FitInputError, match="lacks column"):
        read_panel_file(tmp_path / "h.csv")
    (tmp_path / "j.jsonl").write_text("{not json}\n")
    with pytest.raises(FitInputError, match="line 1 is not JSON"):
        read_panel_file(tmp_path / "j.jsonl")
    (tmp_path / "b.parquet").write_bytes(b"garbage")
    with pytest.raises(FitInputError, match="Parquet"):
        read_panel_file(tmp_path / "b.parquet")
