"""The task-side public API (``list_tasks``, ``show_task``, ``convert_tasks``, ``import_tasks``), re-exported
by :mod:`llmsde.api`.

Tasks come from the built-in suite plus imported task directories (default: every one under ./tasks). The
task layer is imported inside the functions, so importing this module is free.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmsde.tasks.importers import ImportReport
    from llmsde.tasks.io import CatalogEntry
    from llmsde.tasks.model import Task

__all__ = ["TaskView", "convert_tasks", "import_tasks", "list_tasks", "show_task"]

Sources = Sequence[str | Path] | None
"""Task directories to include; None or empty: every imported directory under ./tasks."""


def _entries(sources: Sources) -> list[CatalogEntry]:
    from llmsde.tasks import builtin_tasks
    from llmsde.tasks.io import catalogue, find_task_dirs

    dirs: list[str | Path] = list(sources) if sources else list(find_task_dirs("tasks"))
    return catalogue(builtin_tasks(), dirs)


def _summary(entry: CatalogEntry) -> dict[str, Any]:
    from llmsde.tasks.model import IOCase

    t = entry.task
    n_io = sum(isinstance(c, IOCase) for c in t.tests)
    return {
        "id": t.id,
        "origin": entry.origin,
        "source": t.source,
        "license": entry.license,
        "entry_point": t.entry_point,
        "tests": len(t.tests),
        "io_tests": n_io,
        "assert_tests": len(t.tests) - n_io,
        "has_seed": t.seed_code is not None,
        "has_reference": t.reference is not None,
        "workload_calls": 0 if t.workload is None else len(t.workload.calls),
        "cwe": list(t.cwe),
        "tags": list(t.tags),
    }


def _case_text(case: Any) -> str:
    from llmsde.tasks.model import IOCase

    if isinstance(case, IOCase):
        args = ", ".join(repr(a) for a in case.args)
        kwargs = "".join(f", {k}={v!r}" for k, v in case.kwargs.items())
        return f"[{case.name or 'io'}] f({args}{kwargs}) == {case.expected!r} ({case.compare})"
    first = case.code.strip().splitlines()
    return f"[{case.name or 'assert'}] {first[-1] if first else ''}"


@dataclass(frozen=True, slots=True)
class TaskView:
    """One task as :func:`show_task` finds it: the catalogue summary and the task itself."""

    summary: dict[str, Any]
    """The same fields as one entry of :func:`list_tasks`."""
    task: Task

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the summary plus the full task under ``"task"``."""
        from llmsde.tasks.model import task_to_dict

        return {**self.summary, "task": task_to_dict(self.task)}

    def summary_rows(self) -> list[tuple[str, str]]:
        """The summary as (key, text) rows for a terminal; a missing entry point says why there is none."""
        rows = []
        for key, value in self.summary.items():
            if key == "entry_point" and value is None:
                text = "none: no test or workload calls this task's code; security and radon score all of it"
            elif isinstance(value, list):
                text = ", ".join(map(str, value))
            else:
                text = "-" if value is None else str(value)
            rows.append((key, text))
        return rows

    def test_lines(self) -> list[str]:
        """One line per test case: ``[name] f(args) == expected (compare)`` or the last line of an assert."""
        return [_case_text(case) for case in self.task.tests]


def list_tasks(sources: Sources = None) -> list[dict[str, Any]]:
    """A summary of every built-in and imported task: id, origin, source, licence, entry point, test counts,
    whether it has seed and reference code, workload size, CWE ids and tags."""
    return [_summary(e) for e in _entries(sources)]


def show_task(task_id: str, sources: Sources = None) -> TaskView:
    """One task by id; an unknown id is a ConfigError suggesting the closest ids."""
    import difflib

    from llmsde.errors import ConfigError

    entries = _entries(sources)
    match = next((e for e in entries if e.task.id == task_id), None)
    if match is None:
        close = difflib.get_close_matches(task_id, [e.task.id for e in entries], n=3)
        hint = f"did you mean {', '.join(close)}?" if close else "see `llmsde tasks list`"
        raise ConfigError(f"unknown task '{task_id}'", hint)
    return TaskView(_summary(match), match.task)


def _fields(mapping: Mapping[str, str] | str | None) -> dict[str, str]:
    from llmsde.tasks.importers import parse_map

    return parse_map(mapping) if mapping is None or isinstance(mapping, str) else dict(mapping)


def convert_tasks(
    file: str | Path,
    fmt: str = "auto",
    *,
    limit: int | None = None,
    license: str | None = None,
    mapping: Mapping[str, str] | str | None = None,
) -> list[Task]:
    """The tasks a dataset file converts to, without verifying or writing anything (what :func:`import_tasks`
    would verify). ``mapping`` renames fields: a dict or the CLI's ``"field=column,..."`` text."""
    from llmsde.tasks.importers import convert_file

    fields = _fields(mapping)
    return convert_file(Path(file), fmt, limit=limit, license=license, mapping=fields)[1].tasks


def import_tasks(
    file: str | Path,
    *,
    fmt: str = "auto",
    out: str | Path | None = None,
    limit: int | None = None,
    license: str | None = None,
    mapping: Mapping[str, str] | str | None = None,
    verify: bool = True,
    keep_failing: bool = False,
    overwrite: bool = False,
    dry_run: bool = False,
    jobs: int = 2,
    on_progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Import a dataset file (HumanEval, MBPP, security seeds; JSONL, JSONL.gz or a JSON array) as a task
    directory (default ``tasks/<name>``): convert, verify each reference in the sandbox, write atomically.

    ``fmt`` is ``humaneval``, ``mbpp``, ``security-seed`` or ``auto``; ``mapping`` as in :func:`convert_tasks`;
    ``on_progress(done, total)`` follows the verification.
    """
    from llmsde.tasks.importers import import_dataset

    return import_dataset(
        file,
        out=out,
        fmt=fmt,
        limit=limit,
        license=license,
        mapping=_fields(mapping),
        verify=verify,
        keep_failing=keep_failing,
        overwrite=overwrite,
        dry_run=dry_run,
        jobs=jobs,
        on_progress=on_progress,
    )
