"""Speed rewrites: faster data structures and idioms (``speed+``) and their slower inverses (``speed-``).

The rules act on the patterns that make code slow in practice (list membership, ``pop(0)`` queues, ``count``
per
element, unmemoised recursion, lookups in an argument list inside a loop, defensive deep copies). They are
applied
only where the usage pattern makes the swap behaviour-preserving for hashable data, as a careful developer
would;
on unhashable data a swap can still break tests, which is a real regression the scorer then sees.
"""

from __future__ import annotations

import ast
import random
import re

from llmsde.providers.surrogate._edit import (
    Ctx,
    body_insert_at,
    ensure_import,
    indent_of,
    insert_before_line,
    replace_spans,
    span,
    walk_funcs,
)

__all__ = ["SPEED_DOWN", "SPEED_UP"]


def _uses(func: ast.FunctionDef, name: str) -> list[ast.Name]:
    return [n for n in ast.walk(func) if isinstance(n, ast.Name) and n.id == name]


def _parents(func: ast.AST) -> dict[int, ast.AST]:
    return {id(child): node for node in ast.walk(func) for child in ast.iter_child_nodes(node)}


def _container_candidates(func: ast.FunctionDef, kind: type, method: str) -> list[tuple[ast.Assign, list[ast.AST]]]:
    """Assignments ``x = <kind>`` where every other use of ``x`` is ``x.<method>(..)`` or ``.. in x``."""
    parents = _parents(func)
    out = []
    for node in ast.walk(func):
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            continue
        value = node.value
        is_set_call = (
            isinstance(value, ast.Call)
            and isinstance(value.func, ast.Name)
            and value.func.id == "set"
            and not value.args
        )
        if not (isinstance(value, kind) or (kind is ast.Set and is_set_call)):
            continue
        name = node.targets[0].id
        method_calls: list[ast.AST] = []
        ok = True
        for use in _uses(func, name):
            if use is node.targets[0]:
                continue
            parent = parents.get(id(use))
            if isinstance(parent, ast.Attribute) and parent.attr == method:
                method_calls.append(parent)
            elif (
                isinstance(parent, ast.Compare)
                and use in parent.comparators
                and all(isinstance(op, ast.In | ast.NotIn) for op in parent.ops)
            ):
                continue
            else:
                ok = False
        if ok and method_calls:
            out.append((node, method_calls))
    return out


