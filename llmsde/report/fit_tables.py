"""Plain rows (lists of strings) describing a fit, for the terminal table and for fit.md.

Per strategy (docs/fit.md defines each figure): rho with its CI, every eigenvalue of A and of the step map Phi,
|mu|, the discrete half-life, mode, R^2 in and out of sample beside the baselines, equilibrium and the
interference views. No rich here: render.py draws the rows.
"""

from __future__ import annotations

import math
from typing import Any

from llmsde.dynamics import CalibrationResult, Estimate, SdeFit, StrategyFit

__all__ = [
    "CALIBRATION_COLUMNS",
    "SUMMARY_METRICS",
    "calibration_rows",
    "comparison_rows",
    "fmt",
    "fmt_ci",
    "held_text",
    "phi_text",
    "skipped_rows",
    "strategy_rows",
    "summary_rows",
]

SUMMARY_METRICS: tuple[str, ...] = (
    "sessions / transitions",
    "rho [CI]",
    "half-life (iterations) [CI]",
    "eigenvalues of A",
    "eigenvalues of Phi [CI]",
    "|mu| = |eig Phi|",
    "mode",
    "R2 in / held-out / multi-step",
    "held-out R2 static mean (no memory)",
    "equilibrium [S, E, F]",
    "Corr(dF, dE) [CI]",
    "Corr(dF, dS) [CI]",
    "held fixed (not fitted)",
)
"""Rows of the summary table (one column per strategy); eigenvalues and |mu| are those of the moving objectives
(a held objective has no mode). Phi = I + A dt for ``em``, exp(A dt) for ``exact``."""
COMPARISON_COLUMNS: tuple[str, ...] = (
    "model",
    "params",
    "log-lik",
    "AIC",
    "BIC",
    "held-out log-lik / transition",
    "note",
)
CALIBRATION_COLUMNS: tuple[str, ...] = (
    "strategy",
    "parameter",
    "max |bias|",
    "mean RMSE",
    "coverage (mean)",
    "coverage (min)",
)
_ABBR = ("S", "E", "F")


def fmt(v: Any, digits: int = 2) -> str:
    """A number with ``digits`` decimals; "-" for None/NaN, "inf" for infinities."""
    if v is None:
        return "-"
    f = float(v)
    if math.isnan(f):
        return "-"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    return f"{f:.{digits}f}"


def fmt_ci(e: Estimate, digits: int = 2) -> str:
    """``value [lo, hi]`` for a scalar estimate (just the value when there is no CI)."""
    value = fmt(e.value, digits)
    if math.isnan(float(e.lo)) and math.isnan(float(e.hi)):
        return value
    return f"{value} [{fmt(e.lo, digits)}, {fmt(e.hi, digits)}]"


def _complex(re: float, im: float) -> str:
    if abs(im) < 5e-4:
        return fmt(re)
    return f"{fmt(re)}{'+' if im >= 0 else '-'}{fmt(abs(im))}i"


def _vector(values: Any, digits: int = 2) -> str:
    return "[" + ", ".join(fmt(v, digits) for v in values) + "]"


def summary_rows(fit: SdeFit) -> tuple[tuple[str, ...], list[list[str]]]:
    """Columns (metric, then one per strategy) and one row per metric of :data:`SUMMARY_METRICS`."""
    cells: list[list[str]] = []
    for sf in fit.strategies.values():
        eig = ", ".join(_complex(float(r), float(i)) for r, i in sf.eigenvalues.value)
        static = sf.baselines.get("static_mean")
        cells.append(
            [
                f"{sf.n_sessions} / {sf.n_transitions}" + (f" ({sf.n_dropped} dropped)" if sf.n_dropped else ""),
                fmt_ci(sf.rho),
                fmt_ci(sf.half_life, 1),
                eig,
                phi_text(sf),
                _vector(sf.discrete_modulus.value),
                sf.mode + ("" if sf.stable else " (unstable)"),
                " / ".join(fmt(sf.r2[k].overall.value) for k in ("in_sample", "held_out", "multi_step")),
                "-" if static is None else fmt(static["one_step"].overall.value),
                "none (A singular)" if sf.equilibrium is None else _vector(sf.equilibrium.value),
                _entry_ci(sf.interference.corr_dx, 2, 1),
                _entry_ci(sf.interference.corr_dx, 2, 0),
                held_text(sf),
            ]
        )
    rows = [[metric, *(c[i] for c in cells)] for i, metric in enumerate(SUMMARY_METRICS)]
    return ("", *fit.strategies), rows


def phi_text(sf: StrategyFit) -> str:
    """Each multiplier mu with the CI of its real part, e.g. "0.02 [-0.10, 0.14], -0.31 [-0.42, -0.20]"."""
    phi = sf.phi_eigenvalues
    if phi is None:
        return "-"
    parts = []
    for k in range(phi.value.shape[0]):
        re = Estimate(phi.value[k, 0], phi.lo[k, 0], phi.hi[k, 0])
        im = float(phi.value[k, 1])
        parts.append(fmt_ci(re) + (f" {'+' if im >= 0 else '-'} {fmt(abs(im))}i" if abs(im) >= 5e-4 else ""))
    return ", ".join(parts)


