"""Task directories: imported (or hand-written) tasks on disk, one JSON file per task plus ``index.json``.

A config names a directory in ``tasks = ["builtin", "tasks/humaneval"]``; :func:`read_task_dir` loads it. The
index records where the tasks came from (source file, format, licence, import time, reference pass rate) and
lists the task files in order. A directory without an index is read too (every ``*.json`` but ``index.json``,
in name order), so a researcher can write tasks by hand in the :func:`~llmsde.tasks.model.task_to_dict`
format.

Writes are all-or-nothing: :func:`write_task_dir` fills a hidden sibling directory and renames it into place,
so a crash or a bad record never leaves a half-imported directory that a later run would silently use.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from llmsde.errors import TaskFileError
from llmsde.tasks.model import Task, task_from_dict, task_to_dict

__all__ = [
    "INDEX_NAME",
    "TASK_DIR_SCHEMA",
    "CatalogEntry",
    "catalogue",
    "find_task_dirs",
    "read_manifest",
    "read_task_dir",
    "safe_id",
    "write_task_dir",
]

INDEX_NAME = "index.json"
TASK_DIR_SCHEMA = 1
"""Version of the index format; bumped when a reader of the old format would misread the new one."""


def safe_id(text: str) -> str:
    """A task id as a file-name stem: keeps letters, digits and ``-_.``; every other run becomes ``_``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "task"


def _file_names(tasks: Sequence[Task]) -> list[str]:
    names: list[str] = []
    used: set[str] = {INDEX_NAME.lower()}
    for task in tasks:
        stem = safe_id(task.id)
        name, n = f"{stem}.json", 1
        while name.lower() in used:
            n += 1
            name = f"{stem}-{n}.json"
        used.add(name.lower())
        names.append(name)
    return names


def _write_json(path: Path, data: Any) -> None:
    with path.open("w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False, allow_nan=False)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())


def write_task_dir(
    out: str | Path, tasks: Sequence[Task], manifest: Mapping[str, Any], *, overwrite: bool = False
) -> Path:
    """Write ``tasks`` and an index holding ``manifest`` (plus the task list) into ``out``, atomically.

    An existing ``out`` is a TaskFileError unless ``overwrite``; then it is replaced only after the new
    directory is complete. Returns the directory written.
    """
    out = Path(out)
    if out.exists() and not overwrite:
        raise TaskFileError(f"{out} already exists", "pass --force to replace it, or choose another --out")
    ids = [t.id for t in tasks]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise TaskFileError(f"duplicate task ids: {', '.join(dupes[:5])}", "task ids must be unique in a directory")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        names = _file_names(tasks)
        for task, name in zip(tasks, names, strict=True):
            _write_json(tmp / name, task_to_dict(task))
        index = {
            **manifest,
            "schema_version": TASK_DIR_SCHEMA,
            "tasks": [{"id": t.id, "file": name, "tests": len(t.tests)} for t, name in zip(tasks, names, strict=True)],
        }
        _write_json(tmp / INDEX_NAME, index)
        if out.exists():
            old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TaskFileError(f"task file not found: {path}", "re-import the directory or fix index.json") from None
    except json.JSONDecodeError as err:
        raise TaskFileError(f"{path} line {err.lineno}: invalid JSON ({err.msg})", "fix or re-import it") from None
    except (OSError, UnicodeDecodeError) as err:
        raise TaskFileError(f"cannot read {path}: {err}", "check the file") from None


def read_manifest(path: str | Path) -> dict[str, Any] | None:
    """The index of a task directory, or None when it has none."""
    index = Path(path) / INDEX_NAME
    if not index.is_file():
        return None
    data = _load_json(index)
    if not isinstance(data, dict):
        raise TaskFileError(f"{index} is not a JSON object", "re-import the directory")
    version = data.get("schema_version", TASK_DIR_SCHEMA)
    if not isinstance(version, int) or version > TASK_DIR_SCHEMA:
        raise TaskFileError(
            f"{index} has schema_version {version!r}; this llmsde reads up to {TASK_DIR_SCHEMA}",
            "upgrade llmsde or re-import the dataset",
        )
    return data


def _task_files(root: Path, manifest: dict[str, Any] | None) -> list[Path]:
    if manifest is None:
        return sorted(p for p in root.glob("*.json") if p.name != INDEX_NAME)
    entries = manifest.get("tasks")
    if not isinstance(entries, list):
        raise TaskFileError(f"{root / INDEX_NAME} has no 'tasks' list", "re-import the directory")
    files: list[Path] = []
    for entry in entries:
        name = entry.get("file") if isinstance(entry, dict) else None
        if not isinstance(name, str) or Path(name).name != name:
            raise TaskFileError(f"{root / INDEX_NAME}: bad task entry {entry!r}", "re-import the directory")
        files.append(root / name)
    return files


def read_task_dir(path: str | Path) -> list[Task]:
    """Every task of a task directory, in index order; anything unreadable is a TaskFileError naming the
    file."""
    root = Path(path)
    if not root.is_dir():
        raise TaskFileError(f"task directory not found: {root}", "create one with `llmsde tasks import FILE --out DIR`")
    manifest = read_manifest(root)
    files = _task_files(root, manifest)
    if not files:
        raise TaskFileError(f"{root} holds no task files", "create one with `llmsde tasks import FILE --out DIR`")
    tasks: list[Task] = []
    seen: set[str] = set()
    for file in files:
        data = _load_json(file)
        try:
            if not isinstance(data, dict):
                raise TypeError("not an object")
            task = task_from_dict(data)
        except (KeyError, TypeError, ValueError) as err:
            raise TaskFileError(
                f"{file} is not a valid task ({type(err).__name__}: {err})",
                "see docs/datasets.md for the task file format",
            ) from None
        if task.entry_point is not None and not task.entry_point.isidentifier():
            raise TaskFileError(f"{file}: entry_point {task.entry_point!r} is not a Python name", "fix the file")
        if task.id in seen:
            raise TaskFileError(f"{file}: duplicate task id {task.id!r}", "task ids must be unique in a directory")
        seen.add(task.id)
        tasks.append(task)
    return tasks


class CatalogEntry(NamedTuple):
    """A task and where it was found: ``builtin`` or the task directory, plus that directory's licence."""

    task: Task
    origin: str
    license: str | None


def find_task_dirs(base: str | Path = "tasks") -> list[Path]:
    """Sub-directories of ``base`` with an ``index.json`` (``llmsde tasks import`` writes there)."""
    root = Path(base)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / INDEX_NAME).is_file())


def catalogue(builtin: Sequence[Task], dirs: Sequence[str | Path]) -> list[CatalogEntry]:
    """Built-in tasks followed by the tasks of each directory, each with its origin and licence."""
    entries = [CatalogEntry(t, "builtin", t.license) for t in builtin]
    for d in dirs:
        manifest = read_manifest(d) or {}
        licence = manifest.get("license")
        for task in read_task_dir(d):
            entries.append(CatalogEntry(task, str(d), task.license or licence))
    return entries
