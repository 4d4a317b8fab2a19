"""Figures of the fitted matrices: the three interference views as heatmaps, and the drift spectrum.

Inputs are plain arrays of point estimates and CI bounds (NaN bounds = no bootstrap), so the figures never
need the fit classes and never re-fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from numpy.typing import NDArray

from llmsde.report._mpl import new_figure
from llmsde.report.palette import OBJECTIVE_SHORT, objective_color, strategy_colors
from llmsde.types import OBJECTIVES

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["VIEW_TITLES", "EigenData", "MatrixView", "eigen_figure", "interference_figure"]

Array = NDArray[np.float64]

VIEW_TITLES: dict[str, str] = {
    "corr_dx": "(a) Corr(dx_i, dx_j)",
    "coupling_normalised": "(b) drift coupling A_ij / |A_ii|",
    "noise_corr": "(c) noise correlation",
}
"""The three interference views (docs/fit.md), in the order drawn."""


class MatrixView(NamedTuple):
    """One heatmap: a (3, 3) estimate with its CI bounds (NaN when there is no bootstrap)."""

    value: Array
    lo: Array
    hi: Array


class EigenData(NamedTuple):
    """One strategy's eigenvalues with CIs on the real and imaginary parts."""

    label: str
    value: Array
    """ndarray of shape (3, 2): [re, im] rows."""
    lo: Array
    hi: Array


def _cell_text(v: float, lo: float, hi: float) -> str:
    if not np.isfinite(v):
        return "n/a"
    if np.isfinite(lo) and np.isfinite(hi):
        star = "*" if lo > 0 or hi < 0 else ""
        return f"{v:+.2f}{star}\n[{lo:+.2f}, {hi:+.2f}]"
    return f"{v:+.2f}"


def _style_ticks(ax: object) -> None:
    labels = [OBJECTIVE_SHORT[o] for o in OBJECTIVES]
    ax.set_xticks(range(3), labels)  # type: ignore[attr-defined]
    ax.set_yticks(range(3), labels)  # type: ignore[attr-defined]
    for tick, name in zip(ax.get_xticklabels(), OBJECTIVES, strict=True):  # type: ignore[attr-defined]
        tick.set_color(objective_color(name))
        tick.set_fontweight("bold")
    for tick, name in zip(ax.get_yticklabels(), OBJECTIVES, strict=True):  # type: ignore[attr-defined]
        tick.set_color(objective_color(name))
        tick.set_fontweight("bold")


def interference_figure(views: dict[str, dict[str, MatrixView]]) -> Figure:
    """Rows = strategies, columns = the three views; each cell shows the value and, with a bootstrap, its CI
    (a star marks a CI that excludes 0). ``views[strategy][view_key]``; rows i are affected, columns j act."""
    labels = list(views)
    fig, axes = new_figure(11.0, 3.3 * len(labels) + 0.8, nrows=len(labels), ncols=len(VIEW_TITLES))
    image = None
    for row, label in enumerate(labels):
        for col, (key, title) in enumerate(VIEW_TITLES.items()):
            ax = axes[row, col]
            view = views[label].get(key)
            if view is None:
                ax.set_axis_off()
                continue
            shown = np.where(np.eye(3, dtype=bool), np.nan, view.value)
            image = ax.imshow(np.clip(shown, -1.0, 1.0), cmap="RdBu_r", vmin=-1.0, vmax=1.0)
            for i in range(3):
                for j in range(3):
                    text = "" if i == j else _cell_text(view.value[i, j], view.lo[i, j], view.hi[i, j])
                    dark = abs(float(np.nan_to_num(view.value[i, j]))) > 0.6
                    ax.text(j, i, text, ha="center", va="center", fontsize=7.5, color="white" if dark else "black")
            _style_ticks(ax)
            ax.set_title(f"{label}: {title}", fontsize=9)
            if col == 0:
                ax.set_ylabel("affected objective i")
            ax.set_xlabel("acting objective j", fontsize=8)
    if image is not None:
        fig.colorbar(image, ax=axes, shrink=0.6, label="value (clipped to [-1, 1])")
    fig.suptitle("Interference between objectives (* = 95% CI excludes 0)", fontsize=12)
    return fig


def eigen_figure(data: Sequence[EigenData], dt: float = 1.0, method: str = "em") -> Figure:
    """Eigenvalues of A in the complex plane with CI whiskers, the continuous stability boundary Re = 0, and the
    region where the fitted discrete map is stable: for Euler-Maruyama (``em``) the disc |1 + lambda dt| < 1
    (centre -1/dt, radius 1/dt); for the exact discretisation the per-step multiplier is exp(lambda dt), stable
    exactly where Re(lambda) < 0, so the whole left half-plane is shaded."""
    fig, axes = new_figure(7.0, 5.6, nrows=1, ncols=1)
    ax = axes[0, 0]
    theta = np.linspace(0.0, 2.0 * np.pi, 400)
    radius = 1.0 / dt
    if method == "exact":
        ax.axvspan(-1e6, 0.0, color="#DDEEDD", alpha=0.6, label="discrete-stable: |exp(lambda dt)| < 1 (Re < 0)")
    else:
        ax.fill(
            -radius + radius * np.cos(theta),
            radius * np.sin(theta),
            color="#DDEEDD",
            alpha=0.6,
            label="discrete-stable: |1 + lambda dt| < 1",
        )
        ax.plot(-radius + radius * np.cos(theta), radius * np.sin(theta), color="#338833", linewidth=1.0)
    ax.axvline(0.0, color="#888888", linewidth=0.8, linestyle=":")
    ax.axhline(0.0, color="#888888", linewidth=0.8, linestyle=":")
    colors = strategy_colors([d.label for d in data])
    reach = 2.2 * radius
    for item in data:
        re, im = item.value[:, 0], item.value[:, 1]
        xerr = np.abs(np.vstack([re - item.lo[:, 0], item.hi[:, 0] - re]))
        yerr = np.abs(np.vstack([im - item.lo[:, 1], item.hi[:, 1] - im]))
        ax.errorbar(
            re,
            im,
            xerr=np.nan_to_num(xerr),
            yerr=np.nan_to_num(yerr),
            fmt="o",
            markersize=7,
            color=colors[item.label],
            capsize=3,
            label=f"{item.label}",
            linewidth=1.0,
        )
        finite = np.concatenate([item.value.ravel(), item.lo.ravel(), item.hi.ravel()])
        finite = finite[np.isfinite(finite)]
        if finite.size:
            reach = max(reach, 1.15 * float(np.abs(finite).max()))
    ax.set_xlim(-reach, max(0.35 * reach, 0.5))
    ax.set_ylim(-0.6 * reach, 0.6 * reach)
    ax.set_aspect("equal")
    ax.set_xlabel("Re(lambda)  (negative = decays towards x*)")
    ax.set_ylabel("Im(lambda)  (non-zero = oscillation)")
    ax.set_title(f"Eigenvalues of the drift matrix A (dt = {dt:g}), 95% CI whiskers", fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    return fig
