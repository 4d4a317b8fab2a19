"""The Scorer: turns (code, task) into the objective vector (security, efficiency, functionality) in [0, 10].

One Scorer owns a pool of warm sandbox servers and a loaded bandit config, so per-candidate cost is a few
milliseconds plus the task's own workload. Formulas: docs/scoring.md (and the module docstrings of
security.py, efficiency.py, functionality.py).
"""

from __future__ import annotations

import hashlib
import math
import statistics
import threading
from dataclasses import dataclass
from typing import Any

from llmsde._ast_guard import AST_LOCK
from llmsde.config import SandboxConfig, ScoringConfig
from llmsde.sandbox import ExecResult, IsolationReport, Op, Program, SandboxPool, WorkloadOp
from llmsde.scoring.efficiency import efficiency_score, radon_metrics, radon_score, time_score
from llmsde.scoring.functionality import build_test_ops, judge_tests
from llmsde.scoring.result import ScoreResult
from llmsde.scoring.security import BanditRunner, security_score
from llmsde.tasks.model import IOCase, Task

__all__ = ["Scorer", "score_code"]

_NAN = math.nan
_MAX_OUTPUT_CHARS = 2000


@dataclass(frozen=True, slots=True)
class _Timing:
    """Median CPU seconds of one workload pass, or why there is none."""

    seconds: float | None
    source: str
    passes: tuple[float, ...] = ()
    error: str | None = None


@dataclass(slots=True)
class _Reference:
    """The latest reference timing of one task, how many scores used it, and the first one for drift."""

    timing: _Timing
    uses: int
    first_s: float | None
    broken: bool
    """The reference does not import: re-timing cannot help."""


