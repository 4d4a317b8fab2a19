"""Typed description of what to run in the sandbox, and what came back.

A :class:`Program` is candidate source plus a list of operations (io calls, assertion snippets, a timed
workload). The fork server imports the candidate once and runs the operations in order; an operation that
hangs or kills its process is recorded as failed and the server continues with the next one in a fresh child.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["AssertOp", "ExecResult", "IoOp", "Op", "OpResult", "Program", "WorkloadOp"]


@dataclass(frozen=True, slots=True)
class IoOp:
    """Call the entry point with JSON arguments; the JSON of the return value comes back for the parent to
    judge."""

    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    wall_s: float = 2.0


@dataclass(frozen=True, slots=True)
class AssertOp:
    """Run test code (after ``Program.setup``) with the entry point bound to ``candidate``; ok iff it raises
    nothing."""

    code: str
    wall_s: float = 2.0


@dataclass(frozen=True, slots=True)
class WorkloadOp:
    """Run every call once untimed (warm-up), then ``repeats`` timed passes; CPU seconds per pass come
    back."""

    calls: tuple[tuple[Any, ...], ...]
    repeats: int = 5
    wall_s: float = 5.0
    min_pass_s: float = 0.005
    """Passes faster than this are looped and averaged (see the harness)."""


Op = IoOp | AssertOp | WorkloadOp


@dataclass(frozen=True, slots=True)
class Program:
    """Candidate source, the name of its entry point and the operations to run against it."""

    code: str
    entry: str | None
    """The function the operations call; None when nothing calls one (a task without tests or workload), so
    the import alone is checked."""
    ops: tuple[Op, ...] = ()
    setup: str = ""
    """Test setup code run before assertion operations (imports, helpers)."""


@dataclass(frozen=True, slots=True)
class OpResult:
    """Outcome of one operation as observed by the harness (io values are untrusted JSON text)."""

    ok: bool
    value: str | None = None
    """JSON text of the return value (io operations)."""
    error: str | None = None
    """Why the operation failed: exception, timeout, killed by a limit, malformed result."""
    cpu_s: float | None = None
    times: tuple[float, ...] = ()
    """CPU seconds of each timed workload pass."""
    wall_s: float | None = None
    """Wall seconds the operation took, as the child measured it (informational, e.g. for benchmarks)."""


@dataclass(frozen=True, slots=True)
class ExecResult:
    """Everything one sandboxed execution produced."""

    import_ok: bool
    import_error: str | None
    ops: tuple[OpResult, ...]
    output: str
    """Captured stdout and stderr (decoded with replacement), at most ``max_output_kb``."""
    truncated: bool
    children: int
    """Child processes forked for this program (more than 1 after an operation killed or hung its child)."""
    cpu_total_s: float
    """CPU seconds of all those children as the kernel accounted them (rusage from wait4)."""

    @classmethod
    def from_reply(cls, reply: dict[str, Any], n_ops: int) -> ExecResult:
        """Build from the server's reply frame, tolerating missing fields (the reply is produced by our
        server)."""
        imp = reply.get("import") or {"ok": False, "error": "no import result"}
        ops: list[OpResult] = []
        for raw in list(reply.get("ops") or [])[:n_ops]:
            times = raw.get("times") or ()
            ops.append(
                OpResult(
                    ok=bool(raw.get("ok")),
                    value=raw.get("value") if isinstance(raw.get("value"), str) else None,
                    error=str(raw["error"]) if raw.get("error") is not None else None,
                    cpu_s=float(raw["cpu"]) if isinstance(raw.get("cpu"), int | float) else None,
                    times=tuple(float(t) for t in times if isinstance(t, int | float)),
                    wall_s=float(raw["wall"]) if isinstance(raw.get("wall"), int | float) else None,
                )
            )
        ops += [OpResult(ok=False, error="not run")] * (n_ops - len(ops))
        return cls(
            import_ok=bool(imp.get("ok")),
            import_error=imp.get("error"),
            ops=tuple(ops),
            output=str(reply.get("output", "")),
            truncated=bool(reply.get("truncated")),
            children=int(reply.get("children", 0)),
            cpu_total_s=float(reply.get("cpu_total", 0.0)),
        )
