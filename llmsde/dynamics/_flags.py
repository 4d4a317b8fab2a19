"""Flags on a fitted strategy: data the linear SDE fits badly, each a note on the fit and an LlmsdeWarning.

- **Bounds**: when at least :data:`BOUNDARY_SHARE` of an objective's states sit on 0 or 10, the linear fit is
  biased near the bound (its CIs can exclude the truth already at 12-22%); the flag recommends the bound-aware
  model (``--model censored``). An equilibrium outside [0, 10] is flagged too (when its CI lies outside as well,
  or there is no CI): no score can settle there.
- **Collinearity**: the condition number of the standardised regressor levels (correlation matrix of the moving
  objectives over the states used as regressors) above :data:`COLLINEAR_WARN` means some objectives are nearly a
  linear function of others; A's columns for them are then not separately identified. The objectives named are
  those loading on the smallest principal component.
- **Few sessions**: a session bootstrap from fewer than :data:`FEW_SESSIONS` sessions gives CIs that are too
  narrow (few distinct resamples); the estimates are still reported.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

from llmsde.dynamics._estimate import Estimate
from llmsde.dynamics._linear import Array
from llmsde.dynamics.results import OBJECTIVE_NAMES, Diagnostics
from llmsde.errors import LlmsdeWarning

BOUNDARY_SHARE = 0.2
"""Share of an objective's states on 0 or 10 from which the fit recommends ``--model censored``."""
COLLINEAR_WARN = 30.0
"""Condition number of the standardised regressors above which objectives are flagged as collinear (Belsley's
condition index 30: strong dependence)."""
LOADING = 0.25
"""|loading| on the smallest principal component from which an objective is named as part of the collinearity."""
FEW_SESSIONS = 10
"""Sessions below which session-bootstrap CIs are flagged as unreliable."""
LOWER, UPPER = 0.0, 10.0


def collinearity(levels: Array, names: Sequence[str]) -> tuple[float, tuple[str, ...]]:
    """(condition number of the correlation matrix of ``levels`` (n, m) as sqrt(max/min eigenvalue), the objectives
    involved when it exceeds :data:`COLLINEAR_WARN`); (1.0, ()) for fewer than two objectives."""
    if levels.shape[1] < 2 or levels.shape[0] < 3:
        return 1.0, ()
    sd = levels.std(axis=0)
    if np.any(sd == 0):
        return math.inf, tuple(n for n, v in zip(names, sd, strict=True) if v == 0)
    corr = np.corrcoef(levels, rowvar=False)
    ev, vec = np.linalg.eigh(corr)
    cond = math.inf if ev[0] <= 0 else float(math.sqrt(ev[-1] / ev[0]))
    if cond <= COLLINEAR_WARN:
        return cond, ()
    return cond, tuple(n for n, v in zip(names, vec[:, 0], strict=True) if abs(v) >= LOADING)


def _join(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def flag(
    label: str,
    d: Diagnostics,
    held: dict[int, float],
    equilibrium: Estimate | None,
    n_sessions: int,
    bootstrap: bool,
) -> list[str]:
    """The flags of one strategy as notes; each is also warned (stacklevel points at the caller of ``fit``)."""
    notes = []
    piled = [
        f"{frac:.0%} of {name}"
        for j, (name, frac) in enumerate(zip(OBJECTIVE_NAMES, d.boundary_fraction, strict=True))
        if j not in held and not math.isnan(frac) and frac >= BOUNDARY_SHARE
    ]
    if piled:
        notes.append(
            f"{_join(piled)} states sit on 0 or 10 (>= {BOUNDARY_SHARE:.0%}): the linear SDE ignores the bound, "
            "so its estimates are biased there; fit with --model censored"
        )
    if equilibrium is not None:
        value, lo, hi = equilibrium.value, equilibrium.lo, equilibrium.hi
        no_ci = np.isnan(lo) | np.isnan(hi)
        outside = ((value < LOWER) & (no_ci | (hi < LOWER))) | ((value > UPPER) & (no_ci | (lo > UPPER)))
        out = [
            f"{name} {float(value[j]):.3g}" for j, name in enumerate(OBJECTIVE_NAMES) if j not in held and outside[j]
        ]
        if out:
            notes.append(
                f"equilibrium outside [0, 10] ({_join(out)}): no score can settle there; the scores pile on the "
                "bound instead (fit with --model censored)"
            )
    if d.collinear:
        notes.append(
            f"{_join(d.collinear)} are nearly collinear (condition number {d.collinearity_condition:.3g} of the "
            f"standardised levels > {COLLINEAR_WARN:g}): their columns of A are not separately identified and "
            "may be large with opposite signs; combine or drop one, or fit --model diagonal"
        )
    if bootstrap and n_sessions < FEW_SESSIONS:
        notes.append(
            f"{n_sessions} sessions: session-bootstrap CIs from fewer than ~{FEW_SESSIONS} sessions are unreliable "
            "(too narrow); read the estimates as a pilot"
        )
    if d.bootstrap_total and d.bootstrap_valid < 0.9 * d.bootstrap_total:
        notes.append(f"only {d.bootstrap_valid}/{d.bootstrap_total} bootstrap resamples were usable")
    for note in notes:
        warnings.warn(f"strategy {label!r}: {note}", LlmsdeWarning, stacklevel=5)
    return notes
