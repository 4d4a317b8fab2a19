"""The public surface: ``llmsde.__all__`` and ``llmsde.api.__all__`` are sorted, complete and importable."""

from __future__ import annotations

import subprocess
import sys

import llmsde
import llmsde.api
import llmsde.dynamics


def test_top_level_all_is_sorted_and_resolves() -> None:
    assert llmsde.__all__ == sorted(llmsde.__all__)
    for name in llmsde.__all__:
        assert getattr(llmsde, name) is not None


def test_top_level_reexports_exactly_the_api() -> None:
    assert set(llmsde.__all__) - {"__version__"} == set(llmsde.api.__all__)
    assert llmsde.run_study is llmsde.api.run_study


def test_api_and_dynamics_all_sorted() -> None:
    for module in (llmsde.api, llmsde.dynamics):
        assert module.__all__ == sorted(module.__all__), module.__name__
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_import_llmsde_is_lazy() -> None:
    """``import llmsde`` must not drag in the heavy stack (the CLI's --help depends on it)."""
    code = "import sys, llmsde; print(sorted(m for m in ('numpy', 'pydantic', 'llmsde.api') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_cli_help_does_not_import_numeric_stack() -> None:
    code = (
        "import sys\nfrom llmsde.cli import app\n"
        "print(sorted(m for m in ('numpy', 'scipy', 'matplotlib', 'bandit', 'openai', 'ray') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
