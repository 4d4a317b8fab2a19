"""Shared pieces of the dataset importers: reading records, AST helpers, workloads and the result types.

Datasets arrive as JSONL (optionally gzipped) or as one JSON array. Every record keeps *where* it came from
(``line 12`` or ``item 3``) so a malformed record is a one-line :class:`~llmsde.errors.TaskFileError` a user
can find in the file. Tests written as Python source are analysed with :mod:`ast` only; nothing from a dataset
is ever executed in this process (verification runs it in the sandbox through the scorer).
"""

from __future__ import annotations

import ast
import gzip
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from llmsde.errors import ConfigError, TaskFileError
from llmsde.tasks.model import IOCase, Task, TestCase, Workload

__all__ = [
    "Converted",
    "FieldReader",
    "Record",
    "Skip",
    "called_names",
    "defined_classes",
    "defined_functions",
    "derive_workload",
    "is_json_safe",
    "literal",
    "literal_call_args",
    "literal_calls",
    "normalise_code",
    "parse_map",
    "read_records",
]

MAX_WORKLOAD_CALLS = 32
"""Derived workloads keep at most this many distinct calls, so timing one repeat stays well inside the CPU
limit."""


class Record(NamedTuple):
    """One raw dataset record and where it sits in the file (``line 12``, ``item 3``)."""

    where: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Skip:
    """A record that was read fine but cannot become a sound task; reported, never guessed."""

    id: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        """JSON-safe form for ``--json`` and the manifest."""
        return {"id": self.id, "reason": self.reason}


@dataclass(slots=True)
class Converted:
    """What an importer made of a file: the tasks, the records it skipped and notes worth showing."""

    tasks: list[Task] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _open_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise TaskFileError(
            f"dataset file not found: {path}", "pass an existing .jsonl, .jsonl.gz or .json file"
        ) from None
    except OSError as err:
        raise TaskFileError(f"cannot read {path}: {err.strerror}", "check the path and its permissions") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise TaskFileError(f"{path} is a damaged gzip file: {err}", "download the file again") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise TaskFileError(f"{path} is not UTF-8 text (byte {err.start})", "convert the file to UTF-8") from None


def read_records(path: Path) -> list[Record]:
    """Read every record of a JSONL, JSONL.gz or JSON-array file; the first malformed one raises
    TaskFileError."""
    text = _open_text(path)
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as err:
            raise TaskFileError(
                f"{path} line {err.lineno}: invalid JSON ({err.msg})", "fix the JSON array or give JSONL"
            ) from None
        records = [Record(f"item {i + 1}", item) for i, item in enumerate(items)]
    else:
        records = []
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as err:
                raise TaskFileError(
                    f"{path} line {lineno}: invalid JSON ({err.msg} at column {err.colno})",
                    "each line of a JSONL file must be one JSON object",
                ) from None
            records.append(Record(f"line {lineno}", item))
    for rec in records:
        if not isinstance(rec.data, dict):
            raise TaskFileError(
                f"{path} {rec.where}: expected a JSON object, got {type(rec.data).__name__}",
                "each record must be an object with the dataset's fields",
            )
    if not records:
        raise TaskFileError(f"{path} holds no records", "pass a non-empty dataset file")
    return records


class FieldReader:
    """Reads named fields of records, honouring ``--map`` renames and the dataset's alternative spellings.

    ``fields`` maps each canonical field name to the spellings tried in order (``id`` -> ``ID``, ``id``); a
    ``--map id=task_name`` entry replaces the spellings of ``id`` by ``task_name``.
    """

    def __init__(self, path: Path, fields: Mapping[str, Sequence[str]], mapping: Mapping[str, str] | None) -> None:
        unknown = sorted(set(mapping or {}) - set(fields))
        if unknown:
            raise ConfigError(
                f"--map names unknown field(s) {', '.join(unknown)}",
                f"fields of this format: {', '.join(sorted(fields))}",
            )
        self.path = path
        self.fields = {k: ((mapping[k],) if mapping and k in mapping else tuple(v)) for k, v in fields.items()}

    def get(self, rec: Record, name: str, *, required: bool = True, kind: type | None = str) -> Any:
        """The value of canonical field ``name``; a missing required field or a wrong type is a
        TaskFileError."""
        for key in self.fields[name]:
            if key in rec.data and rec.data[key] is not None:
                value = rec.data[key]
                if kind is not None and not isinstance(value, kind):
                    raise TaskFileError(
                        f"{self.path} {rec.where}: field '{key}' should be {kind.__name__}, got {type(value).__name__}",
                        "fix the record or name another field with --map",
                    )
                return value
        if required:
            spellings = " or ".join(f"'{k}'" for k in self.fields[name])
            raise TaskFileError(
                f"{self.path} {rec.where}: missing field {spellings}",
                f"check --format, or name the field with --map {name}=FIELD",
            )
        return None


