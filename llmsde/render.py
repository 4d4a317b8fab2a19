"""The only module that imports rich: tables, JSON, progress and the one-line error printer.

Commands build plain rows (lists of strings) and hand them here, so the look of the terminal output lives in one
place and nothing below the CLI depends on rich.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

__all__ = [
    "print_error",
    "print_json",
    "print_kv",
    "print_status",
    "print_table",
    "print_text",
    "print_warning",
    "progress_bar",
]

_out = Console(highlight=False, soft_wrap=False)
_err = Console(stderr=True, highlight=False, soft_wrap=True)


def print_error(message: str) -> None:
    """One red line on stderr: what is wrong and how to fix it."""
    _err.print(f"[bold red]error:[/] {escape(message)}", markup=True, highlight=False)


def print_warning(message: str) -> None:
    """One yellow line on stderr."""
    _err.print(f"[bold yellow]warning:[/] {escape(message)}", markup=True, highlight=False)


def print_status(message: str) -> None:
    """One plain line on stderr, for status that must not mix with ``--json`` output on stdout."""
    _err.print(Text(message))


def print_text(text: str) -> None:
    """Plain text on stdout (no markup interpretation)."""
    _out.print(text, markup=False, highlight=False)


def print_json(obj: Any) -> None:
    """One JSON document on stdout, machine-readable (no colours, no wrapping)."""
    sys.stdout.write(json.dumps(obj, indent=2, allow_nan=False) + "\n")
    sys.stdout.flush()


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A titled table of pre-formatted cells."""
    table = Table(title=Text(title), title_justify="left")
    for col in columns:
        table.add_column(Text(col), overflow="fold")
    for row in rows:
        table.add_row(*(Text(str(cell)) for cell in row))
    _out.print(table)


def print_kv(title: str, pairs: Sequence[tuple[str, str]]) -> None:
    """A two-column key/value summary (no header row)."""
    _out.print(Text(title, style="bold"))
    table = Table(show_header=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in pairs:
        table.add_row(Text(str(key)), Text(str(value)))
    _out.print(table)


@contextmanager
def progress_bar(total: int, description: str) -> Iterator[Any]:
    """A progress bar on stderr; yields ``update(done, text)`` to move it and set its status text."""
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[status]}"),
    )
    with Progress(*columns, console=_err, transient=False) as prog:
        task_id = prog.add_task(description, total=total, status="")

        def update(done: int, status: str = "") -> None:
            prog.update(task_id, completed=done, status=status)

        yield update
