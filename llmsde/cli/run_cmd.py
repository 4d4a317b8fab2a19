"""``llmsde run [CONFIG] [flags]``: run a study, or ``--resume RUN_DIR`` to finish a stopped one.

Flags override the config file. With ``--resume`` the stored config is authoritative: only ``--concurrency``
and ``--json`` may be given, and any other flag is refused (exit 2) rather than silently ignored, because a
resumed study that quietly differs from what the user typed would be worse than an error.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from llmsde.errors import ConfigError, RunIncomplete, RunInterrupted

if TYPE_CHECKING:
    from llmsde import api as api_types

__all__ = ["register"]


def _split(value: str | None) -> list[str] | None:
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    if not items:
        raise ConfigError(f"empty list {value!r}", "give comma-separated names, e.g. EF,SF")
    return items


def run(
    config: Annotated[Path | None, typer.Argument(help="Study config (TOML); default: the offline demo.")] = None,
    sessions: Annotated[int | None, typer.Option(help="Sessions per strategy.")] = None,
    iterations: Annotated[int | None, typer.Option(help="Iterations per session after iteration 0.")] = None,
    strategies: Annotated[str | None, typer.Option(help="Comma list, e.g. EF,SF,FF,AI.")] = None,
    tasks: Annotated[str | None, typer.Option(help="Comma list: builtin, a task directory, task ids.")] = None,
    provider: Annotated[str | None, typer.Option(help="surrogate or openai.")] = None,
    model: Annotated[str | None, typer.Option(help="Model name sent to the endpoint.")] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint URL.")] = None,
    concurrency: Annotated[int | None, typer.Option(help="Sessions in flight at once.")] = None,
    seed: Annotated[int | None, typer.Option(help="Study seed (every session seed derives from it).")] = None,
    out: Annotated[str | None, typer.Option(help="Parent directory of the run (default runs/).")] = None,
    require_isolation: Annotated[
        bool, typer.Option("--require-isolation", help="Fail unless every sandbox layer is available.")
    ] = False,
    resume: Annotated[
        Path | None, typer.Option(help="Finish this stopped run with its stored config.", metavar="RUN_DIR")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object.")] = False,
) -> None:
    """Run a study: N sessions per strategy, each a chain of T iterations, stored in runs/<run-id>/."""
    from llmsde import api
    from llmsde.config import load_config

    overrides: dict[str, Any] = {
        "sessions": sessions,
        "iterations": iterations,
        "strategies": _split(strategies),
        "tasks": _split(tasks),
        "provider.name": provider,
        "provider.model": model,
        "provider.base_url": base_url,
        "seed": seed,
        "out": out,
        "sandbox.require_isolation": True if require_isolation else None,
    }
    with ExitStack() as stack:
        hooks = _Hooks(stack)
        if resume is not None:
            given = [f"--{k.split('.')[-1].replace('_', '-')}" for k, v in overrides.items() if v is not None]
            if config is not None:
                given.insert(0, "CONFIG")
            if given:
                raise ConfigError(
                    f"{', '.join(given)} cannot be combined with --resume (the stored config is used)",
                    "only --concurrency and --json may be given with --resume",
                )
            with hooks.interruptible():
                summary = api.resume_run(
                    resume, concurrency=concurrency, on_start=hooks.start, on_progress=hooks.progress
                )
        else:
            cfg = load_config(config, {**overrides, "concurrency": concurrency})
            with hooks.interruptible():
                summary = api.run_study(cfg, on_start=hooks.start, on_progress=hooks.progress)
    _print_summary(summary, json_out)
    if summary.status == "incomplete":
        waiting = len(summary.sessions_waiting)
        raise RunIncomplete(
            f"{waiting} session{' waits' if waiting == 1 else 's wait'} for the endpoint, every scored iteration is "
            f"stored (last error: {summary.endpoint_error})",
            f"when the endpoint answers again: llmsde run --resume {summary.run_dir}",
        )


class _Hooks:
    """Turns runner events into render calls: warnings at start, then one progress bar over sessions."""

    def __init__(self, stack: ExitStack) -> None:
        self._stack = stack
        self._update: Any = None
        self._run_dir: str | None = None

    @contextmanager
    def interruptible(self) -> Iterator[None]:
        """Turn Ctrl-C into RunInterrupted naming the run directory, so the user can resume it."""
        try:
            yield
        except KeyboardInterrupt:
            where = self._run_dir or "RUN_DIR"
            raise RunInterrupted(
                "interrupted; every scored iteration is stored", f"continue with `llmsde run --resume {where}`"
            ) from None

    def start(self, info: api_types.RunStart) -> None:
        from llmsde import render

        for warning in info.isolation_warnings:
            render.print_warning(warning)
        self._run_dir = str(info.run_dir)
        render.print_status(f"run directory: {info.run_dir}")
        verb = "resuming" if info.resumed else "running"
        self._update = self._stack.enter_context(render.progress_bar(info.sessions_total, f"{verb} sessions"))

    def progress(self, p: api_types.Progress) -> None:
        if self._update is not None:
            done = f"{p.iterations_done}/{p.iterations_total} it"
            status = f"{done}  {p.rate:.1f} it/s  {p.failed_iterations} errors"
            self._update(p.sessions_done, status)


def _print_summary(summary: api_types.RunSummary, json_out: bool) -> None:
    from llmsde import render

    if json_out:
        render.print_json(summary.to_dict())
        return
    render.print_kv(
        "run summary",
        [
            ("run directory", summary.run_dir),
            ("status", summary.status),
            ("sessions", f"{summary.sessions_done}/{summary.sessions}"),
            ("iterations", f"{summary.iterations} ({summary.new_iterations} in this invocation)"),
            ("failed iterations", str(summary.failed_iterations)),
            ("wall time", f"{summary.wall_s:.1f} s"),
            ("isolation", summary.isolation_level),
            ("model calls", _usage_line(summary.usage)),
            ("concurrency", _concurrency_line(summary.concurrency)),
        ],
    )
    if summary.status != "incomplete":
        render.print_text(f"next: llmsde fit {summary.run_dir}")


def _concurrency_line(report: dict[str, Any]) -> str:
    """The session ceiling, and per endpoint the requests in flight its adaptive limit settled on."""
    parts = [f"up to {report.get('sessions', '-')} sessions"]
    for ep in report.get("endpoints", []):
        how = "adaptive" if ep.get("adaptive") else "fixed"
        parts.append(
            f"{ep.get('endpoint')}: settled at {ep.get('settled')} in flight ({how}, ceiling {ep.get('ceiling')}, "
            f"peak {ep.get('peak_in_flight')}, {ep.get('timeouts')} timeouts, {ep.get('overloads')} overloads)"
        )
    return "; ".join(parts)


def _usage_line(usage: dict[str, Any]) -> str:
    """Calls, tokens, retries and cost on one line; cost says 'no prices' rather than a misleading $0."""
    if not usage:
        return "-"
    cost = usage.get("cost_usd")
    cost_text = "no prices in config" if cost is None else f"${cost:.4f}"
    return (
        f"{usage.get('calls', 0)} calls, {usage.get('prompt_tokens', 0)} prompt + "
        f"{usage.get('completion_tokens', 0)} completion tokens, {usage.get('retries', 0)} retries, {cost_text}"
    )


def register(app: typer.Typer) -> None:
    """Add the ``run`` command to the app."""
    app.command("run")(run)
