"""Conversion of each dataset format into tasks (no sandbox: verification is tested in
test_importers_pipeline)."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace
from pathlib import Path

import pytest

from llmsde.errors import ConfigError, TaskFileError
from llmsde.tasks.importers import convert_file
from llmsde.tasks.importers.common import derive_workload, is_json_safe, parse_map, read_records
from llmsde.tasks.importers.humaneval import split_check
from llmsde.tasks.importers.mbpp import convert_assert, find_entry_point
from llmsde.tasks.importers.security_seed import cwe_from_id
from llmsde.tasks.model import AssertCase, IOCase, Task

FIXTURES = Path(__file__).parent / "fixtures"


def _by_id(tasks: list[Task]) -> dict[str, Task]:
    return {t.id: t for t in tasks}


def test_humaneval_splits_flat_asserts_and_drops_vacuous_ones() -> None:
    fmt, conv = convert_file(FIXTURES / "humaneval_mini.jsonl")
    assert fmt == "humaneval"
    task = _by_id(conv.tasks)["Mini/0"]
    assert [type(c) for c in task.tests] == [AssertCase] * 4
    assert all("candidate(" in c.code for c in task.tests if isinstance(c, AssertCase))
    assert not any("assert True" in c.code for c in task.tests if isinstance(c, AssertCase))
    assert "METADATA" in task.test_setup and "def check" not in task.test_setup
    assert task.seed_code is None
    assert task.reference is not None and task.reference.startswith("def running_max")
    assert "def running_max(numbers: list) -> list:" in task.spec
    assert task.workload is not None and ([1, 3, 2],) in task.workload.calls


def test_humaneval_keeps_check_whole_when_asserts_depend_on_locals() -> None:
    task = _by_id(convert_file(FIXTURES / "humaneval_mini.jsonl")[1].tasks)["Mini/1"]
    assert task.tests == (AssertCase(code="check(candidate)", name="check"),)
    assert "def check(candidate):" in task.test_setup


def test_humaneval_renamed_parameter_is_rebound_and_helpers_stay_in_setup() -> None:
    task = _by_id(convert_file(FIXTURES / "humaneval_mini.jsonl")[1].tasks)["Mini/3"]
    assert len(task.tests) == 2
    first = task.tests[0]
    assert isinstance(first, AssertCase) and first.code.startswith("f = candidate\n")
    assert "def _flip" in task.test_setup


def test_humaneval_without_check_is_skipped_with_reason() -> None:
    _, conv = convert_file(FIXTURES / "humaneval_mini.jsonl")
    assert [(s.id, "check(candidate)" in s.reason) for s in conv.skipped] == [("Mini/4", True)]


def test_split_check_multiline_assert_segment_compiles() -> None:
    setup, cases, calls = split_check("def check(c):\n    assert c(1,\n             2) == 3\n")
    assert setup == "" and len(cases) == 1 and calls == [(1, 2)]
    assert isinstance(cases[0], AssertCase)
    compile(cases[0].code, "<t>", "exec")


def test_split_check_refuses_walrus_dependencies() -> None:
    _, cases, _ = split_check("def check(c):\n    assert (y := c(1))\n    assert y == 2\n")
    assert cases == [AssertCase(code="check(candidate)", name="check")]


def test_gzipped_jsonl_reads_like_plain(tmp_path: Path) -> None:
    gz = tmp_path / "HumanEval.jsonl.gz"
    gz.write_bytes(gzip.compress((FIXTURES / "humaneval_mini.jsonl").read_bytes()))
    zipped = convert_file(gz)[1].tasks
    plain = convert_file(FIXTURES / "humaneval_mini.jsonl")[1].tasks
    assert zipped[0].source == "humaneval:HumanEval.jsonl.gz"
    assert [replace(t, source="") for t in zipped] == [replace(t, source="") for t in plain]


def test_mbpp_full_shape_entry_points_and_io_cases() -> None:
    fmt, conv = convert_file(FIXTURES / "mbpp_full_mini.jsonl")
    assert fmt == "mbpp"
    tasks = _by_id(conv.tasks)
    assert tasks["mbpp/901"].entry_point == "digit_sum"
    assert tasks["mbpp/901"].tests[1] == IOCase(args=(123,), expected=6, name="test_2")
    words = tasks["mbpp/902"]
    assert words.entry_point == "unique_words"
    assert [type(c) for c in words.tests] == [IOCase, AssertCase, IOCase]
    assert "\r" not in (words.reference or "")
    assert tasks["mbpp/904"].test_setup == "import math\n"
    pairs = tasks["mbpp/905"]
    assert isinstance(pairs.tests[0], AssertCase), "tuples in expected would change through JSON"
    assert [s.id for s in conv.skipped] == ["mbpp/903"]
    assert "ambiguous" in conv.skipped[0].reason and "enc" in conv.skipped[0].reason


def test_mbpp_sanitized_shape_is_detected_from_a_json_array() -> None:
    fmt, conv = convert_file(FIXTURES / "mbpp_sanitized_mini.json")
    assert fmt == "mbpp"
    tasks = _by_id(conv.tasks)
    assert tasks["mbpp/911"].spec.startswith("Write a function to count the vowels")
    assert tasks["mbpp/912"].test_setup == "import math\n"
    assert conv.skipped[0].id == "mbpp/913" and "no function" in conv.skipped[0].reason


def test_find_entry_point_reports_what_it_saw() -> None:
    assert find_entry_point("def a():\n pass\ndef b():\n pass\n", ["assert b() is None"]) == ("b", "")
    name, why = find_entry_point("def a():\n pass\n", ["assert z() == 1"])
    assert name is None and "defined: a" in why and "called: z" in why


def test_convert_assert_shapes() -> None:
    assert convert_assert("assert f(1, k=2) == [1]", "f", "t")[0] == IOCase(
        args=(1,), kwargs={"k": 2}, expected=[1], name="t"
    )
    assert convert_assert("assert [1] == f(1)", "f", "t")[0] == IOCase(args=(1,), expected=[1], name="t")
    for src in (
        "assert f(x) == 1",
        "assert f(1) != 2",
        "assert f(1)",
        "assert f(1) == 1, 'msg'",
        "assert g(1) == 1",
    ):
        assert isinstance(convert_assert(src, "f", "t")[0], AssertCase), src


def test_security_seed_securityeval_and_sallm_shapes() -> None:
    fmt, conv = convert_file(FIXTURES / "securityeval_mini.jsonl")
    assert fmt == "security-seed"
    task = _by_id(conv.tasks)["CWE-078_fixture_1"]
    assert task.cwe == ("CWE-78",) and task.entry_point == "list_dir" and task.tests == ()
    assert task.seed_code is not None and "shell=True" in task.seed_code and task.reference is None
    assert [s.id for s in conv.skipped] == ["CWE-020_fixture_3"]
    assert "no top-level function or class" in conv.skipped[0].reason
    _, sallm = convert_file(FIXTURES / "sallm_mini.jsonl")
    assert _by_id(sallm.tasks)["sallm_fixture_2"].tags == ("insecure-seed", "technique:CodeQL")


def test_security_seed_defining_only_a_class_is_imported_without_entry_point() -> None:
    _, conv = convert_file(FIXTURES / "securityeval_mini.jsonl")
    task = _by_id(conv.tasks)["CWE-798_fixture_4"]
    assert task.entry_point is None and task.tests == () and task.workload is None
    assert task.spec.startswith("Complete the class `UserStore`") and task.cwe == ("CWE-798",)
    assert task.seed_code is not None and "class UserStore" in task.seed_code
    _, sallm = convert_file(FIXTURES / "sallm_mini.jsonl")
    assert _by_id(sallm.tasks)["sallm_fixture_3"].entry_point is None
    assert not sallm.skipped


def test_security_seed_map_names_other_fields() -> None:
    with pytest.raises(TaskFileError, match="line 1: missing field"):
        convert_file(FIXTURES / "custom_security.jsonl", "security-seed")
    mapping = parse_map("id=name, prompt=ask,seed=vulnerable")
    (task,) = convert_file(FIXTURES / "custom_security.jsonl", "security-seed", mapping=mapping)[1].tasks
    assert task.entry_point == "find_user" and task.cwe == ("CWE-89",)
    with pytest.raises(ConfigError, match="unknown field"):
        convert_file(FIXTURES / "custom_security.jsonl", "security-seed", mapping={"code": "x"})


def test_auto_detection_fails_with_a_hint() -> None:
    with pytest.raises(TaskFileError, match="cannot tell the dataset format"):
        convert_file(FIXTURES / "custom_security.jsonl")


def test_malformed_line_is_reported_with_its_number() -> None:
    with pytest.raises(TaskFileError, match=r"malformed\.jsonl line 4: invalid JSON"):
        convert_file(FIXTURES / "malformed.jsonl")


def test_non_object_record_and_empty_file(tmp_path: Path) -> None:
    bad = tmp_path / "x.jsonl"
    bad.write_text('{"a": 1}\n[1, 2]\n')
    with pytest.raises(TaskFileError, match="line 2: expected a JSON object"):
        read_records(bad)
    empty = tmp_path / "e.jsonl"
    empty.write_text("\n\n")
    with pytest.raises(TaskFileError, match="no records"):
        read_records(empty)
    with pytest.raises(TaskFileError, match="not found"):
        read_records(tmp_path / "missing.jsonl")


def test_limit_and_unknown_format() -> None:
    assert len(convert_file(FIXTURES / "mbpp_full_mini.jsonl", limit=2)[1].tasks) == 2
    with pytest.raises(ConfigError, match="unknown format"):
        convert_file(FIXTURES / "mbpp_full_mini.jsonl", "apps")
    with pytest.raises(ConfigError, match="--limit"):
        convert_file(FIXTURES / "mbpp_full_mini.jsonl", limit=0)


def test_duplicate_ids_keep_the_first(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in (FIXTURES / "mbpp_full_mini.jsonl").read_text().splitlines()]
    path = tmp_path / "dup.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [rows[0], rows[0]]) + "\n")
    conv = convert_file(path)[1]
    assert len(conv.tasks) == 1 and "duplicate" in conv.skipped[0].reason


def test_json_safety_and_workload_derivation() -> None:
    assert is_json_safe([1, "a", {"k": [2.5]}]) and not is_json_safe((1, 2)) and not is_json_safe(float("nan"))
    assert not is_json_safe({1: "a"}) and not is_json_safe({1, 2})
    tests = [IOCase(args=(1,), expected=1), IOCase(args=(1,), expected=1), IOCase(args=(2,), expected=4)]
    wl = derive_workload(tests, [(3,), (1,)])
    assert wl is not None and wl.calls == ((1,), (2,), (3,))
    assert derive_workload([AssertCase(code="assert True")]) is None


def test_cwe_from_id_normalises() -> None:
    assert cwe_from_id("CWE-020_author_1.py") == ("CWE-20",)
    assert cwe_from_id("cwe_79-and-CWE-079") == ("CWE-79",)
    assert cwe_from_id("plain") == ()


def test_parse_map_rejects_malformed_pairs() -> None:
    assert parse_map(None) == {}
    with pytest.raises(ConfigError, match="bad --map entry"):
        parse_map("id")
