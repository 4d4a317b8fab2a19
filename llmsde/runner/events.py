"""Progress events: what the runner reports while it works. Rendering them is the CLI's job."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Progress", "ProgressCallback"]


@dataclass(frozen=True, slots=True)
class Progress:
    """A snapshot after each committed iteration; counts cover the whole run, earlier invocations too."""

    sessions_total: int
    sessions_done: int
    iterations_total: int
    iterations_done: int
    failed_iterations: int
    new_iterations: int
    """Iterations committed by this invocation (the numerator of its iterations/s)."""
    elapsed_s: float
    """Wall time of this invocation so far."""

    @property
    def rate(self) -> float:
        """Iterations per second in this invocation."""
        return self.new_iterations / self.elapsed_s if self.elapsed_s > 0 else 0.0


ProgressCallback = Callable[[Progress], None]
"""Called in the event-loop thread; it must be quick (it runs between iterations)."""
