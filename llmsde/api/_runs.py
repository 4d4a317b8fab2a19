"""The run-side public API beyond running a study (``export_run``, ``rescore_run``, ``run_counts``, ``serve``),
re-exported by :mod:`llmsde.api`.

Thin wrappers so the CLI never reaches into the store, the runner or the provider server itself; the layers
below are imported inside the functions, so importing this module is free.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llmsde.runner.rescore import RescoreSummary
    from llmsde.store.export import ExportResult

__all__ = ["export_run", "rescore_run", "run_counts", "serve"]


def export_run(run_dir: str | Path, fmt: str = "csv", out: str | Path | None = None) -> ExportResult:
    """Write a run's iterations (one row each) and sessions as ``jsonl``, ``csv`` or ``parquet`` files into
    ``out`` (default ``run_dir/export``); ``llmsde fit`` reads the iterations file."""
    from llmsde.store.export import export_run as export

    return export(run_dir, fmt, out)


def run_counts(run_dir: str | Path) -> dict[str, int]:
    """How much a run holds: ``sessions``, ``sessions_done``, ``iterations``, ``failed`` (e.g. to size a
    progress bar before :func:`rescore_run`)."""
    from llmsde.store import RunStore

    with RunStore.open(run_dir) as store:
        return store.counts()


def rescore_run(
    run_dir: str | Path,
    out: str | Path | None = None,
    *,
    jobs: int = 2,
    on_progress: Callable[[int, int], None] | None = None,
) -> RescoreSummary:
    """Score every stored iteration of ``run_dir`` again with the current scorers, without calling any model,
    into a new run (default: a new id next to it) that records its source. ``on_progress(done, total)``."""
    from llmsde.runner.rescore import rescore_run as rescore

    return rescore(run_dir, out, jobs=jobs, on_progress=on_progress)


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    latency: float = 0.0,
    jitter: float = 0.0,
    fail_rate: float = 0.0,
    fail_kinds: str | Sequence[str] = "429,500,timeout,malformed",
    retry_after: float = 0.2,
    seed: int = 0,
    model_id: str = "llmsde-surrogate-1",
    api_key: str | None = None,
    access_log: bool = False,
    on_listening: Callable[[str], None] | None = None,
    reject_params: str = "",
    slots: int | None = None,
    tokens_per_s: float | None = None,
) -> None:
    """Serve the offline surrogate model (a simulator, not an LLM) as an OpenAI-compatible endpoint in the
    foreground until interrupted.

    ``fail_kinds`` is ``"429,500"``-style text or a sequence of kinds; ``api_key`` (when set) is required as a
    bearer token; ``on_listening(base_url)`` is called once the port is bound (the real port when ``port`` is
    0); ``reject_params`` (``"max_tokens,temperature"``) emulates a model that refuses those request fields.
    ``slots`` and ``tokens_per_s`` give it a capacity: requests queue for a free slot, and a reply of n tokens
    holds its slot n / tokens_per_s seconds. Bad options are a ConfigError before anything listens.
    """
    from llmsde.providers.server import ServerOptions, parse_fault_kinds, parse_rejected_params, run_server

    kinds = parse_fault_kinds(fail_kinds) if isinstance(fail_kinds, str) else tuple(fail_kinds)
    options = ServerOptions(
        seed=seed,
        latency_s=latency,
        jitter_s=jitter,
        fail_rate=fail_rate,
        fail_kinds=kinds,
        retry_after_s=retry_after,
        model_id=model_id,
        api_key=api_key,
        reject_params=parse_rejected_params(reject_params),
        slots=slots,
        tokens_per_s=tokens_per_s,
    )
    run_server(options, host, port, access_log=access_log, on_listening=on_listening)
