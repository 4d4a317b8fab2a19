"""The result of scoring one piece of code: the objective vector plus the raw figures behind it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ScoreResult"]


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """Scores in [0, 10] for (security, efficiency, functionality); NaN marks a missing score.

    Code that does not parse gets functionality 0 and NaN for the other two; code that parses but does not import
    (or lacks the entry point) keeps its security score, since bandit is static. ``reason`` says why.
    """

    security: float
    efficiency: float
    functionality: float
    reason: str | None = None
    """Why a score is missing (e.g. ``syntax error: line 3``); None when all three are present."""
    raw: dict[str, Any] = field(default_factory=dict)
    """JSON-safe raw figures: ``bandit`` findings, ``radon`` metrics, ``timing``, ``tests`` (per case)."""

    @property
    def vector(self) -> tuple[float, float, float]:
        """The objective vector in the fixed order (security, efficiency, functionality)."""
        return (self.security, self.efficiency, self.functionality)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form: missing scores become None."""

        def clean(v: float) -> float | None:
            return None if math.isnan(v) else v

        return {
            "security": clean(self.security),
            "efficiency": clean(self.efficiency),
            "functionality": clean(self.functionality),
            "reason": self.reason,
            "raw": self.raw,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScoreResult:
        """Inverse of :meth:`to_dict`."""

        def num(v: Any) -> float:
            return math.nan if v is None else float(v)

        return cls(
            num(data.get("security")),
            num(data.get("efficiency")),
            num(data.get("functionality")),
            data.get("reason"),
            dict(data.get("raw") or {}),
        )
