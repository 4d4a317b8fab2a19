"""One process-wide lock around every parse of Python source into ``ast`` objects.

CPython 3.11 keeps the AST constructor's recursion counter in shared interpreter state, so two threads that
build ASTs at once (the surrogate editing code in the event loop while bandit and radon parse in scoring threads)
can make a perfectly valid parse fail with ``SystemError: AST constructor recursion depth mismatch``
(python/cpython#106905). That turned a reproducible run into a flaky one. The work is pure Python holding the
GIL anyway, so serialising it costs nothing measurable.
"""

from __future__ import annotations

import ast
import threading

__all__ = ["AST_LOCK", "parse_python"]

AST_LOCK = threading.RLock()
"""Hold this around any code that builds ASTs (``ast.parse``, bandit, radon)."""


def parse_python(source: str, filename: str = "<unknown>") -> ast.Module:
    """``ast.parse`` under :data:`AST_LOCK`."""
    with AST_LOCK:
        return ast.parse(source, filename)
