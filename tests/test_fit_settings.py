"""``[fit]`` of a run's stored config drives ``fit``, ``report`` and ``compare``; flags override it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from llmsde import api
from llmsde.cli import main
from llmsde.config import FitConfig
from llmsde.errors import ConfigError
from llmsde.store import IterationRecord, RunManifest, RunStore, SessionRow

STORED = {
    "n_bootstrap": 7,
    "folds": 3,
    "method": "exact",
    "model": "diagonal",
    "ci": "basic",
    "ci_level": 0.8,
    "seed": 5,
}


def _make_run(path: Path, fit: dict[str, Any], sessions: int = 10, steps: int = 7) -> Path:
    rng = np.random.default_rng(3)
    config = {"name": "synthetic", "fit": fit}
    manifest = RunManifest(
        run_id=path.name, config=config, versions={}, provider="surrogate", model="m", base_url=None, seed=0
    )
    a = np.diag([-0.4, -0.3, -0.5])
    b = np.array([2.4, 1.5, 4.0])
    with RunStore.create(path, config, manifest) as store:
        rows = [
            SessionRow(f"{s}{i}", n, "t", s, i, i)
            for n, (s, i) in enumerate((s, i) for s in ("EF", "SF") for i in range(sessions))
        ]
        store.add_sessions(rows)
        for row in rows:
            x = rng.uniform(2, 8, 3)
            for k in range(steps):
                store.commit_iteration(IterationRecord(row.session_id, k, *map(float, x)), session_done=k == steps - 1)
                x = np.clip(x + a @ x + b + rng.normal(0, 0.6, 3), 0, 10)
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _make_run(tmp_path_factory.mktemp("settings") / "run", STORED)


def _settings(meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "n_bootstrap": meta["n_bootstrap"],
        "folds": meta["folds"],
        "method": meta["method"],
        "model": meta["model"],
        "ci": meta["ci"],
        "ci_level": meta["ci_level"],
        "seed": meta["random_state"],
    }


def test_fit_of_a_run_uses_its_stored_fit_table(run: Path, tmp_path: Path) -> None:
    outcome = api.fit(run, out=tmp_path)
    assert _settings(outcome.fit.meta) == STORED


def test_flags_override_the_stored_table(run: Path, tmp_path: Path) -> None:
    meta = api.fit(run, n_bootstrap=9, method="em", seed=2, out=tmp_path).fit.meta
    assert _settings(meta) == {**STORED, "n_bootstrap": 9, "method": "em", "seed": 2}


def test_cli_fit_flags_and_stored_defaults(run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["fit", str(run), "--json", "--bootstrap", "11", "--ci-level", "0.9", "--out", str(tmp_path)])
    meta = json.loads(capsys.readouterr().out)["meta"]
    assert _settings(meta) == {**STORED, "n_bootstrap": 11, "ci_level": 0.9}


def test_report_fits_a_run_with_its_stored_table(run: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    (copy / "fit.json").unlink(missing_ok=True)
    api.report(copy, tmp_path / "report", ("md",))
    fitted = json.loads((copy / "fit.json").read_text())
    assert _settings(fitted["meta"]) == STORED


def test_compare_of_two_runs_uses_the_baselines_table(run: Path, tmp_path: Path) -> None:
    other = _make_run(tmp_path / "other", {})
    out = tmp_path / "cmp.md"
    result = api.compare(run, other, n_bootstrap=12, out=out)
    assert result.ci_level == 0.8
    assert out.read_text(encoding="utf-8") == result.to_markdown()
    assert result.to_dict() == api.compare(run, other, n_bootstrap=12, seed=5).to_dict()
    assert api.compare(other, run, n_bootstrap=12).ci_level == 0.95


def test_a_panel_file_gets_the_defaults_and_a_bad_stored_table_is_one_line(tmp_path: Path) -> None:
    panel = tmp_path / "panel.csv"
    panel.write_text("session,strategy,k,security,efficiency,functionality\n")
    assert api.fit_settings(panel) == FitConfig()
    bad = _make_run(tmp_path / "bad", {"folds": 1}, sessions=2, steps=2)
    with pytest.raises(ConfigError, match=r"stored config.*folds"):
        api.fit(bad)
