"""An OpenAI-compatible HTTP endpoint in front of the offline surrogate model, with fault injection.

It exists so the real network path (the openai SDK, retries, rate limits, the breaker, the runner) can be
tested, benchmarked and demonstrated on 127.0.0.1 without a key or the internet. Routes: ``POST
/v1/chat/completions`` and ``GET /v1/models``, in the wire format of the OpenAI API (non-streaming).

Determinism: the reply depends only on the request (messages, ``seed`` field, temperature), so the same
request gets the same reply from any server, and the same reply the offline ``surrogate`` provider gives for
that seed. Latency jitter and injected faults come from the server's ``--seed``, the request, and how many
times this exact request was seen before, so a retried request draws again (a fault is not a permanent
property of a request) while a re-run of the same sequence of requests meets the same faults.

Fault kinds: ``429`` (with ``Retry-After``), ``500``, ``timeout`` (the server holds the request until the
client gives up or ``hang_s`` passes) and ``malformed`` (status 200 with a truncated JSON body).

Capacity (``slots``, ``tokens_per_s``): like llama.cpp's server or Ollama on a laptop, the server generates
at most ``slots`` replies at once and queues the rest in arrival order; a reply of n completion tokens
occupies its slot for n / ``tokens_per_s`` seconds, and a client that hangs up does not free the slot (the
server keeps generating the abandoned reply, as llama.cpp does). This is how the adaptive concurrency of the
client is tested and benchmarked in seconds. Like real servers, a reply longer than the request's
``max_tokens`` is cut there (``finish_reason: "length"``), and a prompt over ``max_prompt_tokens`` is a 400
``context_length_exceeded``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llmsde.errors import ConfigError
from llmsde.providers._server_slots import Slots, max_tokens_of
from llmsde.providers.server_reject import REJECTABLE_PARAMS, parse_rejected_params, rejected_response
from llmsde.types import ChatMessage

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

__all__ = [
    "FAULT_KINDS",
    "REJECTABLE_PARAMS",
    "ReplyFn",
    "ServerOptions",
    "build_app",
    "parse_fault_kinds",
    "parse_rejected_params",
    "run_server",
    "serve_in_thread",
]

FAULT_KINDS: tuple[str, ...] = ("429", "500", "timeout", "malformed")
"""Every fault the server can inject."""

ReplyFn = Callable[[Sequence[ChatMessage], int, float], str]
"""``(messages, seed, temperature) -> reply text``, the signature of ``surrogate_reply``."""


def _surrogate_reply(messages: Sequence[ChatMessage], seed: int, temperature: float) -> str:
    from llmsde.providers.surrogate import surrogate_reply

    return str(surrogate_reply(messages, seed, temperature))


@dataclass(frozen=True, slots=True)
class ServerOptions:
    """How the server answers: model id, latency, and which faults it injects how often."""

    seed: int = 0
    latency_s: float = 0.0
    """Fixed delay before each answer (an ``asyncio.sleep``, so concurrent requests overlap)."""
    jitter_s: float = 0.0
    """Extra delay drawn uniformly from [0, jitter_s]."""
    fail_rate: float = 0.0
    """Probability that one request gets a fault instead of an answer."""
    fail_kinds: tuple[str, ...] = ("429", "500", "timeout", "malformed")
    retry_after_s: float = 0.2
    """Value of the ``Retry-After`` header sent with injected 429s."""
    hang_s: float = 120.0
    """How long a ``timeout`` fault holds the request if the client does not hang up first."""
    slots: int | None = None
    """Replies generated at once; further requests wait in arrival order. None: no limit."""
    tokens_per_s: float | None = None
    """Generation speed per slot: a reply of n completion tokens takes n / tokens_per_s seconds more."""
    max_prompt_tokens: int | None = None
    """Prompts longer than this get HTTP 400 ``context_length_exceeded``. None: no limit."""
    model_id: str = "llmsde-surrogate-1"
    """The model id the server reports in every answer (requests may name any model)."""
    api_key: str | None = None
    """When set, requests must carry ``Authorization: Bearer <api_key>``; others get a 401 that, like some
    real servers, echoes the key they presented (which is how the client's redaction is tested)."""
    reject_params: tuple[str, ...] = ()
    """Request fields answered with a 400 as OpenAI's reasoning models do (see :data:`REJECTABLE_PARAMS`)."""
    reply: ReplyFn = field(default=_surrogate_reply)
    """What writes the reply; the surrogate model unless a test substitutes another."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.fail_rate <= 1.0:
            raise ConfigError(f"fail rate must be in [0, 1], got {self.fail_rate}", "e.g. --fail-rate 0.2")
        if self.latency_s < 0 or self.jitter_s < 0 or self.retry_after_s < 0 or self.hang_s < 0:
            raise ConfigError("latency, jitter, retry-after and hang times must be >= 0", "pass seconds, e.g. 0.2")
        parse_rejected_params(",".join(self.reject_params))
        if (self.slots is not None and self.slots < 1) or (self.tokens_per_s is not None and self.tokens_per_s <= 0):
            raise ConfigError("slots must be >= 1 and tokens per second > 0", "e.g. --slots 1 --tokens-per-s 200")
        unknown = sorted(set(self.fail_kinds) - set(FAULT_KINDS))
        if unknown or (self.fail_rate > 0 and not self.fail_kinds):
            raise ConfigError(
                f"unknown fault kind(s): {', '.join(unknown) or '(none given)'}",
                f"choose from {','.join(FAULT_KINDS)}",
            )


def parse_fault_kinds(text: str) -> tuple[str, ...]:
    """``"429,500"`` -> ``("429", "500")``, validated against :data:`FAULT_KINDS`."""
    kinds = tuple(k.strip().lower() for k in text.split(",") if k.strip())
    unknown = sorted(set(kinds) - set(FAULT_KINDS))
    if unknown:
        raise ConfigError(f"unknown fault kind(s): {', '.join(unknown)}", f"choose from {','.join(FAULT_KINDS)}")
    return kinds


def _error(
    status: int, message: str, kind: str, headers: dict[str, str] | None = None, code: str | None = None
) -> Response:
    from starlette.responses import JSONResponse

    body = {"error": {"message": message, "type": kind, "param": None, "code": code or str(status)}}
    return JSONResponse(body, status_code=status, headers=headers)


def _parse_messages(body: Any) -> list[ChatMessage] | str:
    """The request's messages, or a one-line reason why the body is not a chat request."""
    if not isinstance(body, dict):
        return "request body must be a JSON object"
    raw = body.get("messages")
    if not isinstance(raw, list) or not raw:
        return "'messages' must be a non-empty list"
    out: list[ChatMessage] = []
    for m in raw:
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant"):
            return "each message needs a role of system, user or assistant"
        content = m.get("content")
        if isinstance(content, list):
            content = "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        if not isinstance(content, str):
            return "message content must be a string"
        out.append(ChatMessage(m["role"], content))
    return out


class _Faults:
    """Seeded per-request draws of latency and faults; counts repeats of identical requests."""

    def __init__(self, options: ServerOptions) -> None:
        self.options = options
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()

    def draw(self, raw_body: bytes) -> tuple[float, str | None]:
        digest = hashlib.sha256(raw_body).hexdigest()
        with self._lock:
            n = self._seen.get(digest, 0)
            self._seen[digest] = n + 1
        rng = random.Random(f"{self.options.seed}:{digest}:{n}")
        delay = self.options.latency_s + rng.uniform(0.0, self.options.jitter_s)
        fault = None
        if self.options.fail_kinds and rng.random() < self.options.fail_rate:
            fault = rng.choice(self.options.fail_kinds)
        return delay, fault


def _approx_tokens(text: str) -> int:
    return max(1, len(text) // 4)


def build_app(options: ServerOptions) -> Starlette:
    """The Starlette application; use :func:`serve_in_thread` or :func:`run_server` to serve it."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    faults = _Faults(options)
    slots = Slots(options.slots, options.tokens_per_s)

    def unauthorised(request: Request) -> Response | None:
        if options.api_key is None:
            return None
        presented = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if hmac.compare_digest(presented.encode(), options.api_key.encode()):
            return None
        return _error(401, f"Incorrect API key provided: {presented}", "invalid_request_error")

    async def models(request: Request) -> Response:
        if (denied := unauthorised(request)) is not None:
            return denied
        entry = {"id": options.model_id, "object": "model", "created": 0, "owned_by": "llmsde"}
        return JSONResponse({"object": "list", "data": [entry]})

    async def hang(request: Request) -> Response:
        deadline = time.monotonic() + options.hang_s
        while time.monotonic() < deadline:
            if await request.is_disconnected():
                break
            await asyncio.sleep(0.05)
        return _error(504, "injected fault: the server timed out", "timeout")

    async def chat(request: Request) -> Response:
        if (denied := unauthorised(request)) is not None:
            return denied
        raw = await request.body()
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _error(400, "request body is not valid JSON", "invalid_request_error")
        messages = _parse_messages(body)
        if isinstance(messages, str):
            return _error(400, messages, "invalid_request_error")
        if body.get("stream"):
            return _error(400, "streaming is not supported by llmsde serve", "invalid_request_error")
        if (refused := rejected_response(body, options.reject_params, options.model_id)) is not None:
            return refused
        prompt_tokens = sum(_approx_tokens(m.content) for m in messages)
        if options.max_prompt_tokens is not None and prompt_tokens > options.max_prompt_tokens:
            text = f"maximum context length is {options.max_prompt_tokens} tokens; the prompt has {prompt_tokens}"
            return _error(400, text, "invalid_request_error", code="context_length_exceeded")
        delay, fault = faults.draw(raw)
        if fault == "timeout":
            return await hang(request)
        if fault is not None and delay > 0:
            await asyncio.sleep(delay)
        if fault == "429":
            wait = f"{options.retry_after_s:g}"
            return _error(429, "injected fault: rate limited", "rate_limit_error", {"Retry-After": wait})
        if fault == "500":
            return _error(500, "injected fault: internal server error", "server_error")
        if fault == "malformed":
            return Response('{"id": "chatcmpl-broken", "choices": [{"mess', media_type="application/json")
        seed = body.get("seed")
        seed = options.seed if not isinstance(seed, int) else seed
        temperature = body.get("temperature")
        temperature = 0.7 if not isinstance(temperature, int | float) else float(temperature)
        text = options.reply(messages, seed, temperature)
        finish_reason, limit = "stop", max_tokens_of(body)
        if limit is not None and _approx_tokens(text) > limit:
            text, finish_reason = text[: 4 * limit], "length"
        completion_tokens = _approx_tokens(text)
        await slots.generate(delay, completion_tokens)
        return JSONResponse(
            {
                "id": "chatcmpl-" + hashlib.sha256(raw).hexdigest()[:24],
                "object": "chat.completion",
                "created": int(time.time()),
                "model": options.model_id,
                "system_fingerprint": "fp_llmsde_" + hashlib.sha256(options.model_id.encode()).hexdigest()[:8],
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish_reason}
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }
        )

    routes = [
        Route("/v1/chat/completions", chat, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
    ]
    return Starlette(routes=routes)


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket bound before uvicorn starts, so the port (even port 0) is known and free of races.

    It listens at once, so a client that connects as soon as the URL is announced waits in the backlog until
    uvicorn accepts, instead of being refused.

    ``proto=IPPROTO_TCP`` and ``TCP_NODELAY`` matter: asyncio only disables Nagle on sockets whose proto is
    TCP, and without it every answer (headers and body are separate writes) waits ~40 ms for a delayed ACK.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {err.strerror}", "choose another --port") from None
    sock.listen(2048)
    return sock


def _base_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}/v1" if ":" in host else f"http://{host}:{port}/v1"


def run_server(
    options: ServerOptions,
    host: str = "127.0.0.1",
    port: int = 8000,
    access_log: bool = False,
    on_listening: Callable[[str], None] | None = None,
) -> None:
    """Serve in the foreground until interrupted (what ``llmsde serve`` runs).

    ``on_listening`` gets the base URL once the port is bound (the real port when ``port`` is 0).
    """
    import uvicorn

    sock = _bind(host, port)
    if on_listening is not None:
        on_listening(_base_url(host, sock.getsockname()[1]))
    config = uvicorn.Config(
        build_app(options),
        log_level="info" if access_log else "warning",
        access_log=access_log,
        lifespan="off",
        timeout_graceful_shutdown=2,
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()


@contextmanager
def serve_in_thread(options: ServerOptions | None = None, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve on a free loopback port (``port=0``) in a daemon thread; yields the base URL
    ``http://host:port/v1``."""
    import uvicorn

    sock = _bind(host, port)
    config = uvicorn.Config(
        build_app(options or ServerOptions()),
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="llmsde-serve", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20.0
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("llmsde serve did not start in its thread")
            time.sleep(0.01)
        yield _base_url(host, sock.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(timeout=10.0)
        sock.close()
