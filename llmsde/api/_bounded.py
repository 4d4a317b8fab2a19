"""Fit-side API for bounded scores and broken code: the censored model, breakage, first-passage thresholds.

Called by :func:`llmsde.api._fit.fit`: the linear fit sees only working states, and this module adds the
censored fit (``--model censored``) and the breakage rates to its :class:`~llmsde.dynamics.SdeFit`. Like the rest
of the API it returns objects and never prints; heavy imports stay inside the functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from llmsde.dynamics import SdeFit
    from llmsde.store.panel import Panel

__all__ = [
    "extend_fit",
    "fit_bounded_tables",
    "fit_working",
    "parse_thresholds",
    "unfittable",
    "working_x",
]


def parse_thresholds(value: str | Sequence[float] | None) -> tuple[float, float, float]:
    """First-passage thresholds S,E,F from ``"5"`` (all three), ``"5,4,8"`` or a sequence; default 5 each."""
    from llmsde.errors import FitInputError

    if value is None:
        return (5.0, 5.0, 5.0)
    parts: list[Any] = [p.strip() for p in value.split(",")] if isinstance(value, str) else list(value)
    try:
        nums = [float(p) for p in parts]
    except (TypeError, ValueError):
        raise FitInputError(
            f"--threshold must be numbers S,E,F (or one for all); got {value!r}", "e.g. --threshold 5"
        ) from None
    if len(nums) == 1:
        nums *= 3
    if len(nums) != 3 or not all(0.0 <= v <= 10.0 for v in nums):
        raise FitInputError(f"--threshold must be 1 or 3 scores in [0, 10]; got {value!r}", "e.g. --threshold 5,5,7")
    return (nums[0], nums[1], nums[2])


def working_x(panel: Panel) -> NDArray[np.float64]:
    """The panel's scores with broken states set to NaN: the SDE is fitted on working states only."""
    import numpy as np

    if panel.broken is None or not panel.broken.any():
        return panel.x
    return np.where(panel.broken[..., None], np.nan, panel.x)


def unfittable(panel: Panel, reason: str, meta: dict[str, Any]) -> SdeFit:
    """An SdeFit with every strategy skipped (``reason``), so breakage still gets reported for broken runs."""
    from llmsde.dynamics import SdeFit

    return SdeFit(strategies={}, meta=meta, skipped=dict.fromkeys(panel.strategies, reason))


def extend_fit(
    fit: SdeFit,
    panel: Panel,
    *,
    model: str,
    n_bootstrap: int,
    folds: int,
    seed: int,
    thresholds: tuple[float, float, float],
    rows: Sequence[Mapping[str, Any]] = (),
    horizon: int | None = None,
) -> SdeFit:
    """``fit`` plus breakage (when the panel has broken states) and, for ``model="censored"``, the Tobit fit;
    ``rows`` (a run's stored replies) add the per-iteration shares that parse, import, pass and are repaired."""
    import dataclasses
    import warnings

    from llmsde.dynamics import CensoredSdeEstimator, fit_breakage
    from llmsde.errors import FitInputError, LlmsdeWarning

    breakage = {}
    if panel.broken is not None and panel.broken.any():
        breakage = fit_breakage(panel.x, panel.broken, panel.labels, n_bootstrap=n_bootstrap, random_state=seed)
        if rows:
            from llmsde.report.bounded_report import reply_shares

            for name, (shares, counts) in reply_shares(rows).items():
                if name in breakage:
                    table = tuple((float(k), float(counts[k]), *map(float, shares[k])) for k in range(len(counts)))
                    breakage[name] = dataclasses.replace(breakage[name], per_iteration=table)
    censored = {}
    meta = dict(fit.meta)
    if model == "censored":
        if horizon is not None and (isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1):
            raise FitInputError(f"--horizon must be an integer >= 1; got {horizon!r}", "e.g. --horizon 5")
        est = CensoredSdeEstimator(
            n_bootstrap=n_bootstrap, folds=folds, thresholds=thresholds, horizon=horizon, random_state=seed
        )
        result = est.fit(panel.x, panel.labels, broken=panel.broken)
        censored = result.strategies
        for name, why in result.skipped.items():
            warnings.warn(f"censored fit of {name!r} skipped: {why}", LlmsdeWarning, stacklevel=2)
        meta.update(censored=True, thresholds=list(thresholds), censored_skipped=dict(result.skipped))
    return dataclasses.replace(fit, censored=censored, breakage=breakage, meta=meta)


def fit_bounded_tables(fit: SdeFit) -> list[tuple[str, tuple[str, ...], list[list[str]]]]:
    """(title, columns, rows) of the censored, bound-share, first-passage and breakage tables that have rows."""
    from llmsde.report.bounded_tables import (
        bound_share_rows,
        breakage_rows,
        censored_rows,
        first_passage_rows,
        per_iteration_rows,
    )

    out = []
    for title, (cols, rows) in (
        ("linear vs censored (bounded) fit", censored_rows(fit)),
        ("states on the bounds: data vs censored model", bound_share_rows(fit)),
        ("first passage below the threshold (censored model)", first_passage_rows(fit)),
        ("breakage: broken code as events", breakage_rows(fit)),
        ("replies per iteration: parse, import, pass all tests, repaired next", per_iteration_rows(fit)),
    ):
        if rows:
            out.append((title, cols, rows))
    return out


def fit_working(
    estimator: Any, panel: Panel, *, model: str, n_bootstrap: int, folds: int, seed: int,
    thresholds: tuple[float, float, float] = (5.0, 5.0, 5.0), rows: Sequence[Mapping[str, Any]] = (),
    horizon: int | None = None,
) -> SdeFit:  # fmt: skip
    """``estimator`` (a LinearSdeEstimator) on the working states, extended by :func:`extend_fit`.

    When no strategy can be fitted and the panel has broken states, the result lists every strategy as skipped
    (with the estimator's reason) instead of raising, so the breakage of a mostly broken run is still reported.
    """
    from llmsde.errors import FitInputError

    try:
        result = estimator.fit(working_x(panel), panel.labels)
    except FitInputError as err:
        if panel.broken is None or not panel.broken.any():
            raise
        meta = {"model": estimator.model, "method": estimator.method, "dt": estimator.dt, "n_bootstrap": n_bootstrap,
                "folds": folds, "random_state": seed}  # fmt: skip
        result = unfittable(panel, err.message, meta)
    return extend_fit(result, panel, model=model, n_bootstrap=n_bootstrap, folds=folds, seed=seed,
                      thresholds=thresholds, rows=rows, horizon=horizon)  # fmt: skip
