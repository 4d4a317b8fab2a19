"""Figures: each renders to a valid PNG, labels its axes, and uses the one objective palette."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import to_hex

from llmsde.report._mpl import png_bytes
from llmsde.report.fig_matrices import EigenData, MatrixView, eigen_figure, interference_figure
from llmsde.report.fig_paths import PathData, PhaseData, phase_figure, trajectory_figure
from llmsde.report.palette import OBJECTIVE_COLORS, STRATEGY_COLORS, strategy_colors

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _obs(seed: int = 0, n: int = 6, t: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 10, size=(n, t, 3))
    x[0, 2, 1] = np.nan
    return x


def test_trajectory_figure_colours_and_labels() -> None:
    obs = _obs()
    mean = np.full((5, 3), 5.0)
    fig = trajectory_figure([PathData("SF", obs, mean, mean - 1, mean + 1), PathData("FF", obs, None, None, None)])
    axes = fig.axes
    assert len(axes) == 6
    for j, name in enumerate(("security", "efficiency", "functionality")):
        assert axes[j].get_title() == name
        thick = [ln for ln in axes[j].get_lines() if ln.get_linewidth() > 2]
        assert to_hex(thick[0].get_color()) == OBJECTIVE_COLORS[name].lower()
    assert axes[3].get_xlabel() == "iteration k" and "score" in axes[0].get_ylabel()
    assert "model mean" in [ln.get_label() for ln in axes[0].get_lines()]
    assert "model mean" not in [ln.get_label() for ln in axes[3].get_lines()]
    assert png_bytes(fig).startswith(PNG_MAGIC)


def test_phase_figure_marks_equilibrium_and_labels_pairs() -> None:
    a = np.diag([-0.5, -0.4, -0.9])
    eq = np.array([6.0, 4.0, 8.0])
    fig = phase_figure([PhaseData("SF", _obs(), a, -a @ eq, eq), PhaseData("FF", _obs(1), a, -a @ eq, None)])
    first = fig.axes[0]
    assert (first.get_xlabel(), first.get_ylabel()) == ("security", "efficiency")
    assert to_hex(first.xaxis.label.get_color()) == OBJECTIVE_COLORS["security"].lower()
    stars = [ln for ln in first.get_lines() if ln.get_marker() == "*"]
    assert stars and np.asarray(stars[0].get_xdata())[0] == 6.0
    assert not [ln for ln in fig.axes[3].get_lines() if ln.get_marker() == "*"]
    assert png_bytes(fig).startswith(PNG_MAGIC)


def test_interference_figure_annotates_ci_and_stars_significance() -> None:
    v = np.array([[0, 0.3, -0.2], [0.3, 0, 0.1], [-0.2, 0.1, 0]])
    lo, hi = v - 0.1, v + 0.1
    fig = interference_figure(
        {"SF": {k: MatrixView(v, lo, hi) for k in ("corr_dx", "coupling_normalised", "noise_corr")}}
    )
    texts = [t.get_text() for t in fig.axes[0].texts if t.get_text()]
    assert "+0.30*\n[+0.20, +0.40]" in texts and "+0.10\n[+0.00, +0.20]" in texts
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks == ["S", "E", "F"]
    nan = np.full((3, 3), np.nan)
    fig2 = interference_figure({"AI": {"corr_dx": MatrixView(v, nan, nan)}})
    assert "+0.30" in [t.get_text() for t in fig2.axes[0].texts]
    assert png_bytes(fig2).startswith(PNG_MAGIC)


def test_eigen_figure_draws_stability_circle_of_radius_one_over_dt() -> None:
    ev = np.array([[-0.3, 0.2], [-0.3, -0.2], [-1.0, 0.0]])
    fig = eigen_figure([EigenData("SF", ev, ev - 0.05, ev + 0.05)], dt=0.5)
    ax = fig.axes[0]
    circle = next(ln for ln in ax.get_lines() if np.asarray(ln.get_xdata()).size == 400)
    xs, ys = np.asarray(circle.get_xdata()), np.asarray(circle.get_ydata())
    assert np.allclose(np.hypot(xs + 2.0, ys), 2.0)
    assert "Re" in ax.get_xlabel() and "Im" in ax.get_ylabel()
    assert png_bytes(fig).startswith(PNG_MAGIC)


def test_eigen_figure_of_an_exact_fit_shades_the_left_half_plane_not_the_euler_disc() -> None:
    ev = np.array([[-1.5, 0.0], [-0.2, 0.0]])
    fig = eigen_figure([EigenData("SF", ev, ev - 0.05, ev + 0.05)], dt=1.0, method="exact")
    ax = fig.axes[0]
    assert not [ln for ln in ax.get_lines() if np.asarray(ln.get_xdata()).size == 400]
    labels = ax.get_legend_handles_labels()[1]
    assert any("exp(lambda dt)" in lab for lab in labels) and not any("|1 + lambda" in lab for lab in labels)
    assert png_bytes(fig).startswith(PNG_MAGIC)


def test_strategy_palette_is_stable_and_distinct() -> None:
    colors = strategy_colors(["SF", "custom", "EF", "other"])
    assert colors["SF"] == STRATEGY_COLORS["SF"] and colors["EF"] == STRATEGY_COLORS["EF"]
    assert len(set(colors.values())) == 4
    assert not set(colors.values()) & set(OBJECTIVE_COLORS.values())
