"""A point estimate with its bootstrap confidence interval, and the JSON conventions of fit.json.

Interval methods (``CI_METHODS``), all read from the same B resample draws of the figure:

- ``percentile``: the alpha/2 and 1 - alpha/2 quantiles of the draws (the default; docs/fit.md);
- ``basic`` (reverse percentile): 2 v - q(1 - alpha/2), 2 v - q(alpha/2);
- ``bca``: Efron's bias-corrected and accelerated percentile interval. The bias correction z0 is the normal
  quantile of the share of draws below the estimate; the acceleration comes from the jackknife over sessions
  (``jack``: the figure recomputed with each session left out). Without ``jack`` the acceleration is 0 (the
  bias-corrected percentile interval).

docs/fit.md compares their coverage in calibration and says why percentile stays the default.

fit.json is strict JSON: NaN and infinities become ``null``. A figure with a CI is ``{"value": v, "ci": [lo,
hi]}``;
for arrays ``v``, ``lo`` and ``hi`` are nested lists of the same shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
CI_METHODS = ("percentile", "basic", "bca")
"""Bootstrap interval methods of :meth:`Estimate.from_draws`."""


def to_json(a: Any) -> Any:
    """Nested lists of floats with NaN/inf as None (strict JSON), from a scalar or array."""
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim == 0:
        v = float(arr)
        return v if math.isfinite(v) else None
    return [to_json(x) for x in arr]


def from_json(v: Any) -> Array:
    """Inverse of :func:`to_json`: None back to NaN."""
    if v is None:
        return np.array(np.nan)
    if isinstance(v, list):
        return np.array([from_json(x) for x in v], dtype=np.float64)
    return np.array(float(v))


@dataclass(frozen=True, eq=False)
class Estimate:
    """A figure (scalar or array) with its bootstrap CI."""

    value: Array
    """The point estimate on the full data; any shape."""
    lo: Array
    """Lower CI bound, same shape as ``value`` (NaN when no valid resample)."""
    hi: Array
    """Upper CI bound, same shape as ``value``."""

    @classmethod
    def from_draws(cls, value: Any, draws: Any, level: float, method: str = "percentile", jack: Any = None) -> Estimate:
        """CI at ``level`` from draws of shape (B, *value.shape) by ``method``; NaN draws are ignored.

        ``jack`` (shape (n, *value.shape), NaN rows ignored) gives the BCa acceleration; see the module docstring.
        """
        val = np.asarray(value, dtype=np.float64)
        d = np.asarray(draws, dtype=np.float64).reshape(-1, *val.shape)
        if method not in CI_METHODS:
            raise ValueError(f"unknown CI method {method!r}; expected one of {CI_METHODS}")
        if d.shape[0] == 0 or not np.isfinite(d).any():
            nan = np.full(val.shape, np.nan)
            return cls(val, nan, nan.copy())
        alpha = (1.0 - level) / 2.0
        q_lo = np.full(val.shape, alpha)
        q_hi = np.full(val.shape, 1.0 - alpha)
        if method == "bca":
            q_lo, q_hi = bca_levels(val, d, alpha, None if jack is None else np.asarray(jack, dtype=np.float64))
        lo, hi = quantiles(d, q_lo), quantiles(d, q_hi)
        if method == "basic":
            lo, hi = 2.0 * val - hi, 2.0 * val - lo
        return cls(val, lo, hi)

    @classmethod
    def point(cls, value: Any) -> Estimate:
        """An estimate without a CI (both bounds NaN)."""
        val = np.asarray(value, dtype=np.float64)
        return cls(val, np.full(val.shape, np.nan), np.full(val.shape, np.nan))

    def covers(self, truth: Any) -> NDArray[np.bool_]:
        """Elementwise: does the CI contain ``truth``?"""
        t = np.asarray(truth, dtype=np.float64)
        return np.asarray((self.lo <= t) & (t <= self.hi))

    def to_dict(self) -> dict[str, Any]:
        """``{"value": v, "ci": [lo, hi]}`` with nulls for NaN."""
        return {"value": to_json(self.value), "ci": [to_json(self.lo), to_json(self.hi)]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Estimate:
        """Inverse of :meth:`to_dict`."""
        lo, hi = d.get("ci", [None, None])
        val = from_json(d["value"])
        lo_a = from_json(lo) if lo is not None else np.full(val.shape, np.nan)
        hi_a = from_json(hi) if hi is not None else np.full(val.shape, np.nan)
        return cls(val, lo_a, hi_a)


def quantiles(d: Array, q: Array) -> Array:
    """Per-element quantile ``q[i]`` of the finite draws ``d[:, i]`` (linear interpolation, as numpy's default);
    NaN where an element has no finite draw or ``q`` is NaN."""
    flat = d.reshape(d.shape[0], -1)
    qf = np.broadcast_to(np.asarray(q, dtype=np.float64), d.shape[1:]).reshape(-1)
    srt = np.sort(np.where(np.isfinite(flat), flat, np.inf), axis=0)
    n_f = np.isfinite(flat).sum(axis=0)
    pos = np.clip(qf, 0.0, 1.0) * np.maximum(n_f - 1, 0)
    pos = np.where(np.isfinite(pos), pos, 0.0)
    below = np.floor(pos).astype(np.int64)
    above = np.minimum(below + 1, np.maximum(n_f - 1, 0))
    cols = np.arange(flat.shape[1])
    lo_v, hi_v = srt[below, cols], srt[above, cols]
    frac = pos - below
    with np.errstate(invalid="ignore"):
        out = np.where(frac > 0, lo_v + frac * (hi_v - lo_v), lo_v)
    out = np.where((n_f > 0) & np.isfinite(qf), out, np.nan)
    return np.asarray(out.reshape(d.shape[1:]), dtype=np.float64)


def bca_levels(val: Array, d: Array, alpha: float, jack: Array | None) -> tuple[Array, Array]:
    """The BCa quantile levels (lower, upper) per element for nominal tails ``alpha`` each.

    z0 = Phi^-1(share of finite draws below the estimate, ties counted half), clipped to the resolution of B
    draws; acceleration a = sum(u^3) / (6 (sum(u^2))^1.5) with u = mean(jack) - jack (0 without ``jack`` or
    when the jackknife does not move). Elements without a finite estimate keep the percentile levels.
    """
    from scipy.special import ndtr, ndtri

    finite = np.isfinite(d)
    n_f = finite.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        below = np.where(finite, d < val, False).sum(axis=0) + 0.5 * np.where(finite, d == val, False).sum(axis=0)
        share = np.clip(below / np.maximum(n_f, 1), 0.5 / np.maximum(n_f, 1), 1.0 - 0.5 / np.maximum(n_f, 1))
    z0 = np.where(np.isfinite(val) & (n_f > 0), ndtri(share), 0.0)
    acc = np.zeros(val.shape)
    if jack is not None and jack.shape[0] > 1:
        j = jack.reshape(-1, *val.shape)
        ok = np.isfinite(j)
        cnt = ok.sum(axis=0)
        mean = np.where(ok, j, 0.0).sum(axis=0) / np.maximum(cnt, 1)
        u = np.where(ok, mean - np.where(ok, j, 0.0), 0.0)
        num, den = (u**3).sum(axis=0), (u**2).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            acc = np.where((den > 0) & (cnt > 1), num / (6.0 * np.where(den > 0, den, 1.0) ** 1.5), 0.0)
    z = ndtri(np.array([alpha, 1.0 - alpha]))
    levels = []
    for zq in z:
        t = z0 + zq
        with np.errstate(invalid="ignore", divide="ignore"):
            denom = 1.0 - acc * t
            lev = np.where(denom > 0, ndtr(z0 + t / np.where(denom > 0, denom, 1.0)), float(zq > 0))
        levels.append(np.asarray(lev, dtype=np.float64))
    return levels[0], levels[1]