def list_to_set(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    """``seen = []`` used only for ``append`` and ``in`` -> a set (O(1) membership)."""
    options = [c for f in walk_funcs(ctx.tree) for c in _container_candidates(f, ast.List, "append")]
    if not options:
        return None
    assign, calls = rng.choice(options)
    assert isinstance(assign.value, ast.List)
    elts = [code[slice(*span(code, e))] for e in assign.value.elts]
    edits = [(*span(code, assign.value), "{" + ", ".join(elts) + "}" if elts else "set()")]
    for attr in calls:
        s, e = span(code, attr)
        edits.append((s, e, code[s:e][: -len("append")] + "add"))
    return replace_spans(code, edits)


def set_to_list(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    options = [c for f in walk_funcs(ctx.tree) for c in _container_candidates(f, ast.Set, "add")]
    if not options:
        return None
    assign, calls = rng.choice(options)
    elts = [code[slice(*span(code, e))] for e in getattr(assign.value, "elts", [])]
    edits = [(*span(code, assign.value), "[" + ", ".join(elts) + "]")]
    for attr in calls:
        s, e = span(code, attr)
        edits.append((s, e, code[s:e][: -len("add")] + "append"))
    return replace_spans(code, edits)


def deque_up(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    """A list used as a FIFO queue (``pop(0)``) -> ``collections.deque`` with ``popleft()``."""
    for func in walk_funcs(ctx.tree):
        pops = [
            n
            for n in ast.walk(func)
            if isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute)
            and n.func.attr == "pop"
            and len(n.args) == 1
            and isinstance(n.args[0], ast.Constant)
            and n.args[0].value == 0
            and isinstance(n.func.value, ast.Name)
        ]
        for pop in pops:
            name = pop.func.value.id  # type: ignore[attr-defined]
            for node in ast.walk(func):
                if (
                    isinstance(node, ast.Assign)
                    and isinstance(node.targets[0], ast.Name)
                    and node.targets[0].id == name
                    and isinstance(node.value, ast.List)
                ):
                    s, e = span(code, node.value)
                    edits = [(s, e, f"collections.deque({code[s:e]})")]
                    for p in pops:
                        if p.func.value.id == name:  # type: ignore[attr-defined]
                            ps, pe = span(code, p)
                            edits.append((ps, pe, f"{name}.popleft()"))
                    return ensure_import(replace_spans(code, edits), "collections")
    return None


def deque_down(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    m = re.search(r"(\w+) = collections\.deque\((\[.*\])\)", code)
    if not m:
        return None
    name = m.group(1)
    code = code[: m.start()] + f"{name} = {m.group(2)}" + code[m.end() :]
    return code.replace(f"{name}.popleft()", f"{name}.pop(0)")


_COUNT_COMP = re.compile(r"\{(\w+): (\w+)\.count\(\1\) for \1 in \2\}")
_COUNTER = re.compile(r"dict\(collections\.Counter\((\w+)\)\)")


def counter_up(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    """``{w: ws.count(w) for w in ws}`` (quadratic) -> ``dict(collections.Counter(ws))`` (same order,
    linear)."""
    new = _COUNT_COMP.sub(lambda m: f"dict(collections.Counter({m.group(2)}))", code)
    return None if new == code else ensure_import(new, "collections")


def counter_down(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    new = _COUNTER.sub(lambda m: f"{{item: {m.group(1)}.count(item) for item in {m.group(1)}}}", code)
    return None if new == code else new


def _self_recursive(func: ast.FunctionDef) -> bool:
    return any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == func.name for n in ast.walk(func)
    )


def memoize_up(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    """Add ``functools.lru_cache`` to a self-recursive function without decorators."""
    options = [
        f
        for f in walk_funcs(ctx.tree)
        if _self_recursive(f)
        and not f.decorator_list
        and not f.args.defaults
        and f.args.vararg is None
        and f.args.kwarg is None
    ]
    if not options:
        return None
    func = rng.choice(options)
    pad = indent_of(code, func.lineno)
    return ensure_import(
        insert_before_line(code, func.lineno, f"{pad}@functools.lru_cache(maxsize=None)\n"), "functools"
    )


def memoize_down(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    new = re.sub(r"^[ \t]*@functools\.lru_cache\(maxsize=None\)\n", "", code, count=1, flags=re.M)
    return None if new == code else new


def hoist_lookup_up(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    """``x in arg`` inside a loop over a list argument -> a set built once before the loop."""
    for func in walk_funcs(ctx.tree):
        params = {a.arg for a in func.args.args}
        where = body_insert_at(func)
        if where is None:
            continue
        loops = [n for n in ast.walk(func) if isinstance(n, ast.For | ast.While | ast.comprehension)]
        for name in sorted(params):
            if f"{name}_lookup" in code:
                continue
            hits = [
                c
                for loop in loops
                for c in ast.walk(loop)
                if isinstance(c, ast.Compare)
                and all(isinstance(op, ast.In | ast.NotIn) for op in c.ops)
                and any(isinstance(x, ast.Name) and x.id == name for x in c.comparators)
            ]
            stores = [n for n in _uses(func, name) if not isinstance(n.ctx, ast.Load)]
            if hits and not stores:
                edits = [
                    (*span(code, x), f"{name}_lookup")
                    for c in hits
                    for x in c.comparators
                    if isinstance(x, ast.Name) and x.id == name
                ]
                line, col = where
                new = replace_spans(code, edits)
                return insert_before_line(new, line, " " * col + f"{name}_lookup = set({name})\n")
    return None


def hoist_lookup_down(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    m = re.search(r"^[ \t]*(\w+)_lookup = set\(\1\)\n", code, re.M)
    if not m:
        return None
    name = m.group(1)
    return re.sub(rf"\b{name}_lookup\b", name, code[: m.start()] + code[m.end() :])


def deepcopy_input_down(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    """Speed-: a defensive ``copy.deepcopy`` of the first argument at the top of the entry point."""
    func = ctx.entry
    if func is None or not func.args.args:
        return None
    where = body_insert_at(func)
    name = func.args.args[0].arg
    if where is None or f"{name} = copy.deepcopy({name})" in code:
        return None
    line, col = where
    return ensure_import(insert_before_line(code, line, " " * col + f"{name} = copy.deepcopy({name})\n"), "copy")


def deepcopy_input_up(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    new = re.sub(r"^[ \t]*(\w+) = copy\.deepcopy\(\1\)\n", "", code, count=1, flags=re.M)
    return None if new == code else new


def comprehension_up(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    """``out = []`` + ``for v in it: out.append(e)`` -> ``out = [e for v in it]``."""
    for func in walk_funcs(ctx.tree):
        body = func.body
        for first, loop in zip(body, body[1:], strict=False):
            if not (
                isinstance(first, ast.Assign)
                and isinstance(first.targets[0], ast.Name)
                and isinstance(first.value, ast.List)
                and not first.value.elts
                and isinstance(loop, ast.For)
                and not loop.orelse
                and len(loop.body) == 1
            ):
                continue
            stmt, cond = loop.body[0], None
            if isinstance(stmt, ast.If) and len(stmt.body) == 1 and not stmt.orelse:
                cond, stmt = stmt.test, stmt.body[0]
            name = first.targets[0].id
            if not (
                isinstance(stmt, ast.Expr)
                and isinstance(stmt.value, ast.Call)
                and isinstance(stmt.value.func, ast.Attribute)
                and stmt.value.func.attr == "append"
                and isinstance(stmt.value.func.value, ast.Name)
                and stmt.value.func.value.id == name
                and len(stmt.value.args) == 1
            ):
                continue

            parts = [stmt.value.args[0], loop.iter, *([cond] if cond is not None else [])]
            if any(isinstance(n, ast.Name) and n.id == name for part in parts for n in ast.walk(part)):
                continue

            def seg(n: ast.AST) -> str:
                return code[slice(*span(code, n))]

            comp = f"[{seg(stmt.value.args[0])} for {seg(loop.target)} in {seg(loop.iter)}"
            comp += f" if {seg(cond)}]" if cond is not None else "]"
            if "\n" in comp:
                continue
            start = span(code, first)[0]
            end = span(code, loop)[1]
            return code[:start] + f"{name} = {comp}" + code[end:]
    return None


def comprehension_down(code: str, ctx: Ctx, rng: random.Random) -> str | None:
    m = re.search(r"^([ \t]*)(\w+) = \[(.+) for (\w+(?:, \w+)*) in ([^\[\]]+?)(?: if (.+))?\]$", code, re.M)
    if not m or " for " in m.group(3):
        return None
    pad, name, expr, target, it, cond = m.groups()
    text = f"{pad}{name} = []\n{pad}for {target} in {it}:\n"
    if cond:
        text += f"{pad}    if {cond}:\n{pad}        {name}.append({expr})"
    else:
        text += f"{pad}    {name}.append({expr})"
    return code[: m.start()] + text + code[m.end() :]


SPEED_UP = (
    list_to_set,
    deque_up,
    counter_up,
    memoize_up,
    hoist_lookup_up,
    deepcopy_input_up,
    comprehension_up,
)
SPEED_DOWN = (
    set_to_list,
    deque_down,
    counter_down,
    memoize_down,
    hoist_lookup_down,
    deepcopy_input_down,
    comprehension_down,
)
