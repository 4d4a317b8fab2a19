"""``llmsde tasks list|show|import``: browse the built-in and imported tasks, import standard datasets.

Flags are parsed here and handed to :func:`llmsde.api.list_tasks`, :func:`~llmsde.api.show_task` and
:func:`~llmsde.api.import_tasks`; everything is imported inside the commands so ``llmsde --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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


def list_tasks(
    source: SourceOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON array.")] = False,
) -> None:
    """List the built-in and imported tasks with their sources, licences and test counts."""
    from llmsde import api, render

    rows = api.list_tasks(source)
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
    from llmsde import api, render

    view = api.show_task(task_id, source)
    if json_out:
        render.print_json(view.to_dict())
        return
    render.print_kv(f"task {task_id}", view.summary_rows())
    t = view.task
    render.print_text(f"\nspec:\n{t.spec}")
    for label, code in (("seed code", t.seed_code), ("reference", t.reference), ("test setup", t.test_setup)):
        if code:
            render.print_text(f"\n{label}:\n{code.rstrip()}")
    if t.tests:
        render.print_text("\ntests:")
        for line in view.test_lines():
            render.print_text(f"  {line}")


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
    from functools import partial

    from llmsde import api, render

    run_import = partial(
        api.import_tasks,
        file,
        fmt=fmt,
        out=out,
        limit=limit,
        license=license,
        mapping=mapping,
        verify=not no_verify,
        keep_failing=keep_failing,
        overwrite=force,
        dry_run=dry_run,
        jobs=jobs,
    )
    if json_out or no_verify:
        report = run_import()
    else:
        total = len(api.convert_tasks(file, fmt, limit=limit, license=license, mapping=mapping))
        with render.progress_bar(total=total, description="verifying references") as update:
            report = run_import(on_progress=lambda done, _n: update(done))
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
