"""The one palette of every llmsde figure: objectives and strategies keep their colours across all plots.

Why one module: a reader learns "security is red" once, in the first figure, and every later figure (paths,
phase
portraits, heatmap labels) must honour it. Colours are from the Okabe-Ito set, which stays distinguishable
for the
common forms of colour blindness; objectives and the four built-in strategies never share a colour.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["OBJECTIVE_COLORS", "OBJECTIVE_SHORT", "STRATEGY_COLORS", "objective_color", "strategy_colors"]

OBJECTIVE_COLORS: dict[str, str] = {
    "security": "#D55E00",
    "efficiency": "#0072B2",
    "functionality": "#009E73",
}
"""Objective name -> colour (vermillion, blue, bluish green)."""

OBJECTIVE_SHORT: dict[str, str] = {"security": "S", "efficiency": "E", "functionality": "F"}
"""One-letter labels used where space is short (heatmap ticks, phase-portrait axes)."""

STRATEGY_COLORS: dict[str, str] = {
    "EF": "#E69F00",
    "SF": "#CC79A7",
    "FF": "#56B4E9",
    "AI": "#000000",
}
"""Built-in strategies -> colour (orange, reddish purple, sky blue, black)."""

_EXTRA = ("#999933", "#882255", "#44AA99", "#332288", "#AA4499", "#117733", "#888888")
"""Colours for custom strategies, assigned in order of first appearance."""


def objective_color(name: str) -> str:
    """The colour of objective ``name`` (grey for an unknown name, so a new objective never crashes a
    plot)."""
    return OBJECTIVE_COLORS.get(name, "#666666")


def strategy_colors(labels: Sequence[str]) -> dict[str, str]:
    """Colours for ``labels``: built-ins keep their fixed colour, others take the extra colours in order."""
    out: dict[str, str] = {}
    extra = iter(_EXTRA * (1 + len(labels) // len(_EXTRA)))
    for label in labels:
        if label not in out:
            out[label] = STRATEGY_COLORS.get(label) or next(extra)
    return out
