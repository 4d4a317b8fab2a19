"""Held objectives: an objective that never moves within a strategy is taken out of that strategy's regression.

A security-focused study on an already-secure task keeps security at 10 in every state; a task without unit tests
has no functionality score at all. Neither objective's drift is identifiable (its level is collinear with the
intercept, or absent), but the other objectives' dynamics are. So, per strategy, an objective whose observed values
are all equal (``constant``) or that is never observed (``missing``) is *held*: it is dropped from the regressors
and the responses, its row and column of A, its b entry and its Sigma row and column are exactly 0 (constant: it
provably does not move) or NaN (missing: nothing is known), and its equilibrium entry is the constant (or NaN).

The held set is decided once on the full data of the strategy; a bootstrap resample in which a moving objective
happens to be constant is a singular resample like any other (left out of the CIs).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from llmsde.dynamics._linear import Array

_NAMES = ("security", "efficiency", "functionality")


def find_held(x: Array) -> dict[int, float]:
    """Objective index -> held value (NaN when missing) for one strategy's sessions, shape (S, T, 3)."""
    held: dict[int, float] = {}
    for j in range(x.shape[2]):
        col = x[..., j][np.isfinite(x[..., j])]
        if col.size == 0:
            held[j] = math.nan
        elif float(np.ptp(col)) == 0.0:
            held[j] = float(col[0])
    return held


def fill_missing(x: Array, held: dict[int, float]) -> Array:
    """A copy of ``x`` with every missing held objective set to 0, so it no longer drops transitions.

    The filled column is constant, so it behaves exactly like a constant held objective in the regression; the
    assembly then reports its figures as NaN.
    """
    out = x.copy()
    for j, v in held.items():
        if math.isnan(v):
            out[..., j] = 0.0
    return out


def moving_mask(held: dict[int, float], n: int = 3) -> NDArray[np.bool_]:
    """Boolean (n,): True for the objectives that are fitted."""
    m = np.ones(n, dtype=bool)
    m[list(held)] = False
    return m


def hold_mask(mask: NDArray[np.bool_], held: dict[int, float]) -> NDArray[np.bool_]:
    """The feature mask (p, 3) without the held objectives as regressors (rows) or as responses (columns)."""
    out = mask.copy()
    for j in held:
        out[j, :] = False
        out[:, j] = False
    return out


def held_message(label: str, held: dict[int, float]) -> str:
    """One line, e.g. "security is constant at 10 in SF: held fixed, drift fitted on efficiency and functionality"."""
    parts = [
        f"{_NAMES[j]} is missing in every state of {label}"
        if math.isnan(v)
        else f"{_NAMES[j]} is constant at {v:g} in {label}"
        for j, v in sorted(held.items())
    ]
    fitted = [n for j, n in enumerate(_NAMES) if j not in held]
    what = " and ".join(fitted) if len(fitted) <= 2 else f"{fitted[0]}, {fitted[1]} and {fitted[2]}"
    return f"{'; '.join(parts)}: held fixed, drift fitted on {what}"


def held_json(held: dict[int, float]) -> dict[str, float | None]:
    """``{objective: value_or_None}`` for fit.json (None for a missing objective)."""
    return {_NAMES[j]: (None if math.isnan(v) else v) for j, v in sorted(held.items())}