def parse_map(text: str | None) -> dict[str, str]:
    """Parse ``--map k=v,k2=v2`` into a dict; a malformed pair is a ConfigError."""
    if not text:
        return {}
    out: dict[str, str] = {}
    for pair in text.split(","):
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigError(f"bad --map entry '{pair}'", "use --map field=column[,field=column...]")
        out[key.strip()] = value.strip()
    return out


def is_json_safe(value: Any) -> bool:
    """True when ``value`` survives a JSON round trip unchanged (no tuples, sets, bytes, NaN or infinities).

    IOCase arguments and expected values travel through JSON, so anything that would change on the way (a
    tuple becoming a list) would silently change the test; such cases stay AssertCases instead.
    """
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    back = json.loads(text)
    return _same(back, value)


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, float):
        return math.isfinite(a) and a == b
    return bool(a == b)


def literal(node: ast.expr) -> tuple[bool, Any]:
    """``(True, value)`` when ``node`` is a JSON-safe Python literal, else ``(False, None)``."""
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None
    return (True, value) if is_json_safe(value) else (False, None)


def literal_call_args(call: ast.Call) -> tuple[bool, tuple[Any, ...], dict[str, Any]]:
    """Positional and keyword arguments of ``call`` when all are JSON-safe literals (no ``*``/``**``)."""
    args: list[Any] = []
    for arg in call.args:
        ok, value = (False, None) if isinstance(arg, ast.Starred) else literal(arg)
        if not ok:
            return False, (), {}
        args.append(value)
    kwargs: dict[str, Any] = {}
    for kw in call.keywords:
        ok, value = (False, None) if kw.arg is None else literal(kw.value)
        if not ok or kw.arg is None:
            return False, (), {}
        kwargs[kw.arg] = value
    return True, tuple(args), kwargs


def literal_calls(tree: ast.AST, names: Iterable[str]) -> list[tuple[Any, ...]]:
    """Positional literal arguments of every call of one of ``names`` (no keywords) found in ``tree``."""
    wanted = set(names)
    calls: list[tuple[Any, ...]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in wanted:
            ok, args, kwargs = literal_call_args(node)
            if ok and not kwargs:
                calls.append(args)
    return calls


def defined_functions(code: str) -> list[str]:
    """Names of the top-level functions defined in ``code``, in order; raises SyntaxError if it does not
    parse."""
    tree = ast.parse(code)
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def defined_classes(code: str) -> list[str]:
    """Names of the top-level classes defined in ``code``, in order; raises SyntaxError if it does not parse."""
    return [n.name for n in ast.parse(code).body if isinstance(n, ast.ClassDef)]


def called_names(code: str) -> set[str]:
    """Names called directly (``name(...)``) anywhere in ``code``; raises SyntaxError if it does not parse."""
    return {n.func.id for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}


def derive_workload(tests: Sequence[TestCase], extra_calls: Iterable[tuple[Any, ...]] = ()) -> Workload | None:
    """A timing workload for datasets that have none: the distinct argument tuples their tests call with.

    IOCase arguments come first, then literal calls found in assertion code; keyword calls are left out
    because a Workload call is positional only. None when the tests never call the entry point with literals.
    """
    seen: list[tuple[Any, ...]] = []
    keys: set[str] = set()
    candidates = [c.args for c in tests if isinstance(c, IOCase) and not c.kwargs]
    for args in [*candidates, *extra_calls]:
        key = json.dumps(list(args), sort_keys=True)
        if key not in keys:
            keys.add(key)
            seen.append(tuple(args))
        if len(seen) >= MAX_WORKLOAD_CALLS:
            break
    return Workload(calls=tuple(seen)) if seen else None


def normalise_code(text: str) -> str:
    """Unix newlines and a final newline: datasets mix CRLF and LF, and code is compared and hashed later."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text if text.endswith("\n") else text + "\n"
