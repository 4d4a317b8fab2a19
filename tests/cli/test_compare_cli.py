"""``llmsde compare`` of two fit.json files: Markdown and JSON output, conservative CIs stated."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from llmsde.cli import main
from llmsde.dynamics import LinearSdeEstimator, reference_truth, simulate_panel


@pytest.fixture(scope="module")
def fits(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("cmp")
    est = LinearSdeEstimator(n_bootstrap=100, folds=3, random_state=0, compare_models=False)
    out = []
    for name, seed, swap in (("base", 1, False), ("cand", 2, True)):
        x, labels = simulate_panel(reference_truth(10), 30, 10, np.random.default_rng(seed))
        if swap:  # the candidate's "SF" behaves like FF: its security equilibrium drops to ~0
            labels = tuple({"SF": "FF", "FF": "SF"}.get(s, s) for s in labels)
        d = root / name
        d.mkdir()
        (d / "fit.json").write_text(json.dumps(est.fit(x, labels).to_dict(), allow_nan=False), encoding="utf-8")
        out.append(d)
    return out[0], out[1]


def test_markdown_names_the_significant_change(
    fits: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    md_file = tmp_path / "cmp.md"
    main(["compare", str(fits[0] / "fit.json"), str(fits[1]), "--out", str(md_file)])
    out = capsys.readouterr().out
    assert out.startswith("# Comparison: cand vs base")
    assert "conservatively" in out
    assert "- SF: in cand the scores settle at a lower security level than in base" in out
    assert md_file.read_text(encoding="utf-8") == out


def test_json(fits: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    main(["compare", str(fits[0]), str(fits[1]), "--json"])
    data = json.loads(capsys.readouterr().out)
    assert data["mode"] == "stored_ci" and data["a"] == "base" and data["b"] == "cand"
    sf_eq = next(d for d in data["differences"] if d["strategy"] == "SF" and d["metric"] == "equilibrium.security")
    assert sf_eq["significant"] and sf_eq["ci"][1] < 0


def test_missing_input_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["compare", str(tmp_path / "a"), str(tmp_path / "b")])
    assert info.value.code == 2
    assert "fit file not found" in capsys.readouterr().err
