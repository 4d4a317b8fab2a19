"""Synthetic panels with known parameters for the dynamics tests (no clipping unless asked)."""

from __future__ import annotations

import numpy as np

from llmsde.dynamics import TruthParams, reference_truth, simulate_panel
from llmsde.dynamics.truth import Truth

EF_LIKE = TruthParams(
    A=np.array([[-0.35, 0.0, 0.0], [0.05, -0.45, 0.0], [-0.03, -0.08, -0.55]]),
    b=np.array([1.8, 2.0, 4.2]),
    Sigma=np.array([[0.20, 0.02, -0.03], [0.02, 0.25, -0.05], [-0.03, -0.05, 0.30]]),
)


def panel(truth: Truth | None = None, sessions: int = 200, iterations: int = 10, seed: int = 0):
    """(x, labels) simulated from ``truth`` (default: the DESIGN.md reference truth)."""
    return simulate_panel(truth or reference_truth(iterations), sessions, iterations, np.random.default_rng(seed))


def one(params: TruthParams = EF_LIKE, sessions: int = 200, iterations: int = 10, seed: int = 0, label: str = "X"):
    """A one-strategy panel."""
    return panel(Truth({label: params}), sessions, iterations, seed)
