"""HumanEval importer: ``task_id, prompt, entry_point, canonical_solution, test`` per JSONL(.gz) line.

The ``test`` field defines ``check(candidate)``, run as ``check(entry_point)``. When the body of ``check`` is
a flat list of ``assert`` statements (no walrus, so no assert depends on another), each assert becomes its own
:class:`AssertCase`, so functionality is the fraction of asserts passed rather than all-or-nothing; the rest
of the test module (``METADATA``, imports, helpers) becomes ``Task.test_setup``. Asserts that never mention
the candidate (``assert True, "..."``) test nothing and are dropped. Any other shape of ``check`` (loops,
local variables, helper calls) is kept whole as one ``check(candidate)`` case, because splitting it could
change what is tested.

Seed code is None: HumanEval gives a signature and docstring, not a program, so iteration 0 scores the model's
first solution (DESIGN.md section 2). The prompt is shown verbatim inside the spec; the reference is
``prompt + canonical_solution``.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from llmsde.tasks.importers.common import (
    Converted,
    FieldReader,
    Record,
    Skip,
    derive_workload,
    literal_calls,
    normalise_code,
)
from llmsde.tasks.model import AssertCase, Task, TestCase

__all__ = ["FIELDS", "convert_humaneval", "split_check", "with_prompt_helpers"]

FIELDS: dict[str, tuple[str, ...]] = {
    "task_id": ("task_id",),
    "prompt": ("prompt",),
    "entry_point": ("entry_point",),
    "canonical_solution": ("canonical_solution",),
    "test": ("test",),
}
"""Canonical field -> spellings tried; ``--map`` may rename any of them."""


def _loaded_names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def split_check(test_src: str) -> tuple[str, list[TestCase], list[tuple[Any, ...]]]:
    """Split a HumanEval ``test`` module into (test_setup, cases, literal candidate calls for the workload).

    Raises ValueError when the module has no ``check`` function taking one argument, SyntaxError when it does
    not parse.
    """
    tree = ast.parse(test_src)
    check = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "check"), None)
    if check is None or len(check.args.args) != 1:
        raise ValueError("the test defines no check(candidate) function")
    param = check.args.args[0].arg
    calls = literal_calls(check, [param])
    whole: list[TestCase] = [AssertCase(code="check(candidate)", name="check")]

    body = [s for s in check.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    splittable = bool(body) and all(
        isinstance(s, ast.Assert) and not any(isinstance(n, ast.NamedExpr) for n in ast.walk(s)) for s in body
    )
    if not splittable:
        return normalise_code(test_src), whole, calls

    lines = test_src.splitlines()
    first = min([check.lineno, *(d.lineno for d in check.decorator_list)])
    end = check.end_lineno or check.lineno
    setup = "\n".join(lines[: first - 1] + lines[end:]).strip()
    prefix = "" if param == "candidate" else f"{param} = candidate\n"
    cases: list[TestCase] = []
    for stmt in body:
        if param not in _loaded_names(stmt):
            continue
        segment = ast.get_source_segment(test_src, stmt)
        if segment is None:
            return normalise_code(test_src), whole, calls
        code = prefix + segment
        try:
            compile(code, "<case>", "exec", dont_inherit=True)
        except SyntaxError:
            return normalise_code(test_src), whole, calls
        cases.append(AssertCase(code=code, name=f"assert@{stmt.lineno}"))
    if not cases:
        return normalise_code(test_src), whole, calls
    return (normalise_code(setup) if setup else ""), cases, calls


def _module_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        else:
            names.update(n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
    return names


def with_prompt_helpers(prompt: str, entry: str, test_src: str, setup: str) -> str:
    """Prepend the prompt to the test setup when the tests use helpers the prompt defines.

    Some HumanEval tests call functions given in the prompt (``encode_cyclic`` to test ``decode_cyclic``,
    ``poly`` to test ``find_zero``). The original harness runs everything in one namespace; here the tests run
    in their own, so the prompt's definitions are put into the setup. The tests then use the dataset's
    helpers, not the candidate's, so a candidate cannot pass by redefining a helper. The entry point's stub
    from the prompt is overwritten by the candidate when the cases run.
    """
    test_tree = ast.parse(test_src)
    used = {n.id for n in ast.walk(test_tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    try:
        prompt_names = _module_names(ast.parse(prompt))
    except SyntaxError:
        return setup
    helpers = (prompt_names - {entry}) - _module_names(test_tree)
    if not used & helpers:
        return setup
    return normalise_code(prompt.rstrip() + "\n\n\n" + setup) if setup else prompt


def convert_humaneval(
    records: list[Record],
    *,
    path: Path,
    source: str,
    license: str | None,
    mapping: dict[str, str] | None = None,
) -> Converted:
    """Turn HumanEval records into tasks; a record missing a field raises TaskFileError with its line."""
    reader = FieldReader(path, FIELDS, mapping)
    out = Converted()
    split_count = 0
    for rec in records:
        task_id = str(reader.get(rec, "task_id", kind=None))
        prompt = normalise_code(reader.get(rec, "prompt"))
        entry = reader.get(rec, "entry_point").strip()
        solution = reader.get(rec, "canonical_solution")
        test_src = normalise_code(reader.get(rec, "test"))
        reference = normalise_code(prompt + solution)
        try:
            ast.parse(reference)
        except SyntaxError as err:
            out.skipped.append(Skip(task_id, f"reference does not parse (line {err.lineno}: {err.msg})"))
            continue
        try:
            setup, cases, calls = split_check(test_src)
        except SyntaxError as err:
            out.skipped.append(Skip(task_id, f"test does not parse (line {err.lineno}: {err.msg})"))
            continue
        except ValueError as err:
            out.skipped.append(Skip(task_id, str(err)))
            continue
        split_count += len(cases) > 1
        setup = with_prompt_helpers(prompt, entry, test_src, setup)
        spec = (
            f"Implement the Python function `{entry}` described by this stub; keep its name and signature."
            "\n\n"
            f"```python\n{prompt}```"
        )
        out.tasks.append(
            Task(
                id=task_id,
                spec=spec,
                entry_point=entry,
                tests=tuple(cases),
                seed_code=None,
                reference=reference,
                workload=derive_workload(cases, calls),
                test_setup=setup,
                source=source,
                license=license,
                tags=("humaneval",),
            )
        )
    out.notes.append(f"{split_count} of {len(out.tasks)} check() functions split into separate asserts")
    return out
