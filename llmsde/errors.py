"""The one error tree of llmsde.

Every expected failure raises a subclass of :class:`LlmsdeError`. The CLI catches the root once, prints a single
line ``error: <message> - <hint>`` and exits with the error's ``exit_code``; nothing below the CLI prints or exits.

::

    LlmsdeError                 exit 2 unless noted
    +-- ConfigError             bad config file, flag or name (unknown strategy, task, provider, key)
    +-- TaskFileError           a task file or dataset that cannot be read or imported
    +-- RunDirError             a run directory that does not exist, is not a run, or cannot be resumed
    +-- FitInputError           arrays or panel files that cannot be fitted (shape, too few sessions, ...)
    +-- StoreError              the SQLite store is unreadable or was written by an incompatible version
    +-- SandboxError            the sandbox cannot give the isolation that was required
    +-- ProviderError           exit 1: the endpoint kept failing; the run is resumable
    +-- RunIncomplete           exit 1: sessions wait for an endpoint that failed; ``--resume`` redoes them
    +-- BudgetExceeded          exit 1: the next call would take the spend above ``--max-cost``; resumable
    +-- ExecutorError           exit 1: the Ray workers kept dying while scoring; the run is resumable
    +-- CheckFailed             exit 1: a ``check`` gate did not hold
    +-- RunInterrupted          exit 130: Ctrl-C during a run; every scored iteration is stored, resumable

Failures of the system under study (a reply without code, a context-length error, code that crashes or times out)
are *data*: they are recorded on the iteration and never raised through this tree. Failures of the endpoint
(connection, timeouts, 429/5xx after the retries) are never recorded: the run ends ``incomplete``
(:class:`RunIncomplete`) and ``--resume`` redoes those iterations. Numerical trouble that still leaves a usable
result is a warning of class :class:`LlmsdeWarning`.
"""

from __future__ import annotations

__all__ = [
    "BudgetExceeded",
    "CheckFailed",
    "ConfigError",
    "ExecutorError",
    "FitInputError",
    "LlmsdeError",
    "LlmsdeWarning",
    "ProviderError",
    "RunDirError",
    "RunIncomplete",
    "RunInterrupted",
    "SandboxError",
    "StoreError",
    "TaskFileError",
]


class LlmsdeError(Exception):
    """Root of every expected llmsde failure; carries the exit code and a hint on how to fix it."""

    exit_code: int = 2

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        """The message and the hint on one line, as the CLI prints it."""
        text = self.message if not self.hint else f"{self.message} - {self.hint}"
        return " ".join(text.split())


class ConfigError(LlmsdeError):
    """A config file, flag or name is invalid."""


class TaskFileError(LlmsdeError):
    """A task file or dataset cannot be read or imported."""


class RunDirError(LlmsdeError):
    """A run directory is missing, is not a run, or cannot be resumed."""


class FitInputError(LlmsdeError):
    """The trajectories given to ``fit`` cannot be fitted."""


class StoreError(LlmsdeError):
    """The run store cannot be read or written."""


class SandboxError(LlmsdeError):
    """The sandbox cannot provide the isolation that was required."""


class ProviderError(LlmsdeError):
    """The model endpoint kept failing; the run stopped cleanly and can be resumed."""

    exit_code = 1


class BudgetExceeded(LlmsdeError):
    """The run stopped before a call that would take its spend above the budget; resumable with a larger one."""

    exit_code = 1


class ExecutorError(LlmsdeError):
    """Scoring workers kept dying (every Ray actor a scoring was sent to); the run stopped and can be resumed."""

    exit_code = 1


class RunIncomplete(LlmsdeError):
    """Some sessions stopped at an iteration their endpoint could not serve; nothing of it was committed."""

    exit_code = 1


class CheckFailed(LlmsdeError):
    """At least one ``check`` gate did not hold."""

    exit_code = 1


class RunInterrupted(LlmsdeError):
    """The user interrupted a run; what was scored is stored and ``--resume`` continues it."""

    exit_code = 130


class LlmsdeWarning(UserWarning):
    """Numerical or data trouble that leaves a usable result (e.g. many states on the 0/10 boundary)."""
