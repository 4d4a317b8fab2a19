"""``llmsde serve``: the surrogate model behind an OpenAI-compatible HTTP endpoint, with optional faults."""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["register"]


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on; keep 127.0.0.1 unless you mean to expose it.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port (0: any free port).")] = 8000,
    latency: Annotated[float, typer.Option(min=0.0, help="Seconds added to every answer.")] = 0.0,
    jitter: Annotated[float, typer.Option(min=0.0, help="Extra seconds drawn uniformly from [0, JITTER].")] = 0.0,
    fail_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Probability that a request gets an injected fault.")
    ] = 0.0,
    fail_kinds: Annotated[
        str, typer.Option(help="Comma-separated faults to draw from: 429,500,timeout,malformed.")
    ] = "429,500,timeout,malformed",
    retry_after: Annotated[float, typer.Option(min=0.0, help="Retry-After seconds sent with injected 429s.")] = 0.2,
    seed: Annotated[
        int, typer.Option(help="Seed of latency jitter and fault draws (replies use the request's seed).")
    ] = 0,
    model_id: Annotated[str, typer.Option(help="Model id reported in every answer.")] = "llmsde-surrogate-1",
    api_key_env: Annotated[
        str | None,
        typer.Option(help="Require the key held in this environment variable (default: no key required)."),
    ] = None,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = False,
    reject_params: Annotated[
        str,
        typer.Option(
            help="Refuse these request fields like a reasoning model (400): max_tokens,temperature,top_p,seed; "
            "model: 404 unless it is --model-id."
        ),
    ] = "",
    slots: Annotated[
        int | None, typer.Option(min=1, help="Replies generated at once (like llama.cpp's slots); others queue.")
    ] = None,
    tokens_per_s: Annotated[
        float | None, typer.Option(min=0.001, help="Generation speed per slot: latency grows with reply length.")
    ] = None,
) -> None:
    """Serve the offline surrogate model as an OpenAI-compatible endpoint (POST /v1/chat/completions, GET
    /v1/models).

    Point a study at it with `llmsde run --provider openai --base-url http://127.0.0.1:8000/v1 --model
    surrogate`. Faults (--fail-rate) exercise retries and the circuit breaker; --slots and --tokens-per-s give it
    the capacity of a small local server (requests queue for a slot); the surrogate is a simulator, not an LLM.
    """
    import os

    from llmsde import api, render
    from llmsde.errors import ConfigError

    api_key = None
    if api_key_env is not None:
        api_key = os.environ.get(api_key_env) or None
        if api_key is None:
            raise ConfigError(f"environment variable {api_key_env} is not set", f"export {api_key_env}=...")
    faults = f" - fail rate {fail_rate:g} ({fail_kinds})" if fail_rate > 0 else ""
    if slots is not None or tokens_per_s is not None:
        speed = f", {tokens_per_s:g} tokens/s per slot" if tokens_per_s is not None else ""
        faults += f" - {slots or 'unlimited'} slot(s){speed}"

    def announce(base_url: str) -> None:
        render.print_text(
            f"llmsde serve: surrogate model (a simulator, not an LLM) at {base_url}{faults}; Ctrl-C stops"
        )

    api.serve(
        host,
        port,
        latency=latency,
        jitter=jitter,
        fail_rate=fail_rate,
        fail_kinds=fail_kinds,
        retry_after=retry_after,
        seed=seed,
        model_id=model_id,
        api_key=api_key,
        access_log=access_log,
        on_listening=announce,
        reject_params=reject_params,
        slots=slots,
        tokens_per_s=tokens_per_s,
    )


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command to the app."""
    app.command("serve")(serve)
