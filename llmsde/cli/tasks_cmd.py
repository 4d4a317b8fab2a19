"""``llmsde tasks list|show|import``: browse the built-in and imported tasks, import standard datasets.

Flags are parsed here and handed to :mod:`llmsde.tasks.importers` and :mod:`llmsde.tasks.io`; everything is
imported inside the commands so ``llmsde --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from llmsde.tasks.io import CatalogEntry

__all__ = ["register"]

tasks_app = typer.Typer(
    name="tasks", help="List, show and import tasks (HumanEval, MBPP, security seeds).", no_args_is_help=True
)

SourceOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--source",
        help="Task directory to include (repeatable). Default: every imported directory under ./tasks.",
    ),
]


def _entries(sources: list[Path] | None) -> list[CatalogEntry]:
    from llmsde.tasks import builtin_tasks
    from llmsde.tasks.io import catalogue, find_task_dirs

    dirs: list[Path] = list(sources) if sources else find_task_dirs("tasks")
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


def list_tasks(
    source: SourceOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON array.")] = False,
) -> None:
    """List the built-in and imported tasks with their sources, licences and test counts."""
    from llmsde import render

    rows = [_summary(e) for e in _entries(source)]
    if json_out:
        render.print_json(rows)
        return
    render.print_table(
        f"{len(rows)} tasks",
        ["id", "origin", "licence", "tests", "seed", "ref", "cwe"],
        [
            [
                r["id"],
                r["origin"],
                r["license"] or "-",
                f"{r['tests']} ({r['io_tests']} io)" if r["tests"] else "none",
                "yes" if r["has_seed"] else "-",
                "yes" if r["has_reference"] else "-",
                ",".join(r["cwe"]) or "-",
            ]
            for r in rows
        ],
    )


def show(
    task_id: Annotated[str, typer.Argument(help="Task id, as `llmsde tasks list` shows it.")],
    source: SourceOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the task as JSON.")] = False,
) -> None:
    """Show one task: its spec, entry point, tests, seed and reference code."""
    import difflib

    from llmsde import render
    from llmsde.errors import ConfigError
    from llmsde.tasks.model import task_to_dict

    entries = _entries(source)
    match = next((e for e in entries if e.task.id == task_id), None)
    if match is None:
        close = difflib.get_close_matches(task_id, [e.task.id for e in entries], n=3)
        hint = f"did you mean {', '.join(close)}?" if close else "see `llmsde tasks list`"
        raise ConfigError(f"unknown task '{task_id}'", hint)
    if json_out:
        render.print_json({**_summary(match), "task": task_to_dict(match.task)})
        return
    summary = _summary(match)
    render.print_kv(
        f"task {task_id}",
        [
            (k, ", ".join(map(str, v)) if isinstance(v, list) else "-" if v is None else str(v))
            for k, v in summary.items()
        ],
    )
    t = match.task
    render.print_text(f"\nspec:\n{t.spec}")
    for label, code in (("seed code", t.seed_code), ("reference", t.reference), ("test setup", t.test_setup)):
        if code:
            render.print_text(f"\n{label}:\n{code.rstrip()}")
    if t.tests:
        render.print_text("\ntests:")
        for case in t.tests:
            render.print_text(f"  {_case_text(case)}")


def _case_text(case: Any) -> str:
    from llmsde.tasks.model import IOCase

    if isinstance(case, IOCase):
        args = ", ".join(repr(a) for a in case.args)
        kwargs = "".join(f", {k}={v!r}" for k, v in case.kwargs.items())
        return f"[{case.name or 'io'}] f({args}{kwargs}) == {case.expected!r} ({case.compare})"
    first = case.code.strip().splitlines()
    return f"[{case.name or 'assert'}] {first[-1] if first else ''}"


def import_cmd(
    file: Annotated[Path, typer.Argument(help="Dataset file: JSONL, JSONL.gz or a JSON array.")],
    fmt: Annotated[
        str, typer.Option("--format", help="humaneval, mbpp, security-seed, or auto (from the fields).")
    ] = "auto",
    out: Annotated[Path | None, typer.Option("--out", help="Task directory to write (default tasks/<name>).")] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="Import only the first N records.")] = None,
    license: Annotated[str | None, typer.Option("--license", help="Licence of the dataset, recorded.")] = None,
    mapping: Annotated[str | None, typer.Option("--map", help="Rename fields: field=column,...")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing --out directory.")] = False,
    no_verify: Annotated[bool, typer.Option("--no-verify", help="Skip running the references in the sandbox.")] = False,
    keep_failing: Annotated[
        bool, typer.Option("--keep-failing", help="Keep tasks whose reference fails its tests.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Convert and verify, write nothing.")] = False,
    jobs: Annotated[int, typer.Option("--jobs", min=1, help="References verified in parallel.")] = 2,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object.")] = False,
) -> None:
    """Import a dataset FILE as tasks: convert, verify each reference in the sandbox, write a task directory.

    Name the directory in a config as `tasks = ["builtin", "tasks/<name>"]`.
    """
    from llmsde import render
    from llmsde.tasks.importers import convert_file, import_dataset, parse_map

    fields = parse_map(mapping)
    kwargs: dict[str, Any] = {
        "out": out,
        "fmt": fmt,
        "limit": limit,
        "license": license,
        "mapping": fields,
        "verify": not no_verify,
        "keep_failing": keep_failing,
        "overwrite": force,
        "dry_run": dry_run,
        "jobs": jobs,
    }
    if json_out or no_verify:
        report = import_dataset(file, **kwargs)
    else:
        total = len(convert_file(file, fmt, limit=limit, license=license, mapping=fields)[1].tasks)
        with render.progress_bar(total=total, description="verifying references") as update:
            report = import_dataset(file, on_progress=lambda done, _n: update(done), **kwargs)
    if json_out:
        render.print_json(report.to_dict())
        return
    data = report.to_dict()
    rate = data["reference_pass_rate"]
    render.print_kv(
        "import summary",
        [
            ("file", str(file)),
            ("format", report.format),
            ("written to", report.out_dir or "(dry run: nothing written)"),
            ("imported", str(report.imported)),
            ("skipped", str(len(report.skipped))),
            (
                "references passing",
                "not verified"
                if report.reference_passed is None
                else f"{report.reference_passed}/{report.reference_total}"
                + ("" if rate is None else f" ({100 * rate:.0f}%)"),
            ),
        ],
    )
    if report.skipped:
        render.print_table("skipped", ["id", "reason"], [[s.id, s.reason] for s in report.skipped])
    for note in report.notes:
        render.print_text(f"note: {note}")
    if report.out_dir:
        render.print_text(f'use it with: tasks = ["builtin", "{report.out_dir}"]')


def register(app: typer.Typer) -> None:
    """Add the ``tasks`` command group."""
    tasks_app.command("list")(list_tasks)
    tasks_app.command("show")(show)
    tasks_app.command("import")(import_cmd)
    app.add_typer(tasks_app, name="tasks")
