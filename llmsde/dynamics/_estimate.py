"""A point estimate with its percentile confidence interval, and the JSON conventions of fit.json.

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
    """A figure (scalar or array) with its bootstrap percentile CI."""

    value: Array
    """The point estimate on the full data; any shape."""
    lo: Array
    """Lower CI bound, same shape as ``value`` (NaN when no valid resample)."""
    hi: Array
    """Upper CI bound, same shape as ``value``."""

    @classmethod
    def from_draws(cls, value: Any, draws: Any, level: float) -> Estimate:
        """Percentile CI at ``level`` from draws of shape (B, *value.shape); NaN draws are ignored."""
        val = np.asarray(value, dtype=np.float64)
        d = np.asarray(draws, dtype=np.float64).reshape(-1, *val.shape)
        alpha = (1.0 - level) / 2.0
        if d.shape[0] == 0 or not np.isfinite(d).any():
            nan = np.full(val.shape, np.nan)
            return cls(val, nan, nan.copy())
        with np.errstate(all="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                lo, hi = np.nanquantile(d, [alpha, 1.0 - alpha], axis=0)
        return cls(val, np.asarray(lo), np.asarray(hi))

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
