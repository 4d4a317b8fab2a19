"""MBPP importer for both published shapes, detected per record.

- full JSONL: ``text, code, task_id, test_setup_code, test_list, challenge_test_list``
- sanitized JSON array (or JSONL): ``prompt, code, task_id, test_imports, test_list, source_file``

MBPP has no entry-point field. The entry point is the one function that ``code`` defines at top level *and*
``test_list`` calls; when there is no such function, or more than one, the record is skipped with the names
found, never guessed. ``assert f(args) == expected`` with JSON-safe literal arguments and expected value
becomes an :class:`IOCase` (compared in the trusted parent); every other test stays an :class:`AssertCase`.
Only ``test_list`` is used, as in the original MBPP evaluation; ``challenge_test_list`` is ignored. Seed code
is None (the model writes the first solution); ``code`` is the reference.
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
    called_names,
    defined_functions,
    derive_workload,
    literal,
    literal_call_args,
    literal_calls,
    normalise_code,
)
from llmsde.tasks.model import AssertCase, IOCase, Task, TestCase

__all__ = ["FIELDS", "convert_assert", "convert_mbpp", "find_entry_point"]

FIELDS: dict[str, tuple[str, ...]] = {
    "task_id": ("task_id",),
    "text": ("text", "prompt"),
    "code": ("code",),
    "test_list": ("test_list",),
    "test_setup": ("test_setup_code", "test_imports"),
}
"""Canonical field -> spellings tried (full shape first, then sanitized); ``--map`` may rename any of them."""


def find_entry_point(code: str, tests: list[str]) -> tuple[str | None, str]:
    """The function both defined in ``code`` and called by ``tests``: ``(name, "")`` or ``(None, why
    not)``."""
    defined = defined_functions(code)
    called: set[str] = set()
    for test in tests:
        called |= called_names(test)
    both = [name for name in defined if name in called]
    if len(both) == 1:
        return both[0], ""
    if not both:
        return None, (
            f"no function defined in the code is called by the tests "
            f"(defined: {', '.join(defined) or 'none'}; called: {', '.join(sorted(called)) or 'none'})"
        )
    return None, f"ambiguous entry point: the tests call several defined functions ({', '.join(both)})"


def convert_assert(test: str, entry: str, name: str) -> tuple[TestCase, list[tuple[Any, ...]]]:
    """One MBPP test string as an IOCase when it is ``assert entry(literals) == literal``, else an AssertCase.

    Also returns the literal positional calls of ``entry`` it contains, for the derived workload. Raises
    SyntaxError when the test does not parse.
    """
    tree = ast.parse(test)
    calls = literal_calls(tree, [entry])
    if len(tree.body) == 1 and isinstance(tree.body[0], ast.Assert) and tree.body[0].msg is None:
        cmp = tree.body[0].test
        if isinstance(cmp, ast.Compare) and len(cmp.ops) == 1 and isinstance(cmp.ops[0], ast.Eq):
            for call_node, exp_node in ((cmp.left, cmp.comparators[0]), (cmp.comparators[0], cmp.left)):
                if (
                    isinstance(call_node, ast.Call)
                    and isinstance(call_node.func, ast.Name)
                    and call_node.func.id == entry
                ):
                    ok, args, kwargs = literal_call_args(call_node)
                    ok_exp, expected = literal(exp_node)
                    if ok and ok_exp:
                        return IOCase(args=args, expected=expected, kwargs=kwargs, name=name), calls
    return AssertCase(code=test, name=name), calls


def convert_mbpp(
    records: list[Record],
    *,
    path: Path,
    source: str,
    license: str | None,
    mapping: dict[str, str] | None = None,
) -> Converted:
    """Turn MBPP records (either shape) into tasks; a record missing a field raises TaskFileError with its
    line."""
    reader = FieldReader(path, FIELDS, mapping)
    out = Converted()
    io_count = total_count = 0
    for rec in records:
        task_id = f"mbpp/{reader.get(rec, 'task_id', kind=None)}"
        text = reader.get(rec, "text").strip()
        code = normalise_code(reader.get(rec, "code"))
        tests = reader.get(rec, "test_list", kind=list)
        setup_raw = reader.get(rec, "test_setup", required=False, kind=None) or ""
        setup = "\n".join(setup_raw) if isinstance(setup_raw, list) else str(setup_raw)
        if not tests or not all(isinstance(t, str) for t in tests):
            out.skipped.append(Skip(task_id, "test_list is empty or holds non-strings"))
            continue
        tests = [normalise_code(t).strip() for t in tests]
        try:
            entry, why = find_entry_point(code, tests)
        except SyntaxError as err:
            out.skipped.append(Skip(task_id, f"code or tests do not parse (line {err.lineno}: {err.msg})"))
            continue
        if entry is None:
            out.skipped.append(Skip(task_id, why))
            continue
        cases: list[TestCase] = []
        calls: list[tuple[Any, ...]] = []
        for i, test in enumerate(tests):
            case, found = convert_assert(test, entry, f"test_{i + 1}")
            cases.append(case)
            calls.extend(found)
        io_count += sum(isinstance(c, IOCase) for c in cases)
        total_count += len(cases)
        spec = f"{text}\nWrite it as a Python function named `{entry}`. It must satisfy, e.g.:\n{tests[0]}"
        out.tasks.append(
            Task(
                id=task_id,
                spec=spec,
                entry_point=entry,
                tests=tuple(cases),
                seed_code=None,
                reference=code,
                workload=derive_workload(cases, calls),
                test_setup=normalise_code(setup) if setup.strip() else "",
                source=source,
                license=license,
                tags=("mbpp",),
            )
        )
    out.notes.append(f"{io_count} of {total_count} tests converted to IOCase, the rest kept as assertions")
    return out
