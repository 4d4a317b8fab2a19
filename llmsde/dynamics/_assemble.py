"""Turn one strategy's regression (point and bootstrap coefficients) into a :class:`StrategyFit`.

Every reported figure is computed by the same vectorised function for the point estimate (batch of one) and
for
the B resamples, so a CI is always an interval of exactly the figure that is reported. For BCa intervals the
resample weights carry n extra rows after the B resamples: the leave-one-session-out jackknife (``Settings.n_boot``
says where the split is), so the jackknife values of every figure come from the same vectorised path.
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from llmsde.dynamics import _flags as flags
from llmsde.dynamics import diagnostics as diag
from llmsde.dynamics import interference as itf
from llmsde.dynamics import stability as stab
from llmsde.dynamics._estimate import Estimate
from llmsde.dynamics._held import held_json, moving_mask
from llmsde.dynamics._linear import (
    Array,
    SessionStats,
    Transitions,
    drift_from_beta,
    r2_from_sums,
    residual_cross,
    weighted,
)
from llmsde.dynamics._spectrum import spectrum
from llmsde.dynamics.exact import from_var
from llmsde.dynamics.results import OBJECTIVE_NAMES, R2, Diagnostics, Interference, StrategyFit
from llmsde.dynamics.validate import PREDICTORS, HeldOut, r2_multi_step, r2_one_step
from llmsde.errors import LlmsdeWarning


class Settings(NamedTuple):
    """Estimator settings the assembly needs."""

    dt: float
    ci_level: float
    method: str
    model: str
    n_regressors: int
    ci: str = "percentile"
    """Interval method (:data:`llmsde.dynamics._estimate.CI_METHODS`)."""
    n_boot: int = 0
    """Bootstrap rows of the draws; rows after them are jackknife values (BCa only)."""


class Params(NamedTuple):
    """Continuous-time parameters for a batch (leading axes)."""

    a: Array
    b: Array
    sigma: Array
    ok: NDArray[np.bool_]


def continuous(beta: Array, stats: SessionStats, group: int | None, s: Settings) -> tuple[Params, bool]:
    """(A, b, Sigma) from coefficients; with method=exact also whether the real logarithm exists."""
    a_d, b_d = drift_from_beta(beta, group)
    q = residual_cross(stats, beta) / np.maximum(stats.n - s.n_regressors, 1.0)[..., None, None]
    ok = np.asarray(np.isfinite(a_d).all(axis=(-2, -1)), dtype=bool)
    if s.method == "exact":
        ex = from_var(np.eye(3) + a_d, b_d, q, s.dt)
        return Params(ex.a, ex.b, ex.sigma, ok & ex.real_log), bool(np.all(ex.real_log))
    return Params(a_d / s.dt, b_d / s.dt, q / s.dt, ok), True


def _est(value: Array, draws: Array | None, s: Settings) -> Estimate:
    if draws is None:
        return Estimate.point(value)
    jack = draws[s.n_boot :] if len(draws) > s.n_boot else None
    return Estimate.from_draws(value, draws[: s.n_boot], s.ci_level, s.ci, jack)


def _r2_block(per: Array, overall: Array, per_b: Array | None, overall_b: Array | None, s: Settings) -> R2:
    return R2(_est(per, per_b, s), _est(overall, overall_b, s))


def assemble(
    label: str,
    x: Array,
    tr: Transitions,
    stats: SessionStats,
    beta: Array,
    beta_boot: Array | None,
    w: Array | None,
    held: HeldOut,
    group: int | None,
    s: Settings,
    held_obj: dict[int, float] | None = None,
    notes_in: tuple[str, ...] = (),
    moved: frozenset[int] = frozenset(),
) -> StrategyFit:
    """Build the fit of one strategy from its sessions' data, its coefficients and held-out errors.

    ``held_obj`` (objective index -> constant, NaN when missing) are the objectives left out of the regression:
    the spectrum, equilibrium and stability are those of the moving sub-system. ``moved``: held objectives that
    change outside the regressor states (their A, b and Sigma entries are NaN, not 0).
    """
    held_obj = held_obj or {}
    mov = np.flatnonzero(moving_mask(held_obj))
    notes: list[str] = list(notes_in)
    requested = s.method
    ones = np.ones(len(x))
    tot = weighted(stats, ones)
    point, real_log = continuous(beta, tot, group, s)
    method = s.method
    if not real_log:
        notes.append("exact: logm(Phi) is not real (Phi has an eigenvalue <= 0); Euler-Maruyama estimates shown")
        warnings.warn(f"strategy {label!r}: {notes[-1]}", LlmsdeWarning, stacklevel=4)
        s = s._replace(method="em")
        point, _ = continuous(beta, tot, group, s)
        method = "em"
    point = _hold(point, held_obj, moved)
    boot = None
    bsum = None
    if beta_boot is not None and w is not None:
        bsum = weighted(stats, w)
        boot = _hold(continuous(beta_boot, bsum, group, s)[0], held_obj, moved)
    sub = (..., mov[:, None], mov[None, :])

    def est(value: Array, draws: Array | None) -> Estimate:
        return _est(value, draws, s)

    spec = spectrum(
        point.a[sub], None if boot is None else boot.a[sub], None if boot is None else boot.ok, s.dt, method, est
    )
    notes += spec.notes
    eq, eq_ok = _equilibrium(point, mov, held_obj)
    equilibrium = None
    if not bool(eq_ok):
        notes.append("A is singular: no unique equilibrium x* = -A^-1 b")
    else:
        eq_b = _equilibrium(boot, mov, held_obj)[0] if boot is not None else None
        equilibrium = _est(eq, eq_b, s)
    off, norm = itf.coupling(point.a)
    off_b, norm_b = itf.coupling(boot.a) if boot is not None else (None, None)

    def sd(sig: Array) -> Array:
        return np.sqrt(np.clip(np.diagonal(sig, axis1=-2, axis2=-1), 0.0, None))

    interference = Interference(
        corr_dx=_est(itf.corr_dx(tot.yy, tot.ysum, tot.n), _opt(bsum, lambda t: itf.corr_dx(t.yy, t.ysum, t.n)), s),
        coupling=_est(off, off_b, s),
        coupling_normalised=_est(norm, norm_b, s),
        noise_corr=_est(itf.noise_corr(point.sigma), None if boot is None else itf.noise_corr(boot.sigma), s),
    )
    r2 = {"in_sample": _in_sample_r2(tot, beta, bsum, beta_boot, s)}
    one, one_all = r2_one_step(held, stats, ones)
    multi, multi_all = r2_multi_step(held, ones)
    one_b = r2_one_step(held, stats, w) if w is not None else (None, None)
    multi_b = r2_multi_step(held, w) if w is not None else (None, None)
    blocks: dict[str, dict[str, R2]] = {}
    for p_i, name in enumerate(PREDICTORS):
        blocks[name] = {
            "one_step": _r2_block(one[p_i], one_all[p_i], _pick(one_b[0], p_i), _pick1(one_b[1], p_i), s),
            "multi_step": _r2_block(multi[p_i], multi_all[p_i], _pick(multi_b[0], p_i), _pick1(multi_b[1], p_i), s),
        }
    r2["held_out"] = blocks["model"]["one_step"]
    r2["multi_step"] = blocks["model"]["multi_step"]
    resid = np.where(tr.valid[..., None], tr.dx - tr.features @ beta, np.nan)
    feats = [*mov.tolist(), 3 + (group or 0)]
    n_valid_boot = 0 if boot is None else int(boot.ok[: s.n_boot].sum())
    first = x[np.arange(len(x)), np.isfinite(x).all(axis=2).argmax(axis=1)]
    used = x[:, :-1][tr.valid]
    coll_cond, collinear = flags.collinearity(used[:, mov], [OBJECTIVE_NAMES[j] for j in mov])
    diagnostics = Diagnostics(
        n_transitions=int(tr.valid.sum()),
        n_dropped=_dropped(x),
        residual_normality=diag.normality(resid[tr.valid]),
        residual_autocorr=diag.lag1_autocorr(np.nan_to_num(resid), tr.valid),
        boundary_fraction=tuple(
            math.nan if math.isnan(held_obj.get(j, 0.0)) else f for j, f in enumerate(diag.boundary_fraction(x))
        ),
        condition_number=diag.condition_number(tot.zz[np.ix_(feats, feats)]),
        bootstrap_valid=n_valid_boot,
        bootstrap_total=0 if boot is None else s.n_boot,
        exact_log_real=None if requested == "em" else real_log,
        collinearity_condition=coll_cond,
        collinear=collinear,
    )
    n_sessions = int(tr.valid.any(axis=1).sum())
    notes += flags.flag(label, diagnostics, held_obj, equilibrium, n_sessions, boot is not None)
    x0 = np.nanmean(first, axis=0)
    for j, v in held_obj.items():
        x0[j] = v
    return StrategyFit(
        label=label,
        n_sessions=n_sessions,
        n_transitions=diagnostics.n_transitions,
        n_dropped=diagnostics.n_dropped,
        A=_est(point.a, None if boot is None else boot.a, s),
        b=_est(point.b, None if boot is None else boot.b, s),
        Sigma=_est(point.sigma, None if boot is None else boot.sigma, s),
        sigma=_est(sd(point.sigma), None if boot is None else sd(boot.sigma), s),
        eigenvalues=spec.eigenvalues,
        rho=spec.rho,
        fastest_rate=spec.fastest,
        half_life=spec.half_life,
        discrete_modulus=spec.modulus,
        mode=spec.mode,
        stable=spec.stable,
        equilibrium=equilibrium,
        interference=interference,
        r2=r2,
        baselines={k: blocks[k] for k in PREDICTORS[1:]},
        diagnostics=diagnostics,
        x0_mean=(float(x0[0]), float(x0[1]), float(x0[2])),
        model=s.model,
        method=method,
        notes=tuple(notes),
        held=held_json(held_obj),
        phi_eigenvalues=spec.phi_eigenvalues,
        half_life_continuous=spec.half_life_continuous,
    )


def _opt(v: object, f: object) -> Array | None:
    return None if v is None else f(v)  # type: ignore[operator]


def _pick(a: Array | None, i: int) -> Array | None:
    """Predictor ``i`` of per-objective held-out R^2 draws of shape (B, 3 predictors, 3 objectives)."""
    return None if a is None else a[:, i, :]


def _pick1(a: Array | None, i: int) -> Array | None:
    """Predictor ``i`` of overall held-out R^2 draws of shape (B, 3 predictors)."""
    return None if a is None else a[:, i]


def _in_sample_r2(tot: SessionStats, beta: Array, bsum: SessionStats | None, beta_b: Array | None, s: Settings) -> R2:
    def r2(stats: SessionStats, bt: Array) -> tuple[Array, Array]:
        ssr = np.diagonal(residual_cross(stats, bt), axis1=-2, axis2=-1)
        return r2_from_sums(ssr, np.diagonal(stats.yy, axis1=-2, axis2=-1), stats.ysum, stats.n)

    per, overall = r2(tot, beta)
    if bsum is None or beta_b is None:
        return _r2_block(per, overall, None, None, s)
    per_b, overall_b = r2(bsum, beta_b)
    return _r2_block(per, overall, per_b, overall_b, s)


def _dropped(x: Array) -> int:
    """Transitions with a NaN between a session's first and last observed states (leading and trailing
    all-NaN states are padding: a session that starts at k = 1 or ends early drops nothing)."""
    present = np.asarray(~np.isnan(x).all(axis=2), dtype=bool)
    last = np.where(present.any(axis=1), x.shape[1] - 1 - present[:, ::-1].argmax(axis=1), -1)
    first = np.where(present.any(axis=1), present.argmax(axis=1), x.shape[1])
    steps = np.arange(x.shape[1] - 1)
    inside = (steps[None, :] >= first[:, None]) & (steps[None, :] < last[:, None])
    bad = ~(np.isfinite(x[:, :-1]).all(axis=2) & np.isfinite(x[:, 1:]).all(axis=2))
    return int((bad & inside).sum())


def _hold(p: Params, held_obj: dict[int, float], moved: frozenset[int] = frozenset()) -> Params:
    """Held objectives' rows and columns of A and Sigma and entries of b: exactly 0, or NaN when missing or when
    the objective changes outside the regressor states (``moved``: not estimated)."""
    if not held_obj:
        return p
    a, b, sigma = p.a.copy(), p.b.copy(), p.sigma.copy()
    for j, v in held_obj.items():
        fill = math.nan if math.isnan(v) or j in moved else 0.0
        a[..., j, :] = fill
        a[..., :, j] = fill
        sigma[..., j, :] = fill
        sigma[..., :, j] = fill
        b[..., j] = fill
    return Params(a, b, sigma, p.ok)


def _equilibrium(p: Params, mov: NDArray[np.int64], held_obj: dict[int, float]) -> tuple[Array, NDArray[np.bool_]]:
    """x* of the moving sub-system, with each held objective at its constant (NaN when missing)."""
    eq_m, ok = stab.equilibrium(p.a[..., mov[:, None], mov[None, :]], p.b[..., mov])
    eq = np.empty((*p.b.shape[:-1], 3))
    eq[..., mov] = eq_m
    for j, v in held_obj.items():
        eq[..., j] = v
    return eq, ok
