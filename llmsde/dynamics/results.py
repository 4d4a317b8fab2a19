"""Frozen, serialisable results of a fit: :class:`SdeFit` holds one :class:`StrategyFit` per strategy label.

``SdeFit.to_dict()`` is the fit.json schema (``schema_version`` 3): strict JSON, every figure with a CI written
as ``{"value": ..., "ci": [lo, hi]}``, eigenvalues as ``[re, im]`` pairs. ``from_dict`` reads it back, so
``simulate`` and reports work from the file without refitting. docs/fit.md defines every figure.

Version 2 (held objectives, skipped strategies) added ``held`` per strategy and ``skipped`` at the top, and made
``eigenvalues`` and ``discrete_modulus`` list only the moving sub-system's modes (fewer than 3 when an objective
is held). Version 3 made ``half_life`` the discrete half-life of the mean path (null = infinite) and added
``phi_eigenvalues``, ``half_life_continuous``, the ``static_mean`` baseline, the collinearity diagnostics and
each model-comparison row's ``note``. Versions 1 and 2 are still read (missing fields take their defaults).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from llmsde.dynamics._estimate import Estimate, to_json
from llmsde.dynamics.censored_results import Breakage, CensoredFit

SCHEMA_VERSION = 3
"""Version of the fit.json layout; bump on any incompatible change."""
READABLE_VERSIONS = (1, 2, 3)
"""Versions :meth:`SdeFit.from_dict` reads (1 is 2 without ``held`` and ``skipped``; 2 is 3 with the continuous
half-life in ``half_life`` and without the version-3 additions)."""
OBJECTIVE_NAMES: tuple[str, str, str] = ("security", "efficiency", "functionality")


@dataclass(frozen=True, eq=False)
class R2:
    """R^2 per objective (shape (3,)) and overall (pooled sums of squares)."""

    per_objective: Estimate
    overall: Estimate

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"per_objective": self.per_objective.to_dict(), "overall": self.overall.to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> R2:
        """Inverse of :meth:`to_dict`."""
        return cls(Estimate.from_dict(d["per_objective"]), Estimate.from_dict(d["overall"]))


@dataclass(frozen=True, eq=False)
class Interference:
    """The three interference views (docs/fit.md), each a (3, 3) estimate with a zero diagonal."""

    corr_dx: Estimate
    """(a) Corr(dx_i, dx_j), the published definition."""
    coupling: Estimate
    """(b) drift coupling A_ij, i != j."""
    coupling_normalised: Estimate
    """(b) A_ij / |A_ii|."""
    noise_corr: Estimate
    """(c) correlation of the diffusion Sigma."""

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {k: getattr(self, k).to_dict() for k in _INTERFERENCE_KEYS}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Interference:
        """Inverse of :meth:`to_dict`."""
        return cls(*(Estimate.from_dict(d[k]) for k in _INTERFERENCE_KEYS))


_INTERFERENCE_KEYS = ("corr_dx", "coupling", "coupling_normalised", "noise_corr")


@dataclass(frozen=True)
class Diagnostics:
    """Checks of the fit's assumptions and of the data it used."""

    n_transitions: int
    n_dropped: int
    """Transitions with a missing (NaN) value in either state, dropped before fitting."""
    residual_normality: tuple[tuple[float, float], ...]
    """(Jarque-Bera statistic, p-value) per objective."""
    residual_autocorr: tuple[float, ...]
    """Lag-1 autocorrelation of residuals within sessions, per objective (0 if the model is adequate)."""
    boundary_fraction: tuple[float, ...]
    """Share of states at 0 or 10 per objective; the linear SDE ignores that the scores are bounded."""
    condition_number: float
    """Condition number of the design matrix [x_k, 1]."""
    bootstrap_valid: int
    """Resamples that gave a non-singular fit (the others are left out of the CIs)."""
    bootstrap_total: int
    exact_log_real: bool | None = None
    """method=exact: whether logm(Phi) is real (None for method=em)."""
    collinearity_condition: float = math.nan
    """Condition number of the correlation matrix of the moving objectives' regressor levels (NaN: not recorded)."""
    collinear: tuple[str, ...] = ()
    """Objectives flagged as nearly collinear (empty when the condition number is below the threshold)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "n_transitions": self.n_transitions,
            "n_dropped": self.n_dropped,
            "residual_normality": [
                {"statistic": to_json(s), "p_value": to_json(p)} for s, p in self.residual_normality
            ],
            "residual_autocorr": to_json(self.residual_autocorr),
            "boundary_fraction": to_json(self.boundary_fraction),
            "condition_number": to_json(self.condition_number),
            "bootstrap_valid": self.bootstrap_valid,
            "bootstrap_total": self.bootstrap_total,
            "exact_log_real": self.exact_log_real,
            "collinearity_condition": to_json(self.collinearity_condition),
            "collinear": list(self.collinear),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Diagnostics:
        """Inverse of :meth:`to_dict`."""

        def f(v: Any) -> float:
            return math.nan if v is None else float(v)

        return cls(
            n_transitions=int(d["n_transitions"]),
            n_dropped=int(d["n_dropped"]),
            residual_normality=tuple((f(r["statistic"]), f(r["p_value"])) for r in d["residual_normality"]),
            residual_autocorr=tuple(f(v) for v in d["residual_autocorr"]),
            boundary_fraction=tuple(f(v) for v in d["boundary_fraction"]),
            condition_number=f(d["condition_number"]),
            bootstrap_valid=int(d["bootstrap_valid"]),
            bootstrap_total=int(d["bootstrap_total"]),
            exact_log_real=d.get("exact_log_real"),
            collinearity_condition=f(d.get("collinearity_condition")),
            collinear=tuple(str(n) for n in d.get("collinear", ())),
        )


@dataclass(frozen=True, eq=False)
class StrategyFit:
    """The fitted linear SDE dx = (A x + b) dt + Sigma^1/2 dW of one strategy, with CIs and checks."""

    label: str
    n_sessions: int
    n_transitions: int
    n_dropped: int
    A: Estimate
    """Drift matrix, shape (3, 3); A[i, j] is the effect of objective j's level on objective i's change.

    A held objective's row and column are 0 (constant) or NaN (missing); see ``held``."""
    b: Estimate
    """Drift intercept, shape (3,)."""
    Sigma: Estimate
    """Diffusion covariance per unit time, shape (3, 3)."""
    sigma: Estimate
    """sqrt(diag Sigma), shape (3,)."""
    eigenvalues: Estimate
    """Eigenvalues of A's moving sub-system as [re, im] rows, shape (m, 2) with m = 3 - len(held) moving
    objectives, real part descending (slowest mode first); a held objective adds no mode."""
    rho: Estimate
    """Convergence rate -max Re(lambda)."""
    fastest_rate: Estimate
    half_life: Estimate
    """Iterations for the mean path's slowest mode to halve, ln 2 / -ln max|mu| (mu: eigenvalues of the step
    map Phi); inf (null in fit.json) when max|mu| >= 1, and a CI end is inf when resamples do not contract.
    Schema 1-2 files hold ln 2 / rho here."""
    discrete_modulus: Estimate
    """|mu| per eigenvalue, shape (m,): |1 + lambda dt| for ``em``, |exp(lambda dt)| for ``exact``."""
    mode: str
    """``marginal``, ``oscillatory``, ``alternating`` or ``exponential``, decided from the CIs (docs/fit.md)."""
    stable: bool
    """All |mu| < 1 at the point estimate."""
    equilibrium: Estimate | None
    """x* = -A^-1 b, shape (3,), from the moving sub-system (a held objective's entry is its constant, NaN when
    missing); None when that sub-system's A is singular (see ``notes``)."""
    interference: Interference
    r2: dict[str, R2]
    """``in_sample``, ``held_out`` (one-step, k-fold by session) and ``multi_step`` (mean path, held out)."""
    baselines: dict[str, dict[str, R2]]
    """Held-out R^2 of the ``no_change``, ``mean_change`` and ``static_mean`` (A = -I, no memory) predictors,
    ``one_step`` and ``multi_step`` (``static_mean`` is absent from schema 1-2 files)."""
    diagnostics: Diagnostics
    x0_mean: tuple[float, float, float]
    """Mean initial state of the strategy's sessions (default start of ``simulate``)."""
    model: str = "full"
    method: str = "em"
    notes: tuple[str, ...] = field(default_factory=tuple)
    held: dict[str, float | None] = field(default_factory=dict)
    """Objectives held out of this strategy's regression -> their constant (None when never observed)."""
    phi_eigenvalues: Estimate | None = None
    """Eigenvalues mu of the step map Phi (I + A dt for ``em``, exp(A dt) for ``exact``) as [re, im] rows,
    shape (m, 2), matched to ``eigenvalues``; mu near 0 means no memory (None in schema 1-2 files)."""
    half_life_continuous: Estimate = field(default_factory=lambda: Estimate.point(math.nan))
    """ln 2 / (rho dt) in iterations, the continuous-time reading; inf when rho <= 0 (NaN in schema 1-2)."""

    @property
    def moving(self) -> tuple[int, ...]:
        """Indices of the fitted (not held) objectives."""
        return tuple(j for j, name in enumerate(OBJECTIVE_NAMES) if name not in self.held)

    @property
    def eigenvalues_complex(self) -> np.ndarray[Any, np.dtype[np.complex128]]:
        """Point eigenvalues as complex numbers, shape (m,)."""
        v = self.eigenvalues.value
        return np.asarray(v[:, 0] + 1j * v[:, 1], dtype=np.complex128)

    def to_dict(self) -> dict[str, Any]:
        """The strategy's entry of fit.json."""
        out: dict[str, Any] = {"label": self.label, "model": self.model, "method": self.method}
        out.update(n_sessions=self.n_sessions, n_transitions=self.n_transitions, n_dropped=self.n_dropped)
        for key in _ESTIMATE_KEYS:
            out[key] = getattr(self, key).to_dict()
        out["mode"] = self.mode
        out["stable"] = self.stable
        out["equilibrium"] = None if self.equilibrium is None else self.equilibrium.to_dict()
        out["interference"] = self.interference.to_dict()
        out["r2"] = {k: v.to_dict() for k, v in self.r2.items()}
        out["baselines"] = {k: {h: r.to_dict() for h, r in v.items()} for k, v in self.baselines.items()}
        out["diagnostics"] = self.diagnostics.to_dict()
        out["x0_mean"] = to_json(self.x0_mean)
        out["notes"] = list(self.notes)
        out["held"] = dict(self.held)
        out["phi_eigenvalues"] = None if self.phi_eigenvalues is None else self.phi_eigenvalues.to_dict()
        out["half_life_continuous"] = self.half_life_continuous.to_dict()
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StrategyFit:
        """Inverse of :meth:`to_dict`."""
        est = {k: Estimate.from_dict(d[k]) for k in _ESTIMATE_KEYS}
        has_ci = int(d["diagnostics"].get("bootstrap_total", 0)) > 0
        if "half_life_continuous" in d:
            est["half_life"] = _half_life(d["half_life"], has_ci)
        phi = d.get("phi_eigenvalues")
        cont = d.get("half_life_continuous")
        x0 = [math.nan if v is None else float(v) for v in d["x0_mean"]]
        return cls(
            label=str(d["label"]),
            n_sessions=int(d["n_sessions"]),
            n_transitions=int(d["n_transitions"]),
            n_dropped=int(d["n_dropped"]),
            mode=str(d["mode"]),
            stable=bool(d["stable"]),
            equilibrium=None if d.get("equilibrium") is None else Estimate.from_dict(d["equilibrium"]),
            interference=Interference.from_dict(d["interference"]),
            r2={k: R2.from_dict(v) for k, v in d["r2"].items()},
            baselines={k: {h: R2.from_dict(r) for h, r in v.items()} for k, v in d["baselines"].items()},
            diagnostics=Diagnostics.from_dict(d["diagnostics"]),
            x0_mean=(x0[0], x0[1], x0[2]),
            model=str(d.get("model", "full")),
            method=str(d.get("method", "em")),
            notes=tuple(d.get("notes", ())),
            held={str(k): (None if v is None else float(v)) for k, v in d.get("held", {}).items()},
            phi_eigenvalues=None if phi is None else Estimate.from_dict(phi),
            half_life_continuous=Estimate.point(math.nan) if cont is None else _half_life(cont, has_ci),
            **est,
        )