def held_text(sf: StrategyFit) -> str:
    """E.g. "security = 10" or "functionality missing"; "-" when every objective was fitted."""
    if not sf.held:
        return "-"
    return ", ".join(f"{k} missing" if v is None else f"{k} = {fmt(v, 2)}" for k, v in sf.held.items())


def skipped_rows(fit: SdeFit) -> list[tuple[str, str]]:
    """(strategy, reason) for every strategy the fit could not fit."""
    return list(fit.skipped.items())


def strategy_rows(sf: StrategyFit) -> list[tuple[str, str]]:
    """Key/value rows of one strategy: interference views, baselines and diagnostics."""
    itf = sf.interference
    out: list[tuple[str, str]] = [("Corr(dE, dS) [CI]", _entry_ci(itf.corr_dx, 1, 0))]
    for i in range(3):
        for j in range(3):
            if i != j:
                out.append(
                    (
                        f"A_{_ABBR[i]}{_ABBR[j]} (/|A_{_ABBR[i]}{_ABBR[i]}|)",
                        f"{_entry_ci(itf.coupling, i, j, 3)} ({fmt(itf.coupling_normalised.value[i, j])})",
                    )
                )
    out += [
        (
            "noise corr F-E / F-S / E-S",
            " / ".join(fmt(itf.noise_corr.value[i, j]) for i, j in ((2, 1), (2, 0), (1, 0))),
        ),
        ("sigma [S, E, F]", _vector(sf.sigma.value)),
        ("R2 held-out per objective", _vector(sf.r2["held_out"].per_objective.value)),
        (
            "R2 held-out: model / " + " / ".join(k.replace("_", " ") for k in sf.baselines),
            " / ".join(
                fmt(r.overall.value) for r in (sf.r2["held_out"], *(b["one_step"] for b in sf.baselines.values()))
            ),
        ),
        (
            "R2 multi-step: model / " + " / ".join(k.replace("_", " ") for k in sf.baselines),
            " / ".join(
                fmt(r.overall.value) for r in (sf.r2["multi_step"], *(b["multi_step"] for b in sf.baselines.values()))
            ),
        ),
        ("half-life continuous ln 2 / (rho dt)", fmt_ci(sf.half_life_continuous, 1)),
        ("residual lag-1 autocorr", _vector(sf.diagnostics.residual_autocorr)),
        (
            "residual normality p (JB)",
            "[" + ", ".join(fmt(p, 3) for _, p in sf.diagnostics.residual_normality) + "]",
        ),
        (
            "states on 0/10",
            "[" + ", ".join(f"{fmt(100 * f, 0)}%" for f in sf.diagnostics.boundary_fraction) + "]",
        ),
        ("design condition number", fmt(sf.diagnostics.condition_number, 1)),
        (
            "collinearity (standardised levels)",
            fmt(sf.diagnostics.collinearity_condition, 1)
            + (f": {', '.join(sf.diagnostics.collinear)}" if sf.diagnostics.collinear else ""),
        ),
        ("bootstrap resamples used", f"{sf.diagnostics.bootstrap_valid}/{sf.diagnostics.bootstrap_total}"),
    ]
    out += [("note", n) for n in sf.notes]
    return out


def _entry_ci(e: Estimate, i: int, j: int, digits: int = 2) -> str:
    return fmt_ci(Estimate(e.value[i, j], e.lo[i, j], e.hi[i, j]), digits)


def comparison_rows(fit: SdeFit) -> tuple[tuple[str, ...], list[list[str]]]:
    """Columns and rows of the model-comparison table; the fitted model is marked with '*'."""
    chosen = fit.meta.get("model")
    rows = [
        [
            m.model + (" *" if m.model == chosen else ""),
            str(m.n_params),
            fmt(m.loglik, 1),
            fmt(m.aic, 1),
            fmt(m.bic, 1),
            fmt(m.heldout_loglik, 3),
            m.note or "-",
        ]
        for m in fit.model_comparison
    ]
    return COMPARISON_COLUMNS, rows


def calibration_rows(result: CalibrationResult) -> tuple[tuple[str, ...], list[list[str]]]:
    """Columns and one row per (strategy, parameter) of a calibration: the worst bias, the mean RMSE and the
    mean and worst CI coverage over the parameter's elements."""
    import numpy as np

    rows = [
        [
            name,
            key,
            fmt(float(np.max(np.abs(c.bias))), 4),
            fmt(float(np.mean(c.rmse)), 4),
            f"{fmt(100 * float(np.mean(c.coverage)), 1)}%",
            f"{fmt(100 * float(np.min(c.coverage)), 1)}%",
        ]
        for name, params in result.strategies.items()
        for key, c in params.items()
    ]
    return CALIBRATION_COLUMNS, rows
