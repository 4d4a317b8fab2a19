"""Held objectives: an objective that never moves within a strategy is taken out of that strategy's regression.

A security-focused study on an already-secure task keeps security at 10 in every state; a task without unit tests
has no functionality score at all. Neither objective's drift is identifiable (its level is collinear with the
intercept, or absent), but the other objectives' dynamics are. So, per strategy, an objective whose observed values
are all equal (``constant``) or that is never observed (``missing``) is *held*: it is dropped from the regressors
and the responses, its row and column of A, its b entry and its Sigma row and column are exactly 0 (constant: it
provably does not move) or NaN (missing: nothing is known), and its equilibrium entry is the constant (or NaN).

Constancy is decided on the states used as regressors (x_k of the usable transitions), because that is where a
constant level makes the design singular: a session otherwise at 10 with one 9 in its last state still holds
security at 10. Such an objective moved (in the last states only), so its row and column of A, its b entry and its
Sigma row and column are NaN (not estimated) rather than 0; :func:`loose` names them. The held set is decided once
on the full data of the strategy; a bootstrap resample in which a moving objective happens to be constant is a
singular resample like any other (left out of the CIs).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from llmsde.dynamics._linear import Array

_NAMES = ("security", "efficiency", "functionality")


def find_held(x: Array) -> dict[int, float]:
    """Objective index -> held value (NaN when missing) for one strategy's sessions, shape (S, T, 3).

    Missing: never observed. Constant: one value in every regressor state (x_k of a transition whose two states
    are fully observed once missing objectives are filled); without any such transition, in every state.
    """
    held: dict[int, float] = {j: math.nan for j in range(x.shape[2]) if not np.isfinite(x[..., j]).any()}
    filled = fill_missing(x, held)
    ok = np.asarray(np.isfinite(filled).all(axis=2), dtype=bool)
    valid = ok[:, :-1] & ok[:, 1:]
    for j in range(x.shape[2]):
        if j in held:
            continue
        col = filled[:, :-1, j][valid] if valid.any() else x[..., j][np.isfinite(x[..., j])]
        if float(np.ptp(col)) == 0.0:
            held[j] = float(col[0])
    return held


def loose(x: Array, held: dict[int, float]) -> frozenset[int]:
    """The constant held objectives that take another value in some state (outside the regressors)."""
    out = set()
    for j, v in held.items():
        col = x[..., j][np.isfinite(x[..., j])]
        if not math.isnan(v) and bool(np.any(col != v)):
            out.add(j)
    return frozenset(out)


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


def held_message(label: str, held: dict[int, float], moved: frozenset[int] = frozenset()) -> str:
    """One line, e.g. "security is constant at 10 in SF: held fixed, drift fitted on efficiency and functionality".

    ``moved`` (:func:`loose`): objectives constant in every regressor state that change in some last state.
    """

    def part(j: int, v: float) -> str:
        if math.isnan(v):
            return f"{_NAMES[j]} is missing in every state of {label}"
        if j in moved:
            return (
                f"{_NAMES[j]} is {v:g} in every state used as a regressor in {label} (it changes only in a "
                "session's last states, so its drift is not estimated)"
            )
        return f"{_NAMES[j]} is constant at {v:g} in {label}"

    parts = [part(j, v) for j, v in sorted(held.items())]
    fitted = [n for j, n in enumerate(_NAMES) if j not in held]
    what = " and ".join(fitted) if len(fitted) <= 2 else f"{fitted[0]}, {fitted[1]} and {fitted[2]}"
    return f"{'; '.join(parts)}: held fixed, drift fitted on {what}"


def held_json(held: dict[int, float]) -> dict[str, float | None]:
    """``{objective: value_or_None}`` for fit.json (None for a missing objective)."""
    return {_NAMES[j]: (None if math.isnan(v) else v) for j, v in sorted(held.items())}