class Scorer:
    """Scores code against tasks; a context manager; :meth:`score` may be called from several threads at
    once."""

    def __init__(self, scoring: ScoringConfig | None = None, sandbox: SandboxConfig | None = None) -> None:
        self.scoring = scoring or ScoringConfig.model_validate({})
        self.sandbox_config = sandbox or SandboxConfig.model_validate({})
        self._pool = SandboxPool(self.sandbox_config)
        try:
            self._bandit = BanditRunner()
        except BaseException:
            self._pool.close()
            raise
        self._ref_lock = threading.Lock()
        self._refs: dict[str, _Reference] = {}
        self._key_memo: dict[tuple[int, str], tuple[Task, str]] = {}

    @property
    def isolation(self) -> IsolationReport:
        """The sandbox layers achieved on this machine (``level``, ``layers``, ``warnings``)."""
        return self._pool.isolation

    def __enter__(self) -> Scorer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the sandbox servers; idempotent."""
        self._pool.close()

    def score(self, code: str | None, task: Task) -> ScoreResult:
        """Score one candidate. Never raises for bad code: failures become NaN scores with a reason.

        Security is static (bandit reads the source), so it is scored for all code that parses, also when the
        import fails or the entry point is missing; only code that does not parse has no security score.

        Broken code scores functionality 0 only when the task has tests; for a task without tests functionality
        is missing whatever the code, so a test-less objective stays missing in every state and ``fit`` can hold
        it instead of mixing zeros with gaps.
        """
        broken = 0.0 if task.tests else _NAN
        if code is None:
            return ScoreResult(_NAN, _NAN, broken, reason="no code in reply")
        problem = self._static_problem(code)
        if problem is not None:
            return ScoreResult(_NAN, _NAN, broken, reason=problem)
        ops, timing_source = self._ops(task)
        result = self._pool.run(Program(code, task.entry_point, ops, task.test_setup))
        raw: dict[str, Any] = {
            "output": result.output[:_MAX_OUTPUT_CHARS],
            "output_truncated": result.truncated,
        }
        reasons: list[str] = []
        if not result.import_ok:
            reasons.append(f"import failed: {result.import_error}")
            security = self._security(code, raw, reasons)
            return ScoreResult(security, _NAN, broken, reason="; ".join(reasons), raw=raw)
        tests = judge_tests(task, result.ops[: len(task.tests)])
        raw["tests"] = tests
        functionality = 10.0 * sum(t["passed"] for t in tests) / len(tests) if tests else _NAN
        if not tests:
            reasons.append("task has no tests")
        security = self._security(code, raw, reasons)
        efficiency = self._efficiency(code, task, result, timing_source, raw, reasons)
        return ScoreResult(security, efficiency, functionality, reason="; ".join(reasons) or None, raw=raw)

    def _static_problem(self, code: str) -> str | None:
        if len(code.encode("utf-8", "surrogatepass")) > self.scoring.max_source_kb * 1024:
            return f"source larger than max_source_kb={self.scoring.max_source_kb}"
        try:
            compile(code, "<candidate>", "exec", dont_inherit=True)
        except SyntaxError as err:
            return f"syntax error: line {err.lineno}: {err.msg}"
        except (Exception, RecursionError) as err:  # MemoryError/RecursionError on hostile nesting, NUL bytes
            return f"does not compile: {type(err).__name__}"
        return None

    def _security(self, code: str, raw: dict[str, Any], reasons: list[str]) -> float:
        try:
            with AST_LOCK:
                findings = self._bandit.scan(code)
        except ValueError as err:
            reasons.append(str(err))
            return _NAN
        raw["bandit"] = findings
        return security_score(findings, self.scoring)

    def _ops(self, task: Task) -> tuple[tuple[Op, ...], str]:
        """Test operations, plus the timed workload: the task's, else its io calls, else the tests' own
        CPU."""
        ops = build_test_ops(task, self.scoring.test_timeout_s)
        workload = self._workload(task)
        if workload is None:
            return ops, "tests"
        return (*ops, workload), "workload" if task.workload is not None else "io-calls"

    def _workload(self, task: Task) -> WorkloadOp | None:
        if task.workload is not None:
            calls = task.workload.calls
        else:
            calls = tuple(tuple(c.args) for c in task.tests if isinstance(c, IOCase) and not c.kwargs)
        if not calls:
            return None
        return WorkloadOp(calls, repeats=self.scoring.timing_repeats, wall_s=self.sandbox_config.wall_s)

    @staticmethod
    def _timing(result: ExecResult, source: str, n_tests: int) -> _Timing:
        if source == "tests":
            cpu = [op.cpu_s for op in result.ops[:n_tests] if op.ok and op.cpu_s is not None]
            if not cpu or len(cpu) < n_tests:
                return _Timing(None, source, error="not every test ran to completion")
            return _Timing(sum(cpu), source, (sum(cpu),))
        op = result.ops[-1]
        if not op.ok or not op.times:
            return _Timing(None, source, error=f"workload failed: {op.error}")
        return _Timing(statistics.median(op.times), source, op.times)

    def _reference_key(self, task: Task, ref: str, source: str) -> str:
        """Content hash of what the reference timing depends on, memoised per Task object.

        Hashing the repr of a large workload costs milliseconds, and a run passes the same Task objects for
        every iteration; the memo keeps the object alive, so its ``id`` cannot be reused while cached.
        """
        memo = self._key_memo.get((id(task), source))
        if memo is not None and memo[0] is task:
            return memo[1]
        key = hashlib.sha256(repr((task.id, ref, task.tests, task.workload, source)).encode()).hexdigest()
        self._key_memo[(id(task), source)] = (task, key)
        return key

    def _reference(self, task: Task, source: str) -> tuple[_Timing, dict[str, Any]]:
        """The reference (else seed) solution's timing and how it was obtained (``reference_age``,
        ``reference_drift``).

        The reference is re-timed right after the candidate (``reference_every = 1``) or every N scores of the
        task, so machine load that slows the candidate slows the reference alike and cancels in the ratio; a
        fresh Scorer (``--resume``, ``rescore``) sees the same scale. ``reference_age`` counts the scores since
        the reference was timed (0: timed for this candidate); ``reference_drift`` is this reference time over
        the first one of this task in this Scorer, i.e. how the machine's speed has moved. A reference that does
        not import is not retried.
        """
        ref = task.reference or task.seed_code
        if ref is None:
            return _Timing(None, source, error="task has neither reference nor seed code to time against"), {}
        key = self._reference_key(task, ref, source)
        with self._ref_lock:
            state = self._refs.get(key)
            if state is not None and (state.broken or state.uses < self.scoring.reference_every):
                state.uses += 1
                return state.timing, self._provenance(state.timing, state.uses - 1, state.first_s)
        timing, broken = self._time_reference(task, ref, source)
        with self._ref_lock:
            old = self._refs.get(key)
            first = old.first_s if old is not None and old.first_s is not None else timing.seconds
            self._refs[key] = _Reference(timing, 1, first, broken)
        return timing, self._provenance(timing, 0, first)

    @staticmethod
    def _provenance(timing: _Timing, age: int, first_s: float | None) -> dict[str, Any]:
        drift = timing.seconds / first_s if timing.seconds and first_s else None
        return {"reference_age": age, "reference_drift": drift}

    def _time_reference(self, task: Task, ref: str, source: str) -> tuple[_Timing, bool]:
        """The reference's timing, measured as a candidate's is; True when it does not import.

        Only the timed operations run: the workload op warms up before its timed passes, so the tests that
        precede it in a candidate's execution do not change its timing, and skipping them saves their time.
        """
        ops, _ = self._ops(task)
        if source != "tests":
            ops = ops[-1:]
        result = self._pool.run(Program(ref, task.entry_point, ops, task.test_setup))
        if not result.import_ok:
            return _Timing(None, source, error=f"reference does not import: {result.import_error}"), True
        return self._timing(result, source, len(task.tests)), False

    def _efficiency(
        self, code: str, task: Task, result: ExecResult, source: str, raw: dict[str, Any], reasons: list[str]
    ) -> float:
        try:
            with AST_LOCK:
                metrics = radon_metrics(code)
        except ValueError as err:
            reasons.append(str(err))
            return _NAN
        raw["radon"] = metrics
        cfg = self.scoring
        radon = radon_score(metrics, cfg.cc_scale, cfg.complexity_weight)
        if source == "tests" and not task.tests:
            raw["timing"] = {"source": "none", "radon_score": radon}
            reasons.append("efficiency from radon only: the task has no workload and no tests to time")
            return radon
        cand = self._timing(result, source, len(task.tests))
        ref, provenance = self._reference(task, source) if cand.seconds is not None else (cand, {})
        raw["timing"] = {
            "source": source,
            "candidate_s": cand.seconds,
            "reference_s": ref.seconds,
            **provenance,
            "passes_s": list(cand.passes),
            "workload_wall_s": result.ops[-1].wall_s if source != "tests" else None,
            "radon_score": radon,
        }
        if cand.seconds is None or ref.seconds is None:
            reasons.append(f"efficiency: {cand.error or ('reference ' + str(ref.error))}")
            return _NAN
        raw["timing"]["ratio"] = cand.seconds / ref.seconds if ref.seconds > 0 else None
        raw["timing"]["time_score"] = time_score(cand.seconds, ref.seconds)
        return efficiency_score(
            cand.seconds, ref.seconds, metrics, cfg.time_weight, cfg.cc_scale, cfg.complexity_weight
        )


_shared: dict[str, Scorer] = {}
_shared_lock = threading.Lock()


def score_code(
    code: str | None, task: Task, scoring: ScoringConfig | None = None, sandbox: SandboxConfig | None = None
) -> ScoreResult:
    """Score one candidate with a Scorer shared per configuration (started on first use, stopped at exit)."""
    scoring = scoring or ScoringConfig.model_validate({})
    sandbox = sandbox or SandboxConfig.model_validate({})
    key = scoring.model_dump_json() + sandbox.model_dump_json()
    with _shared_lock:
        scorer = _shared.get(key)
        if scorer is None:
            scorer = _shared[key] = Scorer(scoring, sandbox)
    return scorer.score(code, task)
