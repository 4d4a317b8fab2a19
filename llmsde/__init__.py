"""llmsde: iterative LLM code-refinement studies and the SDE dynamics of their scores.

The public API lives in :mod:`llmsde.api` and is re-exported here lazily (PEP 562), so ``import llmsde`` (and the
CLI's ``--help``) does not pay for pydantic, numpy or the runner until a name is used. ``llmsde.api.__all__`` is
the one list of public names; this module reads it on first use instead of keeping a copy::

    import llmsde
    summary = llmsde.run_study(llmsde.StudyConfig(sessions=2, iterations=3))
    panel = llmsde.load_run(summary.run_dir)
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    api = importlib.import_module("llmsde.api")
    if name == "__all__":
        value: Any = sorted([*api.__all__, "__version__"])
    elif name in api.__all__:
        value = getattr(api, name)
    else:
        raise AttributeError(f"module 'llmsde' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *importlib.import_module("llmsde.api").__all__})
