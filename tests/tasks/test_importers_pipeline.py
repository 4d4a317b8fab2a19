"""The import pipeline: verification verdicts, the written directory and manifest, all-or-nothing writes.

The end-to-end tests verify the fixtures' references with the real sandboxed scorer.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from llmsde.errors import TaskFileError
from llmsde.scoring import score_code
from llmsde.scoring.result import ScoreResult
from llmsde.tasks.importers import convert_file, import_dataset, verify_tasks
from llmsde.tasks.io import read_manifest, read_task_dir
from llmsde.tasks.model import IOCase, Task, Workload

FIXTURES = Path(__file__).parent / "fixtures"

REF = Task(
    id="r",
    spec="",
    entry_point="f",
    tests=(IOCase(args=(1,), expected=1),),
    reference="def f(x):\n    return x\n",
    workload=Workload(calls=((1,),)),
)
SEED = Task(id="s", spec="", entry_point="f", tests=(), seed_code="def f():\n    pass\n")


def test_verdicts_from_scores() -> None:
    answers = {
        "r": ScoreResult(10.0, math.nan, 10.0, reason="workload timed out"),
        "bad": ScoreResult(10.0, 5.0, 5.0, raw={"tests": [{"name": "t1", "passed": False, "reason": "got 2"}]}),
        "s": ScoreResult(8.0, 6.0, 0.0),  # a test-less seed must get NaN functionality
    }
    bad = Task(id="bad", spec="", entry_point="f", tests=REF.tests, reference=REF.reference)
    seen: list[tuple[int, int]] = []
    verdicts = verify_tasks(
        [REF, bad, SEED],
        score=lambda code, task: answers[task.id],
        on_progress=lambda d, n: seen.append((d, n)),
    )
    assert [v.ok for v in verdicts] == [False, False, False]
    assert "workload does not run" in verdicts[0].problem
    assert "functionality 5.00/10" in verdicts[1].problem and "t1: got 2" in verdicts[1].problem
    assert not verdicts[2].has_reference and "expected missing/NaN" in verdicts[2].problem
    assert seen[-1] == (3, 3)
    ok = verify_tasks([REF, SEED], score=lambda code, task: ScoreResult(9.0, 5.0, 10.0 if task.tests else math.nan))
    assert [v.ok for v in ok] == [True, True]


def test_unverified_import_writes_directory_and_manifest(tmp_path: Path) -> None:
    out = tmp_path / "mbpp"
    report = import_dataset(FIXTURES / "mbpp_full_mini.jsonl", out=out, verify=False, license="CC-BY-4.0")
    assert report.imported == 4 and report.reference_passed is None and report.out_dir == str(out)
    assert [s.id for s in report.skipped] == ["mbpp/903"]
    tasks = read_task_dir(out)
    assert [t.id for t in tasks] == list(report.task_ids)
    assert {t.license for t in tasks} == {"CC-BY-4.0"}
    manifest = read_manifest(out)
    assert manifest is not None
    assert manifest["format"] == "mbpp" and manifest["license"] == "CC-BY-4.0" and manifest["verified"] is False
    assert manifest["source_file"].endswith("mbpp_full_mini.jsonl") and len(manifest["source_sha256"]) == 64
    assert manifest["imported_at"].endswith("+00:00") and manifest["skipped"][0]["id"] == "mbpp/903"
    with pytest.raises(TaskFileError, match="already exists"):
        import_dataset(FIXTURES / "mbpp_full_mini.jsonl", out=out, verify=False)


def test_dry_run_and_nothing_importable_write_nothing(tmp_path: Path) -> None:
    report = import_dataset(FIXTURES / "sallm_mini.jsonl", out=tmp_path / "d", verify=False, dry_run=True)
    assert report.imported == 3 and report.out_dir is None
    lines = (FIXTURES / "humaneval_mini.jsonl").read_text().splitlines()
    only_bad = tmp_path / "bad.jsonl"
    only_bad.write_text(lines[4] + "\n")
    with pytest.raises(TaskFileError, match="no task of .* could be imported .*Mini/4"):
        import_dataset(only_bad, out=tmp_path / "e", verify=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.jsonl"]


def test_malformed_file_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(TaskFileError, match="line 4"):
        import_dataset(FIXTURES / "malformed.jsonl", out=tmp_path / "m", verify=False)
    assert list(tmp_path.iterdir()) == []


def test_humaneval_import_verified_in_the_sandbox(tmp_path: Path) -> None:
    report = import_dataset(FIXTURES / "humaneval_mini.jsonl", out=tmp_path / "he", jobs=2)
    assert (report.reference_passed, report.reference_total) == (4, 5)
    reasons = {s.id: s.reason for s in report.skipped}
    assert set(reasons) == {"Mini/2", "Mini/4"}
    assert "reference fails its own tests" in reasons["Mini/2"]
    tasks = read_task_dir(tmp_path / "he")
    assert [t.id for t in tasks] == ["Mini/0", "Mini/1", "Mini/3", "Mini/5"]


def test_prompt_helpers_used_by_tests_come_from_the_dataset() -> None:
    task = next(t for t in convert_file(FIXTURES / "humaneval_mini.jsonl")[1].tasks if t.id == "Mini/5")
    assert task.test_setup.startswith("def shift(")
    assert score_code(task.reference, task).functionality == 10.0
    cheat = "def shift(s):\n    return s\n\n\ndef unshift(s):\n    return s\n"
    assert score_code(cheat, task).functionality == 0.0, "redefining the helper must not make the test pass"


def test_mbpp_and_security_seed_imports_verified_in_the_sandbox(tmp_path: Path) -> None:
    report = import_dataset(FIXTURES / "mbpp_sanitized_mini.json", out=tmp_path / "m")
    assert (report.reference_passed, report.reference_total, report.imported) == (2, 2, 2)
    sec = import_dataset(FIXTURES / "securityeval_mini.jsonl", out=tmp_path / "s", keep_failing=True)
    assert sec.imported == 3 and sec.reference_total == 0
    assert not any("expected missing/NaN" in n or "does not load" in n for n in sec.notes), sec.notes
    broken = tmp_path / "broken.jsonl"
    row = {
        "id": "CWE-94_x",
        "prompt": "def f():",
        "insecure_code": "import no_such_module_xyz\ndef f():\n    pass\n",
    }
    broken.write_text(json.dumps(row) + "\n")
    notes = import_dataset(broken, out=tmp_path / "b").notes
    assert any(n.startswith("CWE-94_x: seed does not load") for n in notes), notes


def test_class_only_seed_is_written_scored_and_shown_without_entry_point(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from llmsde.cli import main

    import_dataset(FIXTURES / "securityeval_mini.jsonl", out=tmp_path / "s")
    task = next(t for t in read_task_dir(tmp_path / "s") if t.id == "CWE-798_fixture_4")
    assert task.entry_point is None
    scored = score_code(task.seed_code, task)
    assert scored.security < 10 and {f["test_id"] for f in scored.raw["bandit"]} >= {"B105", "B608"}
    assert scored.efficiency == pytest.approx(scored.raw["timing"]["radon_score"])
    assert math.isnan(scored.functionality)
    assert math.isnan(score_code("class UserStore:\n    x = eval(input())\n", task).functionality)
    main(["tasks", "show", "CWE-798_fixture_4", "--source", str(tmp_path / "s")])
    out = capsys.readouterr().out
    assert "none: no test or workload calls this task's code" in out and "class UserStore" in out


def test_a_task_without_entry_point_cannot_have_tests(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no entry point"):
        Task(id="t", spec="-", entry_point=None, tests=(IOCase((1,), 1),), seed_code="x = 1\n")
    with pytest.raises(ValueError, match="needs seed code"):
        Task(id="t", spec="-", entry_point=None, tests=())
    out = tmp_path / "d"
    import_dataset(FIXTURES / "sallm_mini.jsonl", out=out, verify=False)
    path = next(p for p in out.glob("*.json") if "fixture_3" in p.name)
    data = json.loads(path.read_text())
    data["tests"] = [{"kind": "io", "args": [1], "expected": 1}]
    path.write_text(json.dumps(data))
    with pytest.raises(TaskFileError, match="no entry point"):
        read_task_dir(out)
