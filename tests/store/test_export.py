"""Export of a real SQLite run store to JSONL, CSV and Parquet, readable again as a fit panel."""

from __future__ import annotations

import csv
import json
import math
import sys
from pathlib import Path

import pytest

from llmsde.errors import ConfigError, RunDirError
from llmsde.store import IterationRecord, RunManifest, RunStore, SessionRow
from llmsde.store.export import export_run, flatten_raw

RAW = {
    "bandit": [{"test_id": "B602", "severity": "HIGH"}, {"test_id": "B101", "severity": "LOW"}],
    "tests": [{"name": "a", "passed": True}, {"name": "b", "passed": False}],
    "radon": {"cc": 3.0, "mi": 71.5, "blocks": [{"name": "f"}]},
    "timing": {"cpu_s": 0.01, "ratio": 1.2},
}


@pytest.fixture()
def run_dir(tmp_path: Path) -> Path:
    path = tmp_path / "run"
    manifest = RunManifest(run_id="r1", config={}, versions={}, provider="surrogate", model="m", base_url=None, seed=0)
    with RunStore.create(path, {}, manifest) as store:
        store.add_sessions([SessionRow("s1", 0, "t1", "EF", 0, 11), SessionRow("s2", 1, "t2", "SF", 0, 12)])
        for k in range(3):
            store.commit_iteration(
                IterationRecord("s1", k, 5.0 + k, 4.0, 10.0, code=f"x = {k}\n", raw=RAW, prompt_tokens=7),
                session_done=k == 2,
            )
        store.commit_iteration(IterationRecord("s2", 0, math.nan, math.nan, 0.0, reason="syntax error", error=None))
    return path


def test_flatten_raw_keeps_scalars_only() -> None:
    flat = flatten_raw(RAW)
    assert flat == {
        "bandit_findings": 2,
        "bandit_high": 1,
        "tests_total": 2,
        "tests_passed": 1,
        "radon_cc": 3.0,
        "radon_mi": 71.5,
        "timing_cpu_s": 0.01,
        "timing_ratio": 1.2,
    }
    assert flatten_raw({}) == {} and flatten_raw({"bandit": "odd"}) == {}


def test_jsonl_export(run_dir: Path) -> None:
    result = export_run(run_dir, "jsonl")
    assert (result.iterations, result.sessions) == (4, 2)
    rows = [json.loads(line) for line in Path(result.iterations_path).read_text().splitlines()]
    assert list(rows[0])[:6] == ["session", "strategy", "k", "security", "efficiency", "functionality"]
    assert rows[2]["security"] == 7.0 and rows[2]["bandit_high"] == 1 and rows[2]["prompt_tokens"] == 7
    assert rows[3]["security"] is None and rows[3]["reason"] == "syntax error" and rows[3]["bandit_high"] is None
    sessions = [json.loads(line) for line in Path(result.sessions_path).read_text().splitlines()]
    assert [(s["session"], s["status"], s["iterations"]) for s in sessions] == [
        ("s1", "done", 3),
        ("s2", "pending", 1),
    ]
    assert Path(result.iterations_path).parent == run_dir / "export"


def test_csv_export_to_out_dir(run_dir: Path, tmp_path: Path) -> None:
    result = export_run(run_dir, "csv", tmp_path / "out")
    with open(result.iterations_path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4 and rows[0]["strategy"] == "EF" and rows[3]["security"] == ""
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["iterations.csv", "sessions.csv"]


def test_parquet_export(run_dir: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    result = export_run(run_dir, "parquet")
    table = pq.read_table(result.iterations_path).to_pydict()
    assert table["k"] == [0, 1, 2, 0] and table["security"][3] is None
    assert pq.read_table(result.sessions_path).num_rows == 2


def test_parquet_without_pyarrow_is_one_line(run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(ConfigError, match="needs pyarrow") as info:
        export_run(run_dir, "parquet")
    assert "pip install 'llmsde[parquet]'" in info.value.one_line()


def test_bad_format_and_not_a_run(run_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown export format"):
        export_run(run_dir, "xlsx")
    with pytest.raises(RunDirError):
        export_run(tmp_path / "nope", "csv")


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_export_reads_back_as_a_fit_panel(run_dir: Path, fmt: str) -> None:
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    from llmsde.store.panel import read_panel_file

    result = export_run(run_dir, fmt)
    panel = read_panel_file(result.iterations_path)
    assert panel.x.shape == (2, 3, 3)
    assert list(panel.labels) == ["EF", "SF"]
    assert panel.x[0, 2, 0] == 7.0 and math.isnan(panel.x[1, 0, 0]) and math.isnan(panel.x[1, 1, 0])
