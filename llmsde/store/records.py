"""Plain records the run store reads and writes: sessions, scored iterations and the run manifest.

They are frozen dataclasses with no behaviour so that the runner, exporters and tests can build and compare
them without touching SQLite.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["IterationRecord", "RunManifest", "SessionRow", "utc_now"]


def utc_now() -> str:
    """The current UTC time as ISO 8601 with a ``Z`` suffix, the only time format in the store."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class SessionRow:
    """One planned session: a (task, strategy, replicate) chain with its derived seed."""

    session_id: str
    ordinal: int
    """Position in the plan; sessions are listed and resumed in this order."""
    task_id: str
    strategy: str
    replicate: int
    seed: int
    status: str = "pending"
    """``pending`` until its last iteration is committed, then ``done``."""
    model: str = ""
    """Label of the model that answers this session; empty in a single-model study."""


@dataclass(frozen=True, slots=True)
class IterationRecord:
    """Everything known about one iteration once it is scored; NaN scores are stored as NULL."""

    session_id: str
    k: int
    security: float
    efficiency: float
    functionality: float
    prompt: list[dict[str, str]] | None = None
    """The chat messages sent (wire format); None when no call was made (iteration 0 with seed code)."""
    response: str | None = None
    code: str | None = None
    """The code that was scored (None when nothing could be extracted)."""
    reason: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    retries: int = 0
    cost_usd: float | None = None
    model_id: str | None = None
    system_fingerprint: str | None = None
    error: str | None = None
    """Why the iteration failed (provider call or scorer crash); the run goes on."""
    scored_at: str = field(default_factory=utc_now)
    finish_reason: str | None = None
    """Why the model stopped (``stop``, ``length``, ...) as the endpoint reported it; None without a call."""
    worker: str | None = None
    """Which scorer scored it and at what isolation (e.g. ``local``, ``ray:<node>``); None when unknown."""


@dataclass(frozen=True, slots=True)
class RunManifest:
    """What a run is: its config snapshot, software versions, model and how it ended."""

    run_id: str
    config: dict[str, Any]
    versions: dict[str, str]
    provider: str
    model: str
    base_url: str | None
    seed: int
    isolation_level: str | None = None
    isolation_warnings: tuple[str, ...] = ()
    started_at: str = field(default_factory=utc_now)
    ended_at: str | None = None
    status: str = "running"
    resumes: int = 0
