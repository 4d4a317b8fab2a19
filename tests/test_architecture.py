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
    "api": {"llmsde.cli", "llmsde.render"},
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
    layer = "api" if layer.startswith("_api_") else layer  # the private halves of the api facade
    imported = _imports(path)
    for banned in FORBIDDEN.get(layer, set()):
        offending = sorted(n for n in imported if n == banned or n.startswith(banned + "."))
        assert not offending, f"{rel} ({layer}) imports {offending}, which is above it"
    if layer not in {"cli", "render"}:
        ui = sorted(n for n in imported if n.split(".")[0] in UI_MODULES)
        assert not ui, f"{rel} imports {ui}; only cli/ and render.py may use rich/typer"


CLI_ALLOWED = ("llmsde.api", "llmsde.config", "llmsde.errors", "llmsde.render", "llmsde.cli")
"""What llmsde/cli/ may import from the package (STYLE.md section 2: ``cli.py imports only api, config, errors
and render``), besides its own modules; everything else it needs goes through :mod:`llmsde.api`."""


def _package_imports(source: str, module: str) -> list[tuple[int, str]]:
    """(line, module) of every llmsde import in ``source`` (of dotted ``module``): at module level, inside
    functions or under TYPE_CHECKING, relative ones resolved, ``from llmsde import x`` read as ``llmsde.x``,
    and ``importlib.import_module("...")`` / ``__import__("...")`` calls with a literal name."""
    found: list[tuple[int, str]] = []
    package = module.split(".")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package[: len(package) - node.level], *([base] if base else [])])
            found += (
                [(node.lineno, base)] if base != "llmsde" else [(node.lineno, f"llmsde.{a.name}") for a in node.names]
            )
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name in {"import_module", "__import__"} and isinstance(node.args[0].value, str):
                found.append((node.lineno, node.args[0].value))
    return [(line, name) for line, name in found if name == "llmsde" or name.startswith("llmsde.")]


def _cli_violations(source: str, module: str) -> list[str]:
    return [
        f"line {line}: {name}"
        for line, name in _package_imports(source, module)
        if not any(name == ok or name.startswith(ok + ".") for ok in CLI_ALLOWED)
    ]


@pytest.mark.parametrize("path", sorted((PACKAGE / "cli").rglob("*.py")), ids=lambda p: p.name)
def test_cli_imports_only_api_config_errors_render(path: Path) -> None:
    module = ".".join(("llmsde", *path.relative_to(PACKAGE).with_suffix("").parts))
    bad = _cli_violations(path.read_text(encoding="utf-8"), module)
    assert not bad, f"cli/{path.name} reaches below the api: {bad}; add what it needs to llmsde.api"


def test_cli_import_rule_catches_every_form() -> None:
    """The checker itself: each way of importing a lower layer is caught, the allowed ones are not."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "from llmsde import api, render, store\n"
        "from llmsde.errors import ConfigError\n"
        "from . import run_cmd\n"
        "from .. import dynamics\n"
        "if TYPE_CHECKING:\n    from llmsde.tasks.io import CatalogEntry\n"
        "def f():\n    import llmsde.runner.rescore\n    import importlib\n"
        "    importlib.import_module('llmsde.providers.server')\n"
    )
    bad = _cli_violations(source, "llmsde.cli.x_cmd")
    assert [b.split(": ")[1] for b in bad] == [
        "llmsde.store",
        "llmsde.dynamics",
        "llmsde.tasks.io",
        "llmsde.runner.rescore",
        "llmsde.providers.server",
    ]


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
