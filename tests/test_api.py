"""The public API on the real path: built-in tasks, surrogate provider, real Scorer, real SQLite store."""

from __future__ import annotations

import fcntl
import math
from pathlib import Path
from typing import Any

import pytest

from llmsde import api
from llmsde.config import StudyConfig, build_config
from llmsde.errors import ConfigError, RunDirError
from llmsde.store import RunStore

TASK = "merge_intervals"


def _config(out: Path, **kw: Any) -> StudyConfig:
    base = {"sessions": 2, "iterations": 2, "strategies": ["SF", "FF"], "tasks": [TASK], "seed": 5}
    return build_config({**base, "out": str(out), **kw})


def _by_key(run_dir: str) -> dict[tuple[str, int], tuple[str | None, float, float]]:
    with RunStore.open(run_dir) as store:
        out = {}
        for s in store.sessions():
            for it in store.session_iterations(s.session_id):
                out[(s.session_id, it["k"])] = it["code"]
        rows = store.iteration_rows()
    return {(r["session"], r["k"]): (out[(r["session"], r["k"])], r["security"], r["functionality"]) for r in rows}


def test_run_study_then_load_run(tmp_path: Path) -> None:
    starts: list[api.RunStart] = []
    summary = api.run_study(_config(tmp_path), on_start=starts.append)
    assert summary.status == "complete" and summary.sessions == summary.sessions_done == 4
    assert summary.iterations == summary.new_iterations == 4 * 3
    assert Path(summary.run_dir).parent == tmp_path and (Path(summary.run_dir) / "config.json").is_file()
    assert starts and starts[0].iterations_total == 12 and starts[0].isolation_level == summary.isolation_level
    with RunStore.open(summary.run_dir) as store:
        manifest = store.manifest()
    assert manifest.status == "complete" and manifest.versions["bandit"] and manifest.config["seed"] == 5
    rows = api.load_run_rows(summary.run_dir)
    assert {r["k"] for r in rows} == {0, 1, 2} and {r["strategy"] for r in rows} == {"SF", "FF"}
    assert all(0 <= r["functionality"] <= 10 for r in rows)
    panel = api.load_run(summary.run_dir)
    assert panel.x.shape == (4, 3, 3)
    assert sorted(panel.labels) == ["FF", "FF", "SF", "SF"]
    usage = summary.usage
    assert usage["calls"] == 4 * 2 and usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["cost_usd"] is None and usage == api.load_run_usage(summary.run_dir)


def test_priced_run_records_cost_and_fit_md_shows_totals(tmp_path: Path) -> None:
    prices = {"prompt_per_mtok": 1.0, "completion_per_mtok": 2.0}
    summary = api.run_study(_config(tmp_path, sessions=5, tasks=["builtin"], provider={"prices": prices}))
    usage = summary.usage
    expected = (usage["prompt_tokens"] * 1.0 + usage["completion_tokens"] * 2.0) / 1e6
    assert usage["cost_usd"] == pytest.approx(expected, rel=1e-6) and usage["cost_usd"] > 0
    api.fit_run(summary.run_dir, n_bootstrap=20)
    text = (Path(summary.run_dir) / "fit.md").read_text()
    assert "## Model calls" in text and str(usage["prompt_tokens"]) in text


def test_same_seed_reproduces_code_and_scores(tmp_path: Path) -> None:
    a = _by_key(api.run_study(_config(tmp_path / "a")).run_dir)
    b = _by_key(api.run_study(_config(tmp_path / "b", concurrency=1)).run_dir)
    assert a.keys() == b.keys() and len(a) == 12
    for key in a:
        code_a, sec_a, fun_a = a[key]
        code_b, sec_b, fun_b = b[key]
        assert code_a == code_b, key
        assert (sec_a == sec_b) or (math.isnan(sec_a) and math.isnan(sec_b)), key
        assert fun_a == fun_b, key
    c = _by_key(api.run_study(_config(tmp_path / "c", seed=6)).run_dir)
    assert any(a[key][0] != c[key][0] for key in a), "a different seed should change some code"


def test_bad_names_fail_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="XX"):
        api.run_study(_config(tmp_path, strategies=["SF", "XX"]))
    with pytest.raises(ConfigError, match="no_such_task"):
        api.run_study(_config(tmp_path, tasks=["no_such_task"]))
    assert not any(tmp_path.iterdir())


def test_resume_of_complete_run_is_a_no_op_and_bad_dir_is_run_dir_error(tmp_path: Path) -> None:
    summary = api.run_study(_config(tmp_path, sessions=1, strategies=["EF"], iterations=1))
    again = api.resume_run(summary.run_dir)
    assert (again.status, again.new_iterations, again.iterations) == ("complete", 0, 2)
    with pytest.raises(RunDirError, match="not a run directory"):
        api.resume_run(tmp_path)
    with open(Path(summary.run_dir) / "run.lock", "a+b") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        with pytest.raises(RunDirError, match="another llmsde process"):
            api.resume_run(summary.run_dir)


def test_shipped_configs_are_valid() -> None:
    from llmsde.config import load_config

    root = Path(__file__).resolve().parents[1] / "configs"
    demo, defaults = load_config(root / "demo.toml"), load_config(None)
    assert demo.model_dump() == {**defaults.model_dump(), "name": "demo"}, "demo.toml must mirror the defaults"
    paper = load_config(root / "paper.toml")
    assert (paper.sessions, paper.iterations, paper.strategies) == (100, 10, ["EF", "SF", "FF", "AI"])
    assert (paper.provider.temperature, paper.provider.top_p) == (0.7, 1.0)
