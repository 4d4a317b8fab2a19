"""Scoring: the objective vector (security, efficiency, functionality) of a piece of code for a task.

Heavy libraries (bandit, radon) load when a :class:`Scorer` is built, not when this package is imported.
"""

from __future__ import annotations

from llmsde.sandbox import IsolationReport
from llmsde.scoring.result import ScoreResult
from llmsde.scoring.scorer import Scorer, score_code

__all__ = ["IsolationReport", "ScoreResult", "Scorer", "score_code"]
