"""Source-editing helpers shared by the rewrite rules: AST positions to text offsets, imports, insertions.

Rules edit the *text* at positions the AST gives, rather than unparsing a modified tree, so comments,
formatting and
everything a rule does not touch survive exactly, as they would in a human (or LLM) edit.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

__all__ = [
    "Ctx",
    "add_keyword_param",
    "body_insert_at",
    "drop_unused_imports",
    "ensure_import",
    "func_of",
    "indent_of",
    "insert_before_line",
    "parses",
    "replace_spans",
    "span",
    "walk_funcs",
]

_CLEANUP = {
    "pickle",
    "subprocess",
    "random",
    "shlex",
    "ast",
    "copy",
    "secrets",
    "collections",
    "functools",
    "tempfile",
    "json",
    "logging",
    "hashlib",
    "urllib.request",
    "os",
}
"""Modules whose ``import`` line is removed once nothing uses it (a rule may have replaced the last use)."""


@dataclass(frozen=True)
class Ctx:
    """What a rule may know besides the code: the parsed tree and the entry-point function, if identified."""

    tree: ast.Module
    entry: ast.FunctionDef | None


def parses(code: str) -> bool:
    """Whether ``code`` is syntactically valid Python."""
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True


def _line_starts(code: str) -> list[int]:
    starts = [0]
    for line in code.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts


def span(code: str, node: ast.AST) -> tuple[int, int]:
    """Character offsets [start, end) of ``node`` in ``code`` (AST columns count UTF-8 bytes, not
    characters)."""
    lines = code.splitlines(keepends=True)
    starts = _line_starts(code)

    def off(lineno: int, col: int) -> int:
        return starts[lineno - 1] + len(lines[lineno - 1].encode("utf-8")[:col].decode("utf-8", "replace"))

    end_lineno = getattr(node, "end_lineno", None) or node.lineno  # type: ignore[attr-defined]
    end_col = getattr(node, "end_col_offset", None)
    return off(node.lineno, node.col_offset), off(end_lineno, end_col if end_col is not None else 0)  # type: ignore[attr-defined]


def replace_spans(code: str, edits: list[tuple[int, int, str]]) -> str:
    """Apply non-overlapping (start, end, text) replacements; later ones first so offsets stay valid."""
    for start, end, text in sorted(edits, key=lambda e: e[0], reverse=True):
        code = code[:start] + text + code[end:]
    return code


def indent_of(code: str, lineno: int) -> str:
    """The leading whitespace of line ``lineno`` (1-based)."""
    line = code.splitlines()[lineno - 1]
    return line[: len(line) - len(line.lstrip())]


def insert_before_line(code: str, lineno: int, text: str) -> str:
    """Insert ``text`` (whole lines, newline-terminated) before line ``lineno`` (1-based)."""
    lines = code.splitlines(keepends=True)
    return "".join(lines[: lineno - 1]) + text + "".join(lines[lineno - 1 :])


def walk_funcs(tree: ast.AST) -> list[ast.FunctionDef]:
    """Every (non-async) function definition, outer before inner."""
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]


def func_of(tree: ast.Module, target: ast.AST) -> ast.FunctionDef | None:
    """The innermost function whose body contains ``target``."""
    best = None
    for func in walk_funcs(tree):
        if any(n is target for n in ast.walk(func)):
            best = func
    return best


def body_insert_at(func: ast.FunctionDef) -> tuple[int, int] | None:
    """(line, indent column) where statements can go at the top of ``func``, after its docstring.

    None when the body shares the ``def`` line (``def f(x): return x``), where line insertion is not possible.
    """
    body = func.body
    first = body[0]
    has_doc = (
        isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)
    )
    if has_doc and len(body) > 1:
        first = body[1]
    elif has_doc:
        return None
    if first.lineno == func.lineno:
        return None
    return first.lineno, first.col_offset


def ensure_import(code: str, module: str) -> str:
    """Add ``import module`` at the top (after a docstring and ``__future__`` imports) unless it is
    imported."""
    if re.search(rf"^import {re.escape(module)}\s*$", code, re.M):
        return code
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return f"import {module}\n" + code
    line = 1
    for node in tree.body:
        is_doc = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and node is tree.body[0]
        if is_doc or isinstance(node, ast.Import | ast.ImportFrom):
            line = (node.end_lineno or node.lineno) + 1
        else:
            break
    text = f"import {module}\n"
    if line == 1 and tree.body and not isinstance(tree.body[0], ast.Import | ast.ImportFrom):
        text += "\n\n"
    lines = code.splitlines(keepends=True)
    if line > len(lines):
        return code + ("" if code.endswith("\n") else "\n") + text
    return insert_before_line(code, line, text)


def drop_unused_imports(code: str, tree: ast.Module) -> str:
    """Remove top-level ``import X`` lines (for a known set of modules) whose name is no longer used."""
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    drop = []
    for node in tree.body:
        if isinstance(node, ast.Import) and len(node.names) == 1 and node.names[0].asname is None:
            name = node.names[0].name
            if name in _CLEANUP and name.split(".")[0] not in used:
                drop.append(node.lineno)
    if not drop:
        return code
    lines = code.splitlines(keepends=True)
    kept = [line for i, line in enumerate(lines, 1) if i not in drop]
    out = "".join(kept)
    return re.sub(r"\A\n+", "", out)


def add_keyword_param(code: str, func: ast.FunctionDef, param: str) -> str | None:
    """Add a keyword-only parameter (``name=default``) to ``func``'s signature; None if it cannot be done
    cleanly."""
    name = param.split("=")[0].strip()
    args = func.args
    every = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
    if name in every or args.kwarg is not None:
        return None
    start = span(code, func)[0]
    open_paren = code.index("(", start)
    depth, i = 0, open_paren
    while i < len(code):
        ch = code[i]
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth == 0:
                break
        i += 1
    inner = code[open_paren + 1 : i]
    stripped = inner.rstrip().rstrip(",")
    if not stripped.strip():
        new_inner = f"*, {param}"
    elif args.vararg is not None or args.kwonlyargs:
        new_inner = f"{stripped}, {param}"
    else:
        new_inner = f"{stripped}, *, {param}"
    return code[: open_paren + 1] + new_inner + code[i:]
