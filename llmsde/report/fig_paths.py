"""Figures in state space and time: observed trajectories against the fitted model, and phase portraits.

Both take plain arrays (the caller simulates and loads), so they can be drawn from a run, a panel file or
synthetic
data, and tested without a store. Objective colours come from :mod:`llmsde.report.palette`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from numpy.typing import NDArray

from llmsde.report._mpl import new_figure
from llmsde.report.palette import OBJECTIVE_SHORT, objective_color
from llmsde.types import OBJECTIVES

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["PathData", "PhaseData", "phase_figure", "trajectory_figure"]

Array = NDArray[np.float64]
PAIRS: tuple[tuple[int, int], ...] = tuple(itertools.combinations(range(3), 2))
"""Objective index pairs of the phase portraits: (S, E), (S, F), (E, F)."""


class PathData(NamedTuple):
    """What one strategy's row of the trajectory figure shows."""

    label: str
    observed: Array
    """ndarray of shape (n_sessions, n_steps, 3); NaN where a score is missing."""
    model_mean: Array | None
    """ndarray of shape (n_model_steps, 3): the fitted model's mean path from the observed mean start."""
    model_lo: Array | None
    """ndarray of shape (n_model_steps, 3): lower edge of the model's predictive band."""
    model_hi: Array | None
    band_label: str = "model 90% band"


class PhaseData(NamedTuple):
    """What one strategy's row of the phase portraits shows."""

    label: str
    observed: Array
    """ndarray of shape (n_sessions, n_steps, 3)."""
    A: Array
    """Drift matrix, shape (3, 3)."""
    b: Array
    """Drift intercept, shape (3,)."""
    equilibrium: Array | None
    """x* of shape (3,), or None when A is singular."""


def _observed_band(obs: Array) -> tuple[Array, Array, Array]:
    """Mean over sessions and its 95% normal-approximation CI per step and objective (NaN-aware)."""
    import warnings

    n = np.isfinite(obs).sum(axis=0)
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(obs, axis=0)
        sd = np.nanstd(obs, axis=0, ddof=1)
    half = np.where(n > 1, 1.96 * np.nan_to_num(sd) / np.sqrt(np.maximum(n, 1)), 0.0)
    return mean, mean - half, mean + half


def trajectory_figure(data: Sequence[PathData]) -> Figure:
    """Rows = strategies, columns = objectives: thin observed paths, their mean with a 95% CI band, and the
    fitted model's mean path (dashed) with its predictive band."""
    from matplotlib.ticker import MaxNLocator

    fig, axes = new_figure(11.0, 2.4 * len(data) + 0.6, nrows=len(data), ncols=3, sharex=True, sharey=True)
    for row, item in enumerate(data):
        steps = np.arange(item.observed.shape[1])
        mean, lo, hi = _observed_band(item.observed)
        for j, name in enumerate(OBJECTIVES):
            ax = axes[row, j]
            color = objective_color(name)
            for path in item.observed[:, :, j]:
                ax.plot(steps, path, color=color, alpha=0.18, linewidth=0.7)
            ax.fill_between(
                steps, lo[:, j], hi[:, j], color=color, alpha=0.25, linewidth=0, label="observed mean 95% CI"
            )
            ax.plot(steps, mean[:, j], color=color, linewidth=2.2, label="observed mean")
            if item.model_mean is not None and item.model_lo is not None and item.model_hi is not None:
                msteps = np.arange(item.model_mean.shape[0])
                ax.fill_between(
                    msteps,
                    item.model_lo[:, j],
                    item.model_hi[:, j],
                    facecolor="none",
                    edgecolor="#333333",
                    hatch="///",
                    linewidth=0.0,
                    alpha=0.5,
                    label=item.band_label,
                )
                ax.plot(
                    msteps,
                    item.model_mean[:, j],
                    color="#222222",
                    linestyle="--",
                    linewidth=1.6,
                    label="model mean",
                )
            ax.set_ylim(-0.3, 10.3)
            ax.grid(alpha=0.3)
            if row == 0:
                ax.set_title(name, color=color, fontweight="bold")
            if j == 0:
                ax.set_ylabel(f"{item.label}\nscore (0-10)")
            if row == len(data) - 1:
                ax.set_xlabel("iteration k")
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if data:
        axes[0, 2].legend(loc="lower right", fontsize=7, framealpha=0.85)
    fig.suptitle("Score trajectories: observed sessions vs fitted SDE", fontsize=12)
    return fig


