"""What the api's fit/simulate/calibrate/task/serve wrappers offer a Python caller beyond the CLI: warnings returned
instead of shown, Truth objects, sequence starts, dict field maps and fault kinds as a sequence.

The CLI tests (tests/cli, tests/test_chain.py, tests/providers/test_server.py) cover the shared paths.
"""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from llmsde import api
from llmsde.dynamics import reference_truth, simulate_panel
from llmsde.dynamics.truth import Truth
from llmsde.errors import ConfigError, FitInputError, LlmsdeWarning

FIXTURES = Path(__file__).parent / "tasks" / "fixtures"


@pytest.fixture(scope="module")
def panel_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A panel whose security never moves (always 10), so every strategy warns that it is held fixed."""
    x, labels = simulate_panel(reference_truth(), 24, 6, np.random.default_rng(2))
    x = np.clip(x, 0, 10)
    x[:, :, 0] = 10.0
    path = tmp_path_factory.mktemp("facade") / "panel.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["session", "strategy", "k", "security", "efficiency", "functionality"])
        for s in range(len(x)):
            for k in range(x.shape[1]):
                w.writerow([f"s{s}", labels[s], k, *x[s, k]])
    return path


def test_fit_returns_its_warnings_instead_of_showing_them(panel_file: Path, tmp_path: Path) -> None:
    with warnings.catch_warnings(record=True) as escaped:
        warnings.simplefilter("always")
        outcome = api.fit(panel_file, n_bootstrap=20, folds=3, seed=1, out=tmp_path / "out")
    assert not [w for w in escaped if issubclass(w.category, LlmsdeWarning)]
    assert outcome.warnings and all(isinstance(w, LlmsdeWarning) for w in outcome.warnings)
    assert any("security" in str(w) for w in outcome.warnings)
    assert outcome.usage is None, "a panel file has no model calls"
    assert outcome.files.json_path == tmp_path / "out" / "fit.json" and outcome.files.md_path.is_file()
    assert json.loads(outcome.files.json_path.read_text())["meta"]["n_bootstrap"] == 20
    cols, rows = api.fit_summary_rows(outcome.fit)
    assert cols[1:] == tuple(outcome.fit.strategies) and all(len(r) == len(cols) for r in rows)
    sf = next(iter(outcome.fit.strategies.values()))
    assert sf.held == {"security": 10.0}
    assert all(len(row) == 2 for row in api.fit_strategy_rows(sf)) and not api.fit_skipped_rows(outcome.fit)


def test_simulate_accepts_a_sequence_or_the_cli_text(panel_file: Path, tmp_path: Path) -> None:
    fitted = api.fit(panel_file, n_bootstrap=10, folds=3, out=tmp_path).fit
    strategy = next(iter(fitted.strategies))
    from_list = api.simulate(tmp_path, strategy, start=[10, 4.5, 8], steps=3, paths=20, out=tmp_path / "a")
    from_text = api.simulate(tmp_path / "fit.json", strategy, start="10,4.5,8", steps=3, paths=20, out=tmp_path / "b")
    assert from_list.result.paths.shape == (20, 4, 3)
    assert np.array_equal(from_list.result.paths[:, 0], np.tile([10, 4.5, 8], (20, 1)))
    assert np.array_equal(from_list.result.paths, from_text.result.paths), "same seed, same start"
    assert from_list.files and all(p.parent == tmp_path / "a" and p.is_file() for p in from_list.files)
    with pytest.raises(FitInputError, match="three numbers"):
        api.simulate(tmp_path, strategy, start="5,4.5")
    with pytest.raises(FitInputError, match="'nope' is not in") as err:
        api.simulate(tmp_path, "nope", start="5,4.5")  # the strategy is checked before the start
    assert f"known: {', '.join(fitted.strategies)}" in err.value.one_line()


def test_calibrate_accepts_a_truth_object_and_reports_progress() -> None:
    doc = reference_truth(5).to_dict()
    doc["strategies"] = {"SF": doc["strategies"]["SF"]}
    done: list[int] = []
    result = api.calibrate(Truth.from_dict(doc), 20, 5, 2, 20, seed=3, on_progress=done.append)
    assert done == [1, 2] and set(result.strategies) == {"SF"}
    cols, rows = api.calibration_rows(result)
    assert cols[:2] == ("strategy", "parameter") and len(rows) == len(result.strategies["SF"])
    assert all(r[0] == "SF" and r[4].endswith("%") for r in rows)


def test_convert_tasks_takes_a_dict_or_the_cli_map_text(tmp_path: Path) -> None:
    renamed = tmp_path / "renamed.jsonl"
    lines = (FIXTURES / "mbpp_full_mini.jsonl").read_text().splitlines()
    renamed.write_text("\n".join(json.dumps({"question": d.pop("text"), **d}) for d in map(json.loads, lines)))
    by_dict = api.convert_tasks(renamed, "mbpp", mapping={"text": "question"})
    by_text = api.convert_tasks(renamed, "mbpp", mapping="text=question")
    assert [t.id for t in by_dict] == [t.id for t in by_text] and len(by_dict) == 4
    assert by_dict[0].spec == by_text[0].spec and "digits" in by_dict[0].spec


def test_show_task_view_and_unknown_id() -> None:
    view = api.show_task("merge_intervals")
    assert view.summary["id"] == "merge_intervals" and view.to_dict()["task"]["id"] == "merge_intervals"
    assert len(view.test_lines()) == len(view.task.tests) > 0
    with pytest.raises(ConfigError, match="unknown task 'merge_interval'") as err:
        api.show_task("merge_interval")
    assert "merge_intervals" in err.value.one_line()


def test_serve_rejects_unknown_fault_kinds_before_listening() -> None:
    listening: list[str] = []
    with pytest.raises(ConfigError, match="unknown fault kind"):
        api.serve(port=0, fail_rate=0.5, fail_kinds=["429", "bogus"], on_listening=listening.append)
    with pytest.raises(ConfigError, match="unknown fault kind"):
        api.serve(port=0, fail_kinds="429,bogus", on_listening=listening.append)
    assert not listening
