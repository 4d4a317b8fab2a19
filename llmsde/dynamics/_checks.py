"""Validation of estimator parameters and of the arrays given to ``fit``.

Messages follow one pattern: which argument, which rule, which value was received, and what to do instead.
Parameters and panel shape raise :class:`~llmsde.errors.FitInputError`; a strategy that cannot be fitted gets a
reason (:func:`strategy_problem`) so the others can still be fitted. Nothing is silently coerced into NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np
from numpy.typing import NDArray

from llmsde.errors import FitInputError

Array = NDArray[np.float64]
METHODS = ("em", "exact")
MODELS = ("full", "diagonal", "pooled")
OBJECTIVES = ("security", "efficiency", "functionality")
REGRESSORS = {"full": 4, "diagonal": 2, "pooled": 4}
"""Coefficients per equation that each strategy's data must identify."""


def check_params(
    dt: Any,
    n_bootstrap: Any,
    ci_level: Any,
    folds: Any,
    method: Any,
    model: Any,
    random_state: Any,
    ci: Any = "percentile",
) -> None:
    """Raise FitInputError for the first invalid estimator parameter."""
    from llmsde.dynamics._estimate import CI_METHODS

    if ci not in CI_METHODS:
        raise FitInputError(f"ci must be one of {', '.join(CI_METHODS)}; got {ci!r}", "e.g. --ci percentile")
    if isinstance(dt, bool) or not isinstance(dt, Real) or not math.isfinite(float(dt)) or float(dt) <= 0:
        raise FitInputError(f"dt must be a finite number > 0; got {dt!r}", "use dt=1.0 (one unit per iteration)")
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, Integral) or int(n_bootstrap) < 0:
        raise FitInputError(f"n_bootstrap must be an integer >= 0; got {n_bootstrap!r}", "e.g. --bootstrap 1000")
    if isinstance(ci_level, bool) or not isinstance(ci_level, Real) or not 0.0 < float(ci_level) < 1.0:
        raise FitInputError(f"ci_level must be in the open interval (0, 1); got {ci_level!r}", "e.g. 0.95")
    if isinstance(folds, bool) or not isinstance(folds, Integral) or int(folds) < 2:
        raise FitInputError(f"folds must be an integer >= 2; got {folds!r}", "e.g. --folds 5")
    if method not in METHODS:
        raise FitInputError(f"method must be one of {', '.join(METHODS)}; got {method!r}", "e.g. --method em")
    if model not in MODELS:
        raise FitInputError(f"model must be one of {', '.join(MODELS)}; got {model!r}", "e.g. --model full")
    ok_state = random_state is None or isinstance(random_state, np.random.Generator)
    ok_state = ok_state or (isinstance(random_state, Integral) and not isinstance(random_state, bool))
    if not ok_state or (isinstance(random_state, Integral) and int(random_state) < 0):
        raise FitInputError(
            f"random_state must be None, an integer >= 0 or a numpy Generator; got {random_state!r}",
            "e.g. --seed 0",
        )


def check_panel(x: Any, labels: Sequence[str]) -> tuple[Array, tuple[str, ...]]:
    """Return x as float64 of shape (n_sessions, n_steps, 3) and labels as a tuple of strings."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise FitInputError(
            "x must be a numeric array of shape (n_sessions, n_steps, 3); it could not be read as float64",
            "pass a numpy array of numbers (NaN marks a missing score)",
        ) from None
    if arr.size == 0:
        raise FitInputError(f"x is empty (shape {arr.shape})", "give at least two sessions of two or more steps")
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise FitInputError(
            f"x must have shape (n_sessions, n_steps, 3); got {arr.shape}",
            "stack each session's (security, efficiency, functionality) vectors",
        )
    if arr.shape[1] < 2:
        raise FitInputError(f"x needs n_steps >= 2 to form a transition; got {arr.shape[1]}", "run more iterations")
    if np.isinf(arr).any():
        raise FitInputError("x contains infinite values", "mark missing scores with NaN instead")
    if isinstance(labels, str):
        raise FitInputError("labels must be a sequence of strings, one per session; got a single string", "")
    labs = tuple(labels)
    if len(labs) != arr.shape[0]:
        raise FitInputError(
            f"labels must have one entry per session ({arr.shape[0]}); got {len(labs)}", "check the panel"
        )
    bad = [lab for lab in labs if not isinstance(lab, str) or not lab]
    if bad:
        raise FitInputError(f"labels must be non-empty strings; got {bad[0]!r}", "label each session's strategy")
    return arr, labs


def strategy_problem(valid: NDArray[np.bool_], n_params: int) -> str | None:
    """Why one strategy cannot be fitted, or None: it needs two sessions (the bootstrap and the k-fold resample
    whole sessions) and more transitions than ``n_params`` + 1 (coefficients per equation, plus one degree of
    freedom for Sigma). The number of sessions need not reach ``n_params``: the transitions identify the drift.

    A reason, not an exception: an unfittable strategy is skipped and listed with it in ``SdeFit.skipped``.
    """
    n_sessions = int(valid.any(axis=1).sum())
    n_trans = int(valid.sum())
    if n_sessions == 0:
        return "no usable transition (every pair of states has a NaN)"
    if n_sessions == 1:
        return "one session; the bootstrap and k-fold resample whole sessions and need at least 2"
    if n_trans <= n_params + 1:
        return f"{n_trans} usable transitions; need more than {n_params + 1} (run longer sessions)"
    return None
