"""The layer rules of DESIGN.md section 3 / STYLE.md section 2.

The rules themselves are import-linter contracts in pyproject.toml (``[tool.importlinter]``), checked here on the
import graph grimp builds: every import, relative ones, ones inside functions and under TYPE_CHECKING included.
What a contract cannot express stays an AST test below: dynamics' whitelist of external packages, imports by a
computed name, and printing or exiting below the CLI.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "llmsde"


def _lint(cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on ``cwd``'s pyproject.toml, as CI would run it (no cache, so a stale graph cannot hide
    a new import)."""
    code = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True, no_logo=True))"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300, env=env or dict(os.environ)
    )


def test_import_contracts_hold() -> None:
    res = _lint(ROOT)
    assert res.returncode == 0, res.stdout[-6000:] + res.stderr[-2000:]
    assert "0 broken" in res.stdout


@pytest.mark.parametrize(
    ("module", "source", "contract"),
    [
        ("checks/_probe.py", "from ..cli import app\n", "Layers"),
        ("scoring/_probe.py", "def f():\n    from ..store import RunStore\n", "scoring never imports providers"),
        ("runner/_probe.py", "from llmsde.sandbox import SandboxPool\n", "The sandbox is used by scoring only"),
        ("cli/_probe.py", "from llmsde.tasks import Task\n", "cli imports only api"),
        ("dynamics/_probe.py", "from llmsde import config\n", "dynamics is a leaf"),
        ("report/_probe.py", "from llmsde.dynamics.estimator import LinearSdeEstimator\n", "never re-fits"),
        ("store/_probe.py", "import rich\n", "Only cli and render"),
        ("cli/_probe.py", "from llmsde.api._fit import fit\n", "cli reaches the api through its facade only"),
    ],
)
def test_a_broken_contract_fails(tmp_path: Path, module: str, source: str, contract: str) -> None:
    """A copy of the package with one forbidden import (relative, inside a function, in checks/ ...) fails the
    lint and names the contract."""
    copy = tmp_path / "llmsde"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (copy / module).write_text(source, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    res = _lint(tmp_path, env)
    assert res.returncode == 1, res.stdout[-4000:] + res.stderr[-2000:]
    broken = res.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken and "_probe" in broken, res.stdout[-4000:]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", _modules()[1:], ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_package_import_by_computed_name(path: Path) -> None:
    """``importlib.import_module("llmsde...")`` and ``__import__`` hide an import from the contracts.

    The package root (``llmsde/__init__.py``, first in the list and left out) is the exception: it sits above
    every layer and loads the api lazily so ``import llmsde`` stays cheap.
    """
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            value = node.args[0].value
            if name in {"import_module", "__import__"} and isinstance(value, str) and value.startswith("llmsde"):
                pytest.fail(f"{path.relative_to(PACKAGE)}:{node.lineno} imports {value} by name; use an import")


def _imports_facade(tree: ast.AST) -> list[int]:
    """Lines of ``tree`` that import the :mod:`llmsde.api` facade (rather than one of its private modules)."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name == "llmsde.api" for a in node.names):
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom):
            target = node.module or ""
            names = [a.name for a in node.names]
            if (
                (target == "llmsde" and "api" in names)
                or (target == "llmsde.api" and not all(n.startswith("_") for n in names))
                or (node.level == 1 and target == "" and not all(n.startswith("_") for n in names))
            ):
                lines.append(node.lineno)
    return lines


@pytest.mark.parametrize("path", sorted((PACKAGE / "api").glob("_*.py")), ids=lambda p: p.name)
def test_private_api_modules_never_import_the_facade(path: Path) -> None:
    """The facade imports its private modules; one importing it back would be a cycle (issue 12 item 18)."""
    assert _imports_facade(ast.parse(path.read_text(encoding="utf-8"))) == [], path.name


@pytest.mark.parametrize(
    "source", ["from llmsde import api\n", "import llmsde.api\n", "from llmsde.api import fit\n", "from . import fit\n"]
)
def test_a_facade_import_is_found(source: str) -> None:
    assert _imports_facade(ast.parse(source)) == [1]


def test_dynamics_is_numeric_only() -> None:
    allowed_roots = {"numpy", "scipy", "llmsde", "__future__"}
    import sys

    stdlib = set(sys.stdlib_module_names)
    for path in (PACKAGE / "dynamics").rglob("*.py"):
        for name in _imports(path):
            root = name.split(".")[0]
            assert root in allowed_roots or root in stdlib, f"{path.name} imports {name}"
            if root == "llmsde":
                assert name.startswith(("llmsde.errors", "llmsde.dynamics")), f"{path.name} imports {name}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_print_or_exit_below_cli(path: Path) -> None:
    rel = path.relative_to(PACKAGE)
    if rel.parts[0] in {"cli", "render.py", "__main__.py"} or rel.name == "server_main.py":
        return
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in {"print", "exit", "quit"}:
                pytest.fail(f"{rel}:{node.lineno} calls {func.id}()")
            if (
                isinstance(func, ast.Attribute)
                and func.attr == "exit"
                and isinstance(func.value, ast.Name)
                and func.value.id == "sys"
            ):
                pytest.fail(f"{rel}:{node.lineno} calls sys.exit()")
