"""Reading and writing fit.json and fit.md (atomically), so commands never half-write a result."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from llmsde._atomic import write_text_atomic
from llmsde.dynamics import SdeFit
from llmsde.errors import FitInputError
from llmsde.report.fit_markdown import render_fit_markdown

__all__ = ["FIT_JSON", "FIT_MD", "FitFiles", "read_fit", "write_fit"]

FIT_JSON = "fit.json"
FIT_MD = "fit.md"


class FitFiles(NamedTuple):
    """Paths written by :func:`write_fit`."""

    json_path: Path
    md_path: Path


def write_fit(fit: SdeFit, out_dir: Path, source: str = "", usage: Mapping[str, Any] | None = None) -> FitFiles:
    """Write fit.json (strict JSON, no NaN) and fit.md into ``out_dir``; ``usage``: the run's call totals."""
    text = json.dumps(fit.to_dict(), indent=2, allow_nan=False) + "\n"
    json_path = write_text_atomic(out_dir / FIT_JSON, text)
    md_path = write_text_atomic(out_dir / FIT_MD, render_fit_markdown(fit, source, usage))
    return FitFiles(json_path, md_path)


def read_fit(path: str | Path) -> SdeFit:
    """Read a fit.json (or the fit.json inside a directory); every failure is a one-line FitInputError."""
    p = Path(path)
    if p.is_dir():
        p = p / FIT_JSON
    if not p.is_file():
        raise FitInputError(f"fit file not found: {p}", "run `llmsde fit TARGET` first and pass its fit.json")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise FitInputError(f"{p} is not valid JSON: {err}", "pass the fit.json written by `llmsde fit`") from None
    try:
        return SdeFit.from_dict(data)
    except ValueError as err:
        raise FitInputError(f"{p}: {err}", "refit with this version of llmsde") from None
    except (KeyError, TypeError, IndexError, AttributeError) as err:
        raise FitInputError(
            f"{p} is not a fit.json (missing or malformed {err})", "pass the file `llmsde fit` wrote"
        ) from None
