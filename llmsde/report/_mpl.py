"""Matplotlib plumbing shared by the figure modules: Agg figures without pyplot, and PNG encoding.

Why no pyplot: pyplot keeps global state and picks a GUI backend from the environment; a report built in CI,
in a
thread or in a notebook must not open windows or leak figures. A bare :class:`~matplotlib.figure.Figure` on
an Agg
canvas is self-contained and garbage-collected like any object. Imports are inside the functions so that
importing
the report package (the CLI does at start-up) stays cheap.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["DPI", "new_figure", "png_bytes"]

DPI = 110
"""Resolution of every PNG: sharp on screen, small enough to embed a dozen figures in one HTML file."""


def new_figure(width: float, height: float, **subplots: Any) -> tuple[Figure, Any]:
    """A figure of ``width`` x ``height`` inches on an Agg canvas and its axes (``subplots`` as for
    :meth:`Figure.subplots`, always returned as a 2-D array)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(squeeze=False, **subplots)
    return fig, axes


def png_bytes(fig: Figure) -> bytes:
    """The figure encoded as PNG."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()
