"""``llmsde score CODE.py --task ID``: score one file against one task, the way every iteration is scored."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["register"]


def _fmt(value: float) -> str:
    return "missing" if math.isnan(value) else f"{value:.2f}"


def score(
    code_file: Annotated[Path, typer.Argument(help="Python file to score.")],
    task: Annotated[str, typer.Option("--task", help="Task id (see `llmsde tasks list`).")],
    config: Annotated[
        Path | None, typer.Option("--config", help="Study config whose [scoring]/[sandbox] to use.")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Score CODE_FILE on security, efficiency and functionality against TASK, with the raw findings."""
    from llmsde import api, render

    result = api.score_file(code_file, task, config)
    if json_out:
        render.print_json(result.to_dict())
        return
    render.print_kv(
        f"{code_file} on task {task}",
        [
            ("security", _fmt(result.security)),
            ("efficiency", _fmt(result.efficiency)),
            ("functionality", _fmt(result.functionality)),
            ("reason", result.reason or ""),
        ],
    )
    findings: list[dict[str, Any]] = list(result.raw.get("bandit") or [])
    if findings:
        render.print_table(
            "bandit findings",
            ["test", "cwe", "severity", "confidence", "line", "text"],
            [
                [
                    str(f.get("test_id")),
                    str(f.get("cwe")),
                    str(f.get("severity")),
                    str(f.get("confidence")),
                    str(f.get("line")),
                    str(f.get("text")),
                ]
                for f in findings
            ],
        )
    radon = result.raw.get("radon")
    if radon:
        render.print_kv("radon", [(str(k), str(v)) for k, v in radon.items()])
    timing = result.raw.get("timing")
    if timing:
        render.print_kv("timing", [(str(k), str(v)) for k, v in timing.items()])
    tests: list[dict[str, Any]] = list(result.raw.get("tests") or [])
    if tests:
        render.print_table(
            "tests",
            ["test", "result", "reason"],
            [[str(t.get("name")), "pass" if t.get("passed") else "FAIL", str(t.get("reason") or "")] for t in tests],
        )


def register(app: typer.Typer) -> None:
    """Add the ``score`` command."""
    app.command("score")(score)
