"""Dynamics layer: linear SDE fits of objective trajectories, their uncertainty, validation and simulation.

It knows nothing of LLMs: it takes arrays of shape (n_sessions, n_steps, 3) and one label per session, and
uses
only numpy, scipy, the standard library and :mod:`llmsde.errors` (DESIGN.md section 3).
"""

from __future__ import annotations

from llmsde.dynamics._estimate import Estimate
from llmsde.dynamics.breakage import fit_breakage
from llmsde.dynamics.calibrate import CalibrationResult, ParamCalibration, calibrate, simulate_panel
from llmsde.dynamics.calibrate_censored import calibrate_censored, simulate_clipped_panel
from llmsde.dynamics.censored import CensoredResult, CensoredSdeEstimator
from llmsde.dynamics.censored_results import Breakage, CensoredFit, FirstPassage, Logistic
from llmsde.dynamics.estimator import LinearSdeEstimator
from llmsde.dynamics.first_passage import simulate_censored
from llmsde.dynamics.results import (
    R2,
    SCHEMA_VERSION,
    Diagnostics,
    Interference,
    ModelScore,
    SdeFit,
    StrategyFit,
)
from llmsde.dynamics.simulate import CLIP_RULES, SimulationResult, simulate
from llmsde.dynamics.truth import Truth, TruthParams, reference_truth

__all__ = [
    "Breakage",
    "CLIP_RULES",
    "CalibrationResult",
    "CensoredFit",
    "CensoredResult",
    "CensoredSdeEstimator",
    "Diagnostics",
    "Estimate",
    "FirstPassage",
    "Interference",
    "LinearSdeEstimator",
    "Logistic",
    "ModelScore",
    "ParamCalibration",
    "R2",
    "SCHEMA_VERSION",
    "SdeFit",
    "SimulationResult",
    "StrategyFit",
    "Truth",
    "TruthParams",
    "calibrate",
    "calibrate_censored",
    "fit_breakage",
    "reference_truth",
    "simulate",
    "simulate_censored",
    "simulate_clipped_panel",
    "simulate_panel",
]
