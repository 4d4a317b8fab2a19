"""Runner layer: plans sessions, runs them concurrently, commits each scored iteration, resumes.

It imports no heavy library at module level; providers, the scorer and tasks are handed in by ``llmsde.api``.
"""

from __future__ import annotations

from llmsde.runner.events import Progress, ProgressCallback
from llmsde.runner.plan import call_seed, plan_sessions, session_id, session_seed
from llmsde.runner.scheduler import RunOutcome, default_score_slots, execute_run
from llmsde.runner.session import (
    ChainState,
    RunContext,
    advance,
    initial_messages,
    rebuild_state,
    trim_history,
)

__all__ = [
    "ChainState",
    "Progress",
    "ProgressCallback",
    "RunContext",
    "RunOutcome",
    "advance",
    "call_seed",
    "default_score_slots",
    "execute_run",
    "initial_messages",
    "plan_sessions",
    "rebuild_state",
    "session_id",
    "session_seed",
    "trim_history",
]
