"""A failing test must stay failed whatever the candidate does to the harness, the interpreter or the
process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from llmsde.config import SandboxConfig
from llmsde.sandbox import AssertOp, IoOp, Program, SandboxPool

WRONG = "def add(a, b):\n    return a - b\n"
FAILING = AssertOp("assert candidate(2, 2) == 4", wall_s=1.0)
PASSING = AssertOp("assert candidate(2, 0) == 2", wall_s=1.0)


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    with SandboxPool(SandboxConfig.model_validate({"cpu_s": 1.0, "wall_s": 2.0, "memory_mb": 256, "slots": 1})) as p:
        yield p


def outcomes(pool: SandboxPool, prelude: str, *ops: AssertOp | IoOp) -> list[bool]:
    res = pool.run(Program(prelude + "\n" + WRONG, "add", ops or (FAILING, PASSING)))
    assert res.import_ok, res.import_error
    return [op.ok for op in res.ops]


@pytest.mark.parametrize(
    "prelude",
    [
        "import builtins\nbuiltins.AssertionError = type('Nope', (Exception,), {})",
        "import builtins\n_real = builtins.__build_class__\nbuiltins.isinstance = lambda *a: True",
        "import sys\nsys.modules.pop('_harness', None)",
        "import sys\nh = sys.modules['_harness']\nh._run_op = lambda *a, **k: {'ok': True}",
        "import sys\nh = sys.modules['_harness']\nh._BUILTINS_SNAPSHOT.clear()\nh._C_LEVEL = (object,)\n"
        "h._build = None",
        "import _wire\n_wire.write_frame = lambda fd, obj: None",
        "import json\njson.dumps = lambda *a, **k: 'true'\njson.JSONEncoder.encode = lambda *a, **k: 'true'",
        "import os\n_w = os.write\nos.write = lambda fd, b: _w(fd, b.replace(b'false', b'true '))",
        "import sys\nsys.setrecursionlimit(10**9)",
    ],
    ids=[
        "AssertionError",
        "isinstance",
        "drop-harness",
        "patch-run-op",
        "patch-module-state",
        "patch-wire",
        "patch-json",
        "patch-os-write",
        "recursionlimit",
    ],  # fmt: skip
)
def test_monkeypatching_cannot_turn_a_failure_into_a_pass(pool: SandboxPool, prelude: str) -> None:
    assert outcomes(pool, prelude) == [False, True]


@pytest.mark.parametrize(
    "test_code",
    [
        "import os\nos._exit(0)",
        "import sys\nsys.exit(0)",
        "raise KeyboardInterrupt",
        "raise SystemExit(0)",
        "raise BaseException('stop')",
        "def r(n):\n    return r(n + 1)\nr(0)",
        "import builtins\nbuiltins.AssertionError = None\nassert candidate(2, 2) == 4",
        "while True:\n    pass",
    ],
    ids=[
        "os._exit",
        "sys.exit",
        "KeyboardInterrupt",
        "SystemExit",
        "BaseException",
        "recursion",
        "builtins",
        "hang",
    ],  # fmt: skip
)
def test_tests_that_escape_or_crash_count_as_failed(pool: SandboxPool, test_code: str) -> None:
    res = pool.run(Program(WRONG, "add", (AssertOp(test_code, wall_s=1.0), PASSING)))
    assert [op.ok for op in res.ops] == [False, True]


ALWAYS_EQUAL = """
class Anything(int):
    def __eq__(self, other):
        return True
    __hash__ = int.__hash__
def add(a, b):
    return Anything(0)
"""


def test_always_equal_object_fails_assert_mode(pool: SandboxPool) -> None:
    res = pool.run(Program(ALWAYS_EQUAL, "add", (FAILING,)))
    assert not res.ops[0].ok and "Python code" in (res.ops[0].error or "")


def test_always_equal_object_cannot_fake_an_io_result(pool: SandboxPool) -> None:
    res = pool.run(Program(ALWAYS_EQUAL.replace("(int)", "(object)").replace("int.__hash__", "None"), "add",
                           (IoOp((2, 2)),)))  # fmt: skip
    assert not res.ops[0].ok or res.ops[0].value != "4"


def test_plain_and_c_implemented_return_values_pass_the_guard(pool: SandboxPool) -> None:
    code = (
        "import collections, datetime\n"
        "def add(a, b):\n"
        "    return [a + b, (1, 2.5), {'k': {1, 2}}, datetime.date(2020, 1, 1),\n"
        "            collections.OrderedDict(x=1)]\n"
    )
    res = pool.run(Program(code, "add", (AssertOp("assert candidate(1, 2)[0] == 3"),)))
    assert res.ops[0].ok, res.ops[0].error


def test_import_time_exit_fails_everything(pool: SandboxPool) -> None:
    res = pool.run(Program("import os\nos._exit(0)\n" + WRONG, "add", (PASSING,)))
    assert not res.import_ok and not res.ops[0].ok


def test_exceptions_at_import_are_reported(pool: SandboxPool) -> None:
    for prelude in ("raise KeyboardInterrupt", "raise SystemExit(0)", "import sys\nsys.exit(3)"):
        res = pool.run(Program(prelude + "\n" + WRONG, "add", (PASSING,)))
        assert not res.import_ok and not res.ops[0].ok


def test_missing_entry_point_is_an_import_failure(pool: SandboxPool) -> None:
    res = pool.run(Program("x = 1\n", "add", (PASSING,)))
    assert not res.import_ok and "entry point" in (res.import_error or "")


def test_test_setup_helpers_are_visible_to_tests(pool: SandboxPool) -> None:
    prog = Program(
        WRONG.replace("-", "+"),
        "add",
        (AssertOp("assert double(add(1, 1)) == 4"),),
        setup="def double(x):\n    return 2 * x\n",
    )
    assert pool.run(prog).ops[0].ok
