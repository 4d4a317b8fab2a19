"""The sandbox: runs untrusted candidate code in warm, isolated fork servers (used by scoring only).

See docs/safety.md for exactly what is isolated and how, and what is not.
"""

from __future__ import annotations

from llmsde.sandbox._report import LAYERS, IsolationReport
from llmsde.sandbox.pool import SandboxPool
from llmsde.sandbox.program import AssertOp, ExecResult, IoOp, Op, OpResult, Program, WorkloadOp

__all__ = [
    "LAYERS",
    "AssertOp",
    "ExecResult",
    "IoOp",
    "IsolationReport",
    "Op",
    "OpResult",
    "Program",
    "SandboxPool",
    "WorkloadOp",
]
