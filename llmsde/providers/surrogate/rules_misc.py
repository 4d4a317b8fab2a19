"""Everything that is not a security, speed or feature change: regressions and fixes, hardening, tidying,
simplification, and the occasional broken (unparseable) reply with its repair.

Regressions are real bugs of the kinds that slip into refactors (skipping the first element, an off-by-one
range,
an empty result turned into None, a flipped sort order); each fix rule undoes exactly one such signature, so a
fix works only when the matching bug is present, as with a real reviewer who spots it.
"""

from __future__ import annotations

import ast
import random
import re

from llmsde.providers.surrogate._edit import (
    Ctx,
    body_insert_at,
    insert_before_line,
    parses,
    span,
    walk_funcs,
)

__all__ = ["CORRUPT", "FIX", "HARDEN", "REGRESS", "SIMPLIFY", "TIDY", "repair"]


def _one(code: str, pattern: str, repl: str, rng: random.Random, flags: int = re.M) -> str | None:
    hits = list(re.finditer(pattern, code, flags))
    if not hits:
        return None
    m = rng.choice(hits)
    return code[: m.start()] + m.expand(repl) + code[m.end() :]


def skip_first(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    return _one(code, r"^([ \t]*for [\w, ()]+ in )(\w+):$", r"\1\2[1:]:", rng)


def skip_first_fix(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    return _one(code, r"^([ \t]*for [\w, ()]+ in )(\w+)\[1:\]:$", r"\1\2:", rng)


def range_short(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    return _one(code, r"range\(len\((\w+)\)\)", r"range(len(\1) - 1)", rng)


def range_short_fix(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    return _one(code, r"range\(len\((\w+)\) - 1\)", r"range(len(\1))", rng)


def empty_to_none(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    return _one(code, r"^([ \t]*return )(\w+)$", r"\1\2 or None", rng)


def empty_to_none_fix(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    return _one(code, r"^([ \t]*return )(\w+) or None$", r"\1\2", rng)


def sort_flip(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    return _one(code, r"\bsorted\(([\w.]+)\)", r"sorted(\1, reverse=True)", rng)


def sort_flip_fix(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    return _one(code, r"\bsorted\(([\w.]+), reverse=True\)", r"sorted(\1)", rng)


def harden_none_check(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    """Reject a missing argument early: more validation code, more branches (security reviews love it)."""
    func = ctx.entry
    if func is None:
        return None
    where = body_insert_at(func)
    names = [a.arg for a in func.args.args if f"if {a.arg} is None:" not in code]
    if where is None or not names:
        return None
    name = rng.choice(names)
    line, col = where
    pad = " " * col
    return insert_before_line(code, line, f'{pad}if {name} is None:\n{pad}    raise ValueError("{name} is required")\n')


def harden_type_check(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    func = ctx.entry
    if func is None or not func.args.args:
        return None
    where = body_insert_at(func)
    name = func.args.args[0].arg
    if where is None or f"isinstance({name}, (str, bytes))" in code:
        return None
    line, col = where
    pad = " " * col
    text = f"{pad}if isinstance({name}, (str, bytes)) and len({name}) > 10_000_000:\n"
    text += f'{pad}    raise ValueError("{name} is too large")\n'
    return insert_before_line(code, line, text)


def _docstring_node(func: ast.FunctionDef) -> ast.Expr | None:
    first = func.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return first
    return None


def add_docstring(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    options = [f for f in walk_funcs(ctx.tree) if _docstring_node(f) is None and f.body[0].lineno != f.lineno]
    if not options:
        return None
    func = rng.choice(options)
    col = func.body[0].col_offset
    words = func.name.replace("_", " ").strip()
    text = rng.choice(
        [
            f'"""Compute {words}."""',
            f'"""{words.capitalize()} for the given input."""',
            f'"""Helper: {words}."""',
        ]
    )
    return insert_before_line(code, func.body[0].lineno, " " * col + text + "\n")


def add_comment(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    loops = [n for n in ast.walk(ctx.tree) if isinstance(n, ast.For | ast.While | ast.If)]
    if not loops:
        return None
    node = rng.choice(loops)
    pad = " " * node.col_offset
    text = rng.choice(["# main loop", "# handle the next item", "# check the condition first", "# NOTE: keep order"])
    return insert_before_line(code, node.lineno, f"{pad}{text}\n")


def rename_local(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    """Rename a local variable of one function consistently (names in strings are left alone)."""
    funcs = walk_funcs(ctx.tree)
    if not funcs:
        return None
    func = rng.choice(funcs)
    params = {a.arg for a in func.args.args + func.args.kwonlyargs}
    stores = sorted({n.id for n in ast.walk(func) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)} - params)
    if not stores:
        return None
    old = rng.choice(stores)
    new_name = old + rng.choice(["_value", "_item", "_tmp", "_val"]) if len(old) < 12 else old[:-1]
    if re.search(rf"\b{new_name}\b", code):
        return None
    edits = [span(code, n) for n in ast.walk(func) if isinstance(n, ast.Name) and n.id == old]
    for s, e in sorted(edits, reverse=True):
        code = code[:s] + new_name + code[e:]
    return code


def drop_docstrings(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    nodes = [d for f in walk_funcs(ctx.tree) if (d := _docstring_node(f)) is not None and len(f.body) > 1]
    if not nodes:
        return None
    node = rng.choice(nodes)
    lines = code.splitlines(keepends=True)
    return "".join(lines[: node.lineno - 1] + lines[(node.end_lineno or node.lineno) :])


def drop_unused_helper(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    """Delete a top-level function nothing calls (typically a feature added and never wired, or left over)."""
    names = {n.id for n in ast.walk(ctx.tree) if isinstance(n, ast.Name)}
    options = [
        f
        for f in ctx.tree.body
        if isinstance(f, ast.FunctionDef) and f is not ctx.entry and f.name not in names and ctx.entry is not None
    ]
    if not options:
        return None
    func = rng.choice(options)
    start = min([d.lineno for d in func.decorator_list] + [func.lineno])
    lines = code.splitlines(keepends=True)
    out = "".join(lines[: start - 1] + lines[(func.end_lineno or func.lineno) :])
    return re.sub(r"\n{4,}", "\n\n\n", out)


def corrupt(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    """A broken reply: a compound statement loses its colon or a call loses its closing parenthesis."""
    if rng.random() < 0.5:
        return _one(code, r"^([ \t]*(?:if|for|while|def|elif|with) .*):$", r"\1", rng)
    return _one(code, r"^([ \t]*\w+ = \w+\(.*)\)$", r"\1", rng)


def repair(code: str) -> str | None:
    """Fix code that does not parse by trying a colon or a parenthesis at the reported line and the one
    above."""
    try:
        ast.parse(code)
        return None
    except SyntaxError as err:
        line_no = err.lineno or 1
    lines = code.splitlines()
    for idx in (line_no - 1, line_no - 2, line_no):
        if not 0 <= idx < len(lines):
            continue
        for suffix in (":", ")"):
            trial = lines[:idx] + [lines[idx] + suffix] + lines[idx + 1 :]
            text = "\n".join(trial) + "\n"
            if parses(text):
                return text
    return None


REGRESS = (skip_first, range_short, empty_to_none, sort_flip)
FIX = (skip_first_fix, range_short_fix, empty_to_none_fix, sort_flip_fix)
HARDEN = (harden_none_check, harden_type_check)
TIDY = (add_docstring, add_comment, rename_local)
SIMPLIFY = (drop_docstrings, drop_unused_helper)
CORRUPT = (corrupt,)
