"""Security-seed importer: a prompt stub plus deliberately insecure seed code per JSONL line.

Known shapes: SecurityEval (``ID, Prompt, Insecure_code``) and SALLM (``id, prompt, insecure_code, technique,
source``); ``--map id=...,prompt=...,seed=...`` names the fields of any other file. The CWE comes from the id
when it holds one (``CWE-020_author_1.py`` -> ``CWE-20``) or from an explicit ``cwe`` field. These datasets
carry no unit tests, so the tasks have none and their functionality is reported as missing (NaN), never as 0
or 10. Nothing calls a test-less task's code (security and radon read any parseable code), so it needs no entry
point: it is the first top-level function the seed defines, which tells the code extractor which block of a reply
to prefer, and None when the seed defines only a class (the spec then names the class). A seed that defines
neither is skipped: it is a script whose statements run at import, so the sandbox could not even load it
without running it.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from llmsde.tasks.importers.common import (
    Converted,
    FieldReader,
    Record,
    Skip,
    defined_classes,
    defined_functions,
    normalise_code,
)
from llmsde.tasks.model import Task

__all__ = ["FIELDS", "convert_security_seed", "cwe_from_id"]

FIELDS: dict[str, tuple[str, ...]] = {
    "id": ("ID", "id", "task_id"),
    "prompt": ("Prompt", "prompt"),
    "seed": ("Insecure_code", "insecure_code"),
    "cwe": ("cwe", "CWE"),
    "technique": ("technique",),
}
"""Canonical field -> spellings tried; ``--map`` may rename any of them."""

_CWE = re.compile(r"CWE[-_ ]?0*(\d+)", re.IGNORECASE)


def cwe_from_id(text: str) -> tuple[str, ...]:
    """Every CWE named in ``text``, normalised to ``CWE-<number>`` without leading zeros, in order of
    appearance."""
    found: list[str] = []
    for match in _CWE.finditer(text):
        cwe = f"CWE-{int(match.group(1))}"
        if cwe not in found:
            found.append(cwe)
    return tuple(found)


def _task_id(raw: str) -> str:
    return re.sub(r"\.py$", "", raw.strip())


def convert_security_seed(
    records: list[Record],
    *,
    path: Path,
    source: str,
    license: str | None,
    mapping: dict[str, str] | None = None,
) -> Converted:
    """Turn prompt-plus-insecure-seed records into test-less tasks with CWE tags."""
    reader = FieldReader(path, FIELDS, mapping)
    out = Converted()
    for rec in records:
        task_id = _task_id(str(reader.get(rec, "id", kind=None)))
        prompt = normalise_code(reader.get(rec, "prompt"))
        seed = normalise_code(reader.get(rec, "seed"))
        try:
            functions, classes = defined_functions(seed), defined_classes(seed)
        except SyntaxError as err:
            out.skipped.append(Skip(task_id, f"seed code does not parse (line {err.lineno}: {err.msg})"))
            continue
        if not functions and not classes:
            out.skipped.append(Skip(task_id, "seed code defines no top-level function or class (a script)"))
            continue
        what = f"function `{functions[0]}`" if functions else f"class `{classes[0]}`"
        try:
            ast.parse(prompt)
            shown = f"```python\n{prompt}```"
        except SyntaxError:
            shown = prompt.strip()
        cwe_field = reader.get(rec, "cwe", required=False, kind=None)
        cwe = cwe_from_id(str(cwe_field)) if cwe_field is not None else cwe_from_id(task_id)
        technique = reader.get(rec, "technique", required=False, kind=None)
        tags = ("insecure-seed", *((f"technique:{technique}",) if technique else ()))
        out.tasks.append(
            Task(
                id=task_id,
                spec=f"Complete the {what} as described below.\n\n{shown}",
                entry_point=functions[0] if functions else None,
                tests=(),
                seed_code=seed,
                reference=None,
                workload=None,
                source=source,
                cwe=cwe,
                license=license,
                tags=tags,
            )
        )
    if out.tasks:
        out.notes.append(f"{len(out.tasks)} tasks have no unit tests: their functionality is reported as missing")
    return out
