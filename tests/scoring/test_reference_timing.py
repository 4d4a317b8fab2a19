"""The reference is re-timed alongside candidates, so a change in the machine's speed cancels in the ratio.

A change of speed is made controllable by wrapping the real sandbox pool: every CPU figure it reports is replaced
by a fixed figure multiplied by ``factor``, which is what a machine ``factor`` times slower looks like to the
scorer (candidate and reference alike), without the test depending on the real timing noise of a shared
machine. (``benchmarks/bench_scoring.py`` measures the same with real
CPU hogs.)
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator

import pytest

from llmsde.config import SandboxConfig, ScoringConfig
from llmsde.sandbox import ExecResult, Program, SandboxPool
from llmsde.scoring import Scorer
from llmsde.tasks import IOCase, Task, Workload

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="full isolation needs root (CI runs as root)")

CODE = "def total(xs):\n    s = 0\n    for x in xs:\n        s += x * x\n    return s\n"
TASK = Task(
    id="squares",
    spec="Sum of squares.",
    entry_point="total",
    tests=(IOCase(([1, 2, 3],), 14), IOCase(([],), 0)),
    seed_code=CODE,
    reference="def total(xs):\n    return sum(x * x for x in xs)\n",
    workload=Workload(calls=((list(range(20000)),),) * 3),
)
SANDBOX = SandboxConfig.model_validate({"wall_s": 5.0, "slots": 1})


class SlowerMachine:
    """A real :class:`SandboxPool` whose reported CPU times are ``BASE_S * factor`` (the programs really run)."""

    BASE_S = 0.004

    def __init__(self, pool: SandboxPool) -> None:
        self.pool = pool
        self.factor = 1.0

    def run(self, program: Program) -> ExecResult:
        result = self.pool.run(program)
        t = self.BASE_S * self.factor
        ops = tuple(
            dataclasses.replace(op, cpu_s=None if op.cpu_s is None else t, times=tuple(t for _ in op.times))
            for op in result.ops
        )
        return dataclasses.replace(result, ops=ops)

    def close(self) -> None:
        self.pool.close()


def _scorer(**scoring: object) -> Iterator[tuple[Scorer, SlowerMachine]]:
    with Scorer(ScoringConfig.model_validate({"timing_repeats": 3, **scoring}), SANDBOX) as scorer:
        machine = SlowerMachine(scorer._pool)
        scorer._pool = machine  # type: ignore[assignment]
        yield scorer, machine


@pytest.fixture()
def fresh() -> Iterator[tuple[Scorer, SlowerMachine]]:
    yield from _scorer()


def test_unchanged_program_keeps_its_efficiency_when_the_machine_slows_down(
    fresh: tuple[Scorer, SlowerMachine],
) -> None:
    scorer, machine = fresh
    before = scorer.score(CODE, TASK)
    machine.factor = 3.0
    after = scorer.score(CODE, TASK)
    r0, r1 = before.raw["timing"]["ratio"], after.raw["timing"]["ratio"]
    assert r1 == pytest.approx(r0), (r0, r1)
    assert after.efficiency == pytest.approx(before.efficiency), (before.efficiency, after.efficiency)
    assert after.raw["timing"]["reference_age"] == 0
    assert after.raw["timing"]["reference_drift"] == pytest.approx(3.0), after.raw["timing"]
    assert before.raw["timing"]["reference_drift"] == pytest.approx(1.0)


def test_reference_every_n_scores_records_age_and_shows_the_drift_it_lets_through() -> None:
    for scorer, machine in _scorer(reference_every=3):
        ages, ratios = [], []
        for k in range(4):
            machine.factor = 1.0 if k == 0 else 3.0
            timing = scorer.score(CODE, TASK).raw["timing"]
            ages.append(timing["reference_age"])
            ratios.append(timing["ratio"])
        assert ages == [0, 1, 2, 0]
        assert ratios[1] / ratios[0] == pytest.approx(3.0), "a stale reference lets a slowdown through (the trade-off)"
        assert ratios[3] == pytest.approx(ratios[0]), ratios
        assert timing["reference_drift"] == pytest.approx(3.0)


def test_a_reference_that_does_not_import_is_not_retimed(fresh: tuple[Scorer, SlowerMachine]) -> None:
    scorer, machine = fresh
    calls = 0
    run = machine.run

    def counting(program: Program) -> ExecResult:
        nonlocal calls
        calls += 1
        return run(program)

    machine.run = counting  # type: ignore[method-assign]
    task = dataclasses.replace(TASK, reference="raise ImportError('no')\n")
    for _ in range(3):
        res = scorer.score(CODE, task)
        assert "reference does not import" in (res.reason or "")
    assert calls == 3 + 1
