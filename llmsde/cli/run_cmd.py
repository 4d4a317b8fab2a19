"""``llmsde run [CONFIG] [flags]``: run a study, or ``--resume RUN_DIR`` to finish a stopped one.

Flags override the config file. With ``--resume`` the stored config is authoritative: only ``--concurrency``,
``--max-cost``, ``--executor``, ``--ray-address`` (where scoring runs does not change its results) and ``--json``
may be given, and any other flag is refused (exit 2) rather than silently ignored, because a resumed study that
quietly differs from what the user typed would be worse than an error. ``--dry-run`` plans the study (calls,
tokens, cost, wall time) and exits without a call or a file.
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
    provider: Annotated[str | None, typer.Option(help="surrogate, openai or local (a GGUF file).")] = None,
    model: Annotated[
        str | None, typer.Option(help="Model name sent to the endpoint; with --provider local, a .gguf path.")
    ] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint URL.")] = None,
    concurrency: Annotated[int | None, typer.Option(help="Sessions in flight at once (per model).")] = None,
    seed: Annotated[int | None, typer.Option(help="Study seed (every session seed derives from it).")] = None,
    out: Annotated[str | None, typer.Option(help="Parent directory of the run (default runs/).")] = None,
    require_isolation: Annotated[
        bool, typer.Option("--require-isolation", help="Fail unless every sandbox layer is available.")
    ] = False,
    require_layers: Annotated[
        str | None,
        typer.Option(help="Fail unless these sandbox layers are available, e.g. netns,private-tmp,seccomp."),
    ] = None,
    resume: Annotated[
        Path | None, typer.Option(help="Finish this stopped run with its stored config.", metavar="RUN_DIR")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object.")] = False,
    models: Annotated[
        str | None, typer.Option("--models", help="Comma list of [[models]] labels to run (default: all).")
    ] = None,
    max_cost: Annotated[
        float | None,
        typer.Option("--max-cost", help="Budget in USD for the run's total spend; stops before exceeding it."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Plan calls, tokens, cost and wall time; call nothing, write nothing.")
    ] = False,
    executor: Annotated[
        str | None, typer.Option(help="Where scoring runs: local (default) or ray (needs the ray extra).")
    ] = None,
    ray_address: Annotated[
        str | None,
        typer.Option(help="Ray cluster HOST:PORT to join; without it --executor ray starts Ray for the run."),
    ] = None,
    ctx: Annotated[int | None, typer.Option(help="--provider local: context size in tokens (default 4096).")] = None,
    threads: Annotated[int | None, typer.Option(help="--provider local: CPU threads of the llama.cpp server.")] = None,
    no_preflight: Annotated[
        bool, typer.Option("--no-preflight", help="Skip the first call that checks key, model and parameters.")
    ] = False,
) -> None:
    """Run a study: N sessions per strategy, each a chain of T iterations, stored in runs/<run-id>/."""
    from llmsde import api
    from llmsde.config import load_config, select_models

    if max_cost is not None and max_cost <= 0:
        raise ConfigError(f"--max-cost must be above 0; got {max_cost}", "give a budget in US dollars, e.g. 5")

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
        "sandbox.require_isolation": True if require_isolation else _split(require_layers),
        "provider.ctx": ctx,
        "provider.threads": threads,
        "provider.preflight": False if no_preflight else None,
    }
    placement = _executor_overrides(executor, ray_address)
    with ExitStack() as stack:
        hooks = _Hooks(stack)
        if resume is not None:
            given = [f"--{k.split('.')[-1].replace('_', '-')}" for k, v in overrides.items() if v is not None]
            if config is not None:
                given.insert(0, "CONFIG")
            given += [flag for flag, v in (("--models", models), ("--dry-run", dry_run or None)) if v is not None]
            if given:
                raise ConfigError(
                    f"{', '.join(given)} cannot be combined with --resume (the stored config is used)",
                    "only --concurrency, --max-cost, --executor, --ray-address and --json may be given with --resume",
                )
            with hooks.interruptible():
                summary = api.resume_run(
                    resume,
                    concurrency=concurrency,
                    max_cost_usd=max_cost,
                    executor={k.split(".")[-1]: v for k, v in placement.items()},
                    on_start=hooks.start,
                    on_progress=hooks.progress,
                )
        else:
            cfg = load_config(config, {**overrides, "concurrency": concurrency, "max_cost_usd": max_cost, **placement})
            cfg = select_models(cfg, _split(models))
            if dry_run:
                _print_plan(api.dry_run(cfg), json_out)
                return
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


def _executor_overrides(executor: str | None, ray_address: str | None) -> dict[str, Any]:
    """``executor.*`` config keys from the flags; an address alone implies Ray, and local takes no address."""
    if executor is not None and executor not in ("local", "ray"):
        raise ConfigError(f"unknown executor {executor!r}", "use --executor local or --executor ray")
    if ray_address is not None:
        if executor == "local":
            raise ConfigError("--ray-address needs --executor ray", "drop --ray-address or use --executor ray")
        executor = "ray"
    found: dict[str, Any] = {}
    if executor is not None:
        found["executor.kind"] = executor
        if executor == "local" or ray_address is not None:
            found["executor.address"] = ray_address
    return found


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
        if info.executor != "local":
            render.print_status(f"scoring on {len(info.workers)} {info.executor} workers")
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
            (
                "scoring",
                f"{summary.executor}, {len(summary.workers)} worker(s)" if summary.workers else summary.executor,
            ),
            ("model calls", _usage_line(summary.usage)),
            *((f"  {label}", _usage_line(u)) for label, u in summary.usage.get("by_model", {}).items()),
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


def _print_plan(plan: api_types.DryRunPlan, json_out: bool) -> None:
    from llmsde import render

    if json_out:
        render.print_json(plan.to_dict())
        return

    def cost(value: float | None) -> str:
        return "no prices" if value is None else f"${value:.4f}"

    rows = [
        (
            m.label,
            str(m.sessions),
            str(m.calls),
            str(m.est_prompt_tokens),
            str(m.est_completion_tokens),
            cost(m.est_cost_usd),
            f"{m.est_wall_s:.0f} s",
        )
        for m in (*plan.models, plan.total)
    ]
    columns = ("model", "sessions", "calls", "prompt tokens", "completion tokens", "cost", "wall time")
    render.print_table("dry run: nothing called, nothing written", columns, rows)
    render.print_text(
        f"estimates: about 4 characters per token, {plan.latency_s:g} s per call, {plan.concurrency} sessions "
        "in flight per model; set [estimate] completion_tokens / code_growth / latency_s to change them"
    )
    if plan.over_budget:
        render.print_warning(
            f"the estimated cost exceeds --max-cost ${plan.max_cost_usd:g}: the run would stop before finishing"
        )


def register(app: typer.Typer) -> None:
    """Add the ``run`` command to the app."""
    app.command("run")(run)