def _half_life(d: dict[str, Any], has_ci: bool) -> Estimate:
    """A half-life from fit.json (schema 3): null is an infinite half-life, except a CI written without bootstrap."""
    e = Estimate.from_dict(d)
    inf = np.where(np.isnan(e.value), np.inf, e.value)
    if not has_ci:
        return Estimate(inf, e.lo, e.hi)
    return Estimate(inf, np.where(np.isnan(e.lo), np.inf, e.lo), np.where(np.isnan(e.hi), np.inf, e.hi))


_ESTIMATE_KEYS = (
    "A",
    "b",
    "Sigma",
    "sigma",
    "eigenvalues",
    "rho",
    "fastest_rate",
    "half_life",
    "discrete_modulus",
)


@dataclass(frozen=True)
class ModelScore:
    """One row of the model-comparison table (all strategies together)."""

    model: str
    n_params: int
    loglik: float
    """Gaussian log-likelihood of all transitions at the ML estimates."""
    aic: float
    bic: float
    heldout_loglik: float
    """Mean held-out log-likelihood per transition (k-fold by session); higher is better."""
    note: str = ""
    """Why the figures are NaN, or what the model fits beyond the scored objectives ("" when nothing to say)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "model": self.model,
            "n_params": self.n_params,
            **{k: to_json(getattr(self, k)) for k in ("loglik", "aic", "bic", "heldout_loglik")},
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelScore:
        """Inverse of :meth:`to_dict`."""

        def f(v: Any) -> float:
            return math.nan if v is None else float(v)

        return cls(
            str(d["model"]),
            int(d["n_params"]),
            f(d["loglik"]),
            f(d["aic"]),
            f(d["bic"]),
            f(d["heldout_loglik"]),
            str(d.get("note", "")),
        )


@dataclass(frozen=True, eq=False)
class SdeFit:
    """All strategies of one fit, the settings that produced it, and the model comparison."""

    strategies: dict[str, StrategyFit]
    meta: dict[str, Any]
    """dt, n_bootstrap, ci_level, folds, method, model, random_state, objectives."""
    model_comparison: tuple[ModelScore, ...] = ()
    schema_version: int = SCHEMA_VERSION
    skipped: dict[str, str] = field(default_factory=dict)
    """Strategies that could not be fitted -> why (too few sessions or transitions, every objective held...)."""
    censored: dict[str, CensoredFit] = field(default_factory=dict)
    """``--model censored``: the Tobit fit per strategy (:mod:`llmsde.dynamics.censored`); empty otherwise."""
    breakage: dict[str, Breakage] = field(default_factory=dict)
    """Break and repair rates per strategy (:mod:`llmsde.dynamics.breakage`); empty without broken states."""

    def to_dict(self) -> dict[str, Any]:
        """The fit.json document (strict JSON); ``censored`` and ``breakage`` only when present."""
        out = {
            "schema_version": self.schema_version,
            "meta": dict(self.meta),
            "strategies": {k: v.to_dict() for k, v in self.strategies.items()},
            "model_comparison": [m.to_dict() for m in self.model_comparison],
            "skipped": dict(self.skipped),
        }
        if self.censored:
            out["censored"] = {k: v.to_dict() for k, v in self.censored.items()}
        if self.breakage:
            out["breakage"] = {k: v.to_dict() for k, v in self.breakage.items()}
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SdeFit:
        """Read a fit.json document; another schema version is a ValueError (callers add the hint)."""
        version = int(d.get("schema_version", -1))
        if version not in READABLE_VERSIONS:
            raise ValueError(
                f"fit.json schema_version {version} is not supported (expected one of {READABLE_VERSIONS})"
            )
        return cls(
            strategies={k: StrategyFit.from_dict(v) for k, v in d["strategies"].items()},
            meta=dict(d.get("meta", {})),
            model_comparison=tuple(ModelScore.from_dict(m) for m in d.get("model_comparison", [])),
            schema_version=SCHEMA_VERSION,
            skipped={str(k): str(v) for k, v in d.get("skipped", {}).items()},
            censored={str(k): CensoredFit.from_dict(v) for k, v in d.get("censored", {}).items()},
            breakage={str(k): Breakage.from_dict(v) for k, v in d.get("breakage", {}).items()},
        )