def _anchor(item: PhaseData) -> Array:
    """Where the third objective is held in a 2-D slice: at x* when it exists, else at the observed mean (5 for
    an objective never observed)."""
    import warnings

    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN (missing) objective
        mean = np.nanmean(item.observed.reshape(-1, 3), axis=0)
    mean = np.where(np.isfinite(mean), mean, 5.0)
    if item.equilibrium is not None:
        return np.where(np.isfinite(item.equilibrium), np.clip(item.equilibrium, 0.0, 10.0), mean)
    return mean


def phase_figure(data: Sequence[PhaseData]) -> Figure:
    """Rows = strategies, columns = objective pairs: the fitted drift field A x + b in the pair's plane (third
    objective held at x*), the observed sessions projected onto it, and the equilibrium."""
    fig, axes = new_figure(11.0, 3.4 * len(data) + 0.6, nrows=len(data), ncols=len(PAIRS))
    grid = np.linspace(0.0, 10.0, 13)
    gx, gy = np.meshgrid(grid, grid)
    for row, item in enumerate(data):
        anchor = _anchor(item)
        for col, (i, j) in enumerate(PAIRS):
            ax = axes[row, col]
            states = np.tile(anchor, (gx.size, 1))
            states[:, i], states[:, j] = gx.ravel(), gy.ravel()
            drift = states @ item.A.T + item.b
            u, v = drift[:, i].reshape(gx.shape), drift[:, j].reshape(gx.shape)
            speed = np.hypot(u, v)
            top = max(float(np.nanmax(speed)), 1e-9)
            arrows = ax.quiver(
                gx,
                gy,
                u,
                v,
                speed,
                cmap="Greys",
                angles="xy",
                scale_units="xy",
                scale=top / 0.7,
                width=0.004,
                alpha=0.9,
            )
            arrows.set_clim(-0.6 * top, top)
            for path in item.observed:
                ax.plot(path[:, i], path[:, j], color="#555555", alpha=0.25, linewidth=0.7)
                ax.plot(path[:1, i], path[:1, j], "o", color="#555555", alpha=0.35, markersize=2.5)
            if item.equilibrium is not None and np.isfinite(item.equilibrium).all():
                ax.plot(
                    item.equilibrium[i],
                    item.equilibrium[j],
                    marker="*",
                    color="#CC0000",
                    markersize=15,
                    markeredgecolor="white",
                    label="equilibrium x*",
                )
            ax.set_xlim(-0.3, 10.3)
            ax.set_ylim(-0.3, 10.3)
            ax.set_aspect("equal")
            ni, nj = OBJECTIVES[i], OBJECTIVES[j]
            ax.set_xlabel(ni, color=objective_color(ni), fontweight="bold")
            ax.set_ylabel(nj, color=objective_color(nj), fontweight="bold")
            k = 3 - i - j
            outside = ""
            if item.equilibrium is not None and np.isfinite(item.equilibrium).all():
                pair = item.equilibrium[[i, j]]
                if (pair < 0).any() or (pair > 10).any():
                    outside = f"; x* = ({pair[0]:.1f}, {pair[1]:.1f}) off the 0-10 box"
            ax.set_title(
                f"{item.label}: {OBJECTIVE_SHORT[ni]}-{OBJECTIVE_SHORT[nj]} "
                f"({OBJECTIVE_SHORT[OBJECTIVES[k]]} = {anchor[k]:.1f}{outside})",
                fontsize=9,
            )
        if item.equilibrium is not None and np.isfinite(item.equilibrium).all():
            axes[row, 0].legend(loc="upper left", fontsize=7)
    fig.suptitle("Phase portraits: fitted drift field, observed sessions (grey), equilibrium (star)", fontsize=12)
    return fig
