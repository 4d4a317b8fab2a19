"""Frozen, serialisable results of the censored (Tobit) SDE fit, first passage and breakage.

They sit beside the linear :class:`~llmsde.dynamics.StrategyFit` in :class:`~llmsde.dynamics.SdeFit`
(``censored`` and ``breakage``), written into fit.json with the same ``{"value": ..., "ci": [lo, hi]}`` form.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from llmsde.dynamics._estimate import Estimate, to_json


def _f(v: Any) -> float:
    return math.nan if v is None else float(v)


@dataclass(frozen=True, eq=False)
class FirstPassage:
    """P(score <= threshold by iteration k) and the iterations to first reach it, for one objective."""

    objective: str
    threshold: float
    prob_by_k: Estimate
    """ndarray of shape (horizon,): P(x <= threshold at some iteration 0..k), k = 1..horizon."""
    expected_iterations: Estimate
    """E[min(tau, long_horizon)], tau the first iteration with x <= threshold (0 when the start is there)."""
    reached_by_long: Estimate
    """P(tau <= long_horizon): below 1, ``expected_iterations`` is a lower bound."""
    long_horizon: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "objective": self.objective,
            "threshold": self.threshold,
            "prob_by_k": self.prob_by_k.to_dict(),
            "expected_iterations": self.expected_iterations.to_dict(),
            "reached_by_long": self.reached_by_long.to_dict(),
            "long_horizon": self.long_horizon,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FirstPassage:
        """Inverse of :meth:`to_dict`."""
        return cls(
            str(d["objective"]),
            float(d["threshold"]),
            Estimate.from_dict(d["prob_by_k"]),
            Estimate.from_dict(d["expected_iterations"]),
            Estimate.from_dict(d["reached_by_long"]),
            int(d["long_horizon"]),
        )


_CENSORED_ESTIMATES = (
    "A",
    "b",
    "Sigma",
    "sigma",
    "eigenvalues",
    "rho",
    "half_life",
    "discrete_modulus",
    "latent_equilibrium",
    "bound_share_model",
    "stationary_bound_share",
    "stationary_mean",
)


@dataclass(frozen=True, eq=False)
class CensoredFit:
    """The latent process z_{k+1} = x_k + A x_k + b + e, e ~ N(0, Sigma), observed x = clip(z, 0, 10)."""

    label: str
    n_sessions: int
    n_transitions: int
    A: Estimate
    """Latent drift, shape (3, 3) (held objectives' rows and columns 0, or NaN when missing)."""
    b: Estimate
    Sigma: Estimate
    """Latent noise covariance, shape (3, 3)."""
    sigma: Estimate
    eigenvalues: Estimate
    """Eigenvalues of A's moving block as [re, im] rows, real part descending."""
    rho: Estimate
    half_life: Estimate
    """ln 2 / rho of the latent process, in iterations (NaN when rho <= 0)."""
    discrete_modulus: Estimate
    latent_equilibrium: Estimate
    """-A^-1 b, shape (3,); may lie outside [0, 10] (see ``absorbed``)."""
    absorbed: tuple[str, ...]
    """Per objective: "" inside the bounds, "absorbed at 0" or "absorbed at 10" when the latent equilibrium's
    point estimate lies beyond that bound (the observed score then piles up there)."""
    bound_share_data: tuple[tuple[float, float], ...]
    """Per objective (share on 0, share on 10) of the observed states k >= 1 used in the fit."""
    bound_share_model: Estimate
    """Shape (3, 2): the same shares simulated from the observed starting states over the same iterations."""
    stationary_bound_share: Estimate
    """Shape (3, 2): long-run shares on (0, 10) of the observed (clipped) process, by simulation."""
    stationary_mean: Estimate
    """Shape (3,): long-run expected observed score, by simulation."""
    r2_held_out: dict[str, tuple[float, ...]]
    """One-step held-out R^2 of dx (k-fold by session), per objective then overall: ``censored`` (prediction
    E[clip(z)]) and ``linear`` (OLS prediction), computed on the same folds so they compare."""
    loglik_held_out: dict[str, float]
    """Mean held-out log-likelihood per transition of the observed scores (density inside, mass on a bound,
    summed over objectives), for ``censored`` and ``linear`` (the OLS fit read through the same clipping)."""
    first_passage: tuple[FirstPassage, ...]
    x0_mean: tuple[float, float, float]
    held: dict[str, float | None] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    bootstrap_valid: int = 0
    bootstrap_total: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The strategy's entry of fit.json's ``censored`` block."""
        out: dict[str, Any] = {"label": self.label, "n_sessions": self.n_sessions, "n_transitions": self.n_transitions}
        for key in _CENSORED_ESTIMATES:
            out[key] = getattr(self, key).to_dict()
        out["absorbed"] = list(self.absorbed)
        out["bound_share_data"] = [to_json(list(p)) for p in self.bound_share_data]
        out["r2_held_out"] = {k: to_json(list(v)) for k, v in self.r2_held_out.items()}
        out["loglik_held_out"] = {k: to_json(v) for k, v in self.loglik_held_out.items()}
        out["first_passage"] = [f.to_dict() for f in self.first_passage]
        out["x0_mean"] = to_json(list(self.x0_mean))
        out["held"] = dict(self.held)
        out["notes"] = list(self.notes)
        out["bootstrap_valid"] = self.bootstrap_valid
        out["bootstrap_total"] = self.bootstrap_total
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CensoredFit:
        """Inverse of :meth:`to_dict`."""
        est = {k: Estimate.from_dict(d[k]) for k in _CENSORED_ESTIMATES}
        x0 = [_f(v) for v in d["x0_mean"]]
        return cls(
            label=str(d["label"]),
            n_sessions=int(d["n_sessions"]),
            n_transitions=int(d["n_transitions"]),
            absorbed=tuple(str(a) for a in d["absorbed"]),
            bound_share_data=tuple((_f(p[0]), _f(p[1])) for p in d["bound_share_data"]),
            r2_held_out={str(k): tuple(_f(v) for v in vals) for k, vals in d["r2_held_out"].items()},
            loglik_held_out={str(k): _f(v) for k, v in d["loglik_held_out"].items()},
            first_passage=tuple(FirstPassage.from_dict(f) for f in d.get("first_passage", [])),
            x0_mean=(x0[0], x0[1], x0[2]),
            held={str(k): (None if v is None else float(v)) for k, v in d.get("held", {}).items()},
            notes=tuple(d.get("notes", ())),
            bootstrap_valid=int(d.get("bootstrap_valid", 0)),
            bootstrap_total=int(d.get("bootstrap_total", 0)),
            **est,
        )


@dataclass(frozen=True, eq=False)
class Logistic:
    """P(break at k+1 | working state x_k) = 1 / (1 + exp(-(c + beta . x_k))), against the constant rate."""

    coef: tuple[float, ...]
    """(intercept, security, efficiency, functionality); an objective missing in working states is left out
    (coefficient None in JSON)."""
    lr_statistic: float
    df: int
    p_value: float

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"coef": to_json(list(self.coef)), "lr_statistic": to_json(self.lr_statistic), "df": self.df,
                "p_value": to_json(self.p_value)}  # fmt: skip

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Logistic:
        """Inverse of :meth:`to_dict`."""
        return cls(tuple(_f(v) for v in d["coef"]), _f(d["lr_statistic"]), int(d["df"]), _f(d["p_value"]))


@dataclass(frozen=True, eq=False)
class Breakage:
    """Breaking and repair of code as events of the dynamics, for one strategy."""

    label: str
    break_rate: Estimate
    """P(broken at k+1 | working at k), with a session-bootstrap CI."""
    repair_rate: Estimate
    """P(working at k+1 | broken at k)."""
    n_working: int
    """Transitions out of a working state (the denominator of ``break_rate``)."""
    n_breaks: int
    n_broken: int
    """Transitions out of a broken state (the denominator of ``repair_rate``)."""
    n_repairs: int
    n_gap: int
    """Working -> broken ... -> working spans (repaired gaps); the Euler-Maruyama fits do not use them."""
    broken_share: float
    """Share of all observed states that are broken."""
    logistic: Logistic | None = None
    per_iteration: tuple[tuple[float, ...], ...] = ()
    """From a run's replies, one row per iteration k: (k, replies, share that parse, import, pass all tests,
    share of broken replies repaired at k + 1); empty for a panel file."""

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "label": self.label,
            "break_rate": self.break_rate.to_dict(),
            "repair_rate": self.repair_rate.to_dict(),
            "n_working": self.n_working,
            "n_breaks": self.n_breaks,
            "n_broken": self.n_broken,
            "n_repairs": self.n_repairs,
            "n_gap": self.n_gap,
            "broken_share": to_json(self.broken_share),
            "logistic": None if self.logistic is None else self.logistic.to_dict(),
            "per_iteration": [to_json(list(r)) for r in self.per_iteration],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Breakage:
        """Inverse of :meth:`to_dict`."""
        lg = d.get("logistic")
        return cls(
            str(d["label"]),
            Estimate.from_dict(d["break_rate"]),
            Estimate.from_dict(d["repair_rate"]),
            int(d["n_working"]),
            int(d["n_breaks"]),
            int(d["n_broken"]),
            int(d["n_repairs"]),
            int(d["n_gap"]),
            _f(d["broken_share"]),
            None if lg is None else Logistic.from_dict(lg),
            tuple(tuple(_f(v) for v in r) for r in d.get("per_iteration", [])),
        )
