"""The layer rules of DESIGN.md section 3 / STYLE.md section 2, checked on the import statements of every module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "llmsde"

FORBIDDEN: dict[str, set[str]] = {
    "dynamics": {
        "llmsde.providers",
        "llmsde.scoring",
        "llmsde.store",
        "llmsde.runner",
        "llmsde.tasks",
        "llmsde.sandbox",
        "llmsde.report",
        "llmsde.api",
        "llmsde.cli",
        "llmsde.render",
        "llmsde.config",
    },
    "sandbox": {
        "llmsde.providers",
        "llmsde.scoring",
        "llmsde.store",
        "llmsde.runner",
        "llmsde.tasks",
        "llmsde.dynamics",
        "llmsde.report",
        "llmsde.api",
        "llmsde.cli",
        "llmsde.render",
    },
    "scoring": {
        "llmsde.providers",
        "llmsde.store",
        "llmsde.runner",
        "llmsde.report",
        "llmsde.api",
        "llmsde.cli",
        "llmsde.render",
    },
    "providers": {
        "llmsde.scoring",
        "llmsde.store",
        "llmsde.runner",
        "llmsde.report",
        "llmsde.api",
        "llmsde.cli",
        "llmsde.render",
    },
    "store": {"llmsde.runner", "llmsde.providers", "llmsde.scoring", "llmsde.api", "llmsde.cli", "llmsde.render"},
    "tasks": {"llmsde.runner", "llmsde.store", "llmsde.api", "llmsde.cli", "llmsde.render", "llmsde.report"},
    "runner": {"llmsde.api", "llmsde.cli", "llmsde.render", "llmsde.report"},
    "report": {"llmsde.runner", "llmsde.providers", "llmsde.api", "llmsde.cli", "llmsde.render"},
}
"""Layer -> module prefixes it must never import (DESIGN.md section 3: top may import below, never the reverse)."""

UI_MODULES = {"rich", "typer", "click"}


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


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_layer_imports(path: Path) -> None:
    rel = path.relative_to(PACKAGE)
    layer = rel.parts[0] if len(rel.parts) > 1 else rel.stem
    imported = _imports(path)
    for banned in FORBIDDEN.get(layer, set()):
        offending = sorted(n for n in imported if n == banned or n.startswith(banned + "."))
        assert not offending, f"{rel} ({layer}) imports {offending}, which is above it"
    if layer not in {"cli", "render"}:
        ui = sorted(n for n in imported if n.split(".")[0] in UI_MODULES)
        assert not ui, f"{rel} imports {ui}; only cli/ and render.py may use rich/typer"


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
