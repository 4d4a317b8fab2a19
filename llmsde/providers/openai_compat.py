"""Any OpenAI-compatible chat endpoint (OpenAI, vLLM, Ollama, llama.cpp server, LM Studio, OpenRouter, llmsde
serve).

Built on the ``openai`` SDK's ``AsyncOpenAI`` with its own retries switched off (``max_retries=0``): the retry
policy, the circuit breaker and the rate limits live in :mod:`llmsde.providers.retry` and
:mod:`llmsde.providers.limits`, so every retry is counted on the Completion and the total wait is bounded.

What is retried: 429, 408, 5xx, timeouts, connection errors and malformed bodies; when the retries run out,
the call raises :class:`~llmsde.providers.base.EndpointUnavailable` and nothing is committed. A prompt longer
than the model's context (HTTP 400 ``context_length_exceeded`` and the like) is about the request, not the
endpoint: it is never retried and comes back as a Completion with ``error`` set, which the runner records as
data. A rejected key or unknown model (401, 403, 404) opens the breaker at once; any other 4xx is an
endpoint failure that is not retried. Requests in flight follow an adaptive limit and each attempt's
timeout grows with the latencies observed (:mod:`llmsde.providers.adaptive`).

The API key is read from the environment variable ``ProviderConfig.api_key_env`` when the provider is built,
kept only inside the SDK client, and scrubbed from every error message (servers echo keys back in 401
messages).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import random
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from llmsde.config import ProviderConfig
from llmsde.errors import ConfigError
from llmsde.providers.base import EndpointUnavailable, call_cost
from llmsde.providers.limits import EndpointLimits, Ticket, estimate_tokens
from llmsde.providers.retry import CircuitBreaker, Failure, RetryPolicy, call_with_retries, parse_retry_after
from llmsde.types import ChatMessage, Completion, GenerationParams, Usage

if TYPE_CHECKING:
    from openai import AsyncOpenAI

__all__ = ["DEFAULT_BASE_URL", "OpenAIProvider", "is_loopback_url"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
_LOOPBACK_DUMMY_KEY = "llmsde-loopback-no-key"
_KEY_SHAPES = re.compile(r"\b(?:sk|pk|rk)-[A-Za-z0-9_\-*.]{6,}")
_CONTEXT_LENGTH = re.compile(
    r"context[_ ]length|context window|maximum context|too many tokens|prompt is too long|exceeds the context",
    re.IGNORECASE,
)
_OVERLOAD_STATUS = frozenset({408, 429, 503, 504})


def is_loopback_url(url: str) -> bool:
    """True for http(s) URLs on localhost, 127.0.0.0/8 or ::1, where a local server needs no real key."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _public_url(url: str) -> str:
    """The URL without user:password, for messages."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class OpenAIProvider:
    """Chat completions from an OpenAI-compatible endpoint, with bounded retries, a breaker and rate limits.

    One instance serves one run: its breaker and limits are shared by all the run's concurrent calls. The SDK
    client and the asyncio primitives are created inside the running loop on first use, so the runner may
    build the provider before starting its loop.
    """

    name = "openai"

    def __init__(self, config: ProviderConfig, seed: int) -> None:
        self.config = config
        self.base_url = config.base_url or DEFAULT_BASE_URL
        key = os.environ.get(config.api_key_env, "").strip()
        if not key:
            if not is_loopback_url(self.base_url):
                raise ConfigError(
                    f"no API key: environment variable {config.api_key_env} is not set "
                    f"for {_public_url(self.base_url)}",
                    f"export {config.api_key_env}=..., or name your key's variable in provider.api_key_env",
                )
            key = _LOOPBACK_DUMMY_KEY
        self._key = key
        self._rng = random.Random(seed)
        self._policy = RetryPolicy(config.max_retries, config.backoff_base_s, config.backoff_max_s)
        self._breaker = CircuitBreaker(config.breaker_failures, f"endpoint {_public_url(self.base_url)}")
        self._limits = EndpointLimits(
            config.max_in_flight,
            config.requests_per_minute,
            config.tokens_per_minute,
            adaptive=config.adaptive,
            timeout_s=config.timeout_s,
            timeout_max_s=config.timeout_max_s,
        )
        self._client: AsyncOpenAI | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"OpenAIProvider(base_url={_public_url(self.base_url)!r}, model={self.config.model!r})"

    def _redact(self, text: str) -> str:
        text = text.replace(self._key, "[redacted]") if self._key else text
        return _KEY_SHAPES.sub("[redacted]", " ".join(text.split()))

    def _get_client(self) -> AsyncOpenAI:
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            from openai import AsyncOpenAI

            self._client = AsyncOpenAI(
                api_key=self._key,
                base_url=self.base_url,
                timeout=self.config.timeout_s,
                max_retries=0,
                http_client=_pooled_http_client(self.config.max_in_flight),
            )
            self._client_loop = loop
        return self._client

    def _request(self, messages: Sequence[ChatMessage], params: GenerationParams) -> dict[str, Any]:
        extra = {**self.config.extra, **params.extra}
        request: dict[str, Any] = {"model": params.model, "messages": [m.to_dict() for m in messages]}
        if params.temperature is not None:
            request["temperature"] = params.temperature
        if params.top_p is not None:
            request["top_p"] = params.top_p
        if not {"max_tokens", "max_completion_tokens"} & set(extra):
            if self.config.max_tokens_param == "max_tokens":
                request["max_tokens"] = params.max_tokens
            else:
                extra["max_completion_tokens"] = params.max_tokens
        if params.seed is not None:
            request["seed"] = params.seed
        return {**request, "extra_body": extra or None}

    def _classify(self, exc: Exception) -> Failure | None:
        import openai

        if isinstance(exc, _AttemptTimeout):
            return Failure(f"timeout after {exc.seconds:g} s", True)
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc
            return Failure(self._redact(f"connection error: {type(cause).__name__}: {cause}"), True)
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            message = self._redact(f"HTTP {status}: {exc.message}")
            if status in (400, 413, 422) and _CONTEXT_LENGTH.search(f"{exc.message} {exc.code or ''}"):
                return Failure(f"context length exceeded: {message}", False, endpoint=False)
            retryable = status in (408, 429) or status >= 500
            retry_after = parse_retry_after(exc.response.headers) if retryable else None
            return Failure(message, retryable, retry_after, fatal=status in (401, 403, 404))
        if isinstance(exc, openai.APIResponseValidationError | json.JSONDecodeError | _MalformedReply):
            return Failure(self._redact(f"malformed response: {exc}"), True)
        return None

    async def _attempt(self, request: dict[str, Any], tokens: int) -> Any:
        import openai

        async with self._limits.slot(tokens) as ticket:
            timeout = self._limits.timeout_s
            try:
                response = await self._get_client().chat.completions.create(**request, timeout=timeout)
            except openai.APITimeoutError:
                ticket.overloaded(timed_out=True)
                raise _AttemptTimeout(timeout) from None
            except openai.APIStatusError as exc:
                _report_status(ticket, exc.status_code)
                raise
            except Exception:
                ticket.failed()
                raise
            usage = getattr(response, "usage", None)
            ticket.answered(int(getattr(usage, "completion_tokens", 0) or 0))
        choices = getattr(response, "choices", None)
        if not choices or getattr(choices[0], "message", None) is None:
            raise _MalformedReply("no choices in the reply")
        return response

    def concurrency_report(self) -> dict[str, Any]:
        """What this endpoint's adaptive limit settled on (see :meth:`EndpointLimits.report`)."""
        return {"endpoint": _public_url(self.base_url), **self._limits.report()}

    def _cost(self, usage: Usage) -> float | None:
        return call_cost(usage, self.config.prices)

    async def complete(self, messages: Sequence[ChatMessage], params: GenerationParams) -> Completion:
        """Answer one chat request; a context-length error is an errored Completion, an endpoint failure after
        the retries raises EndpointUnavailable."""
        request = self._request(messages, params)
        tokens = estimate_tokens(messages, params.max_tokens)
        outcome = await call_with_retries(
            lambda: self._attempt(request, tokens), self._classify, self._policy, self._rng, self._breaker
        )
        if outcome.failure is not None and outcome.failure.endpoint:
            raise EndpointUnavailable(outcome.failure.message, _public_url(self.base_url))
        if outcome.failure is not None:
            return Completion(
                text="",
                latency_s=outcome.last_attempt_s,
                retries=outcome.retries,
                error=outcome.failure.message,
            )
        response: Any = outcome.value
        raw_usage = getattr(response, "usage", None)
        usage = Usage(
            prompt_tokens=int(getattr(raw_usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(raw_usage, "completion_tokens", 0) or 0),
        )
        choice = response.choices[0]
        text = choice.message.content or ""
        finish_reason = getattr(choice, "finish_reason", None)
        refusal = getattr(choice.message, "refusal", None)
        if refusal and not text.strip():
            text, finish_reason = str(refusal), "refusal"
        return Completion(
            text=text,
            finish_reason=None if finish_reason is None else str(finish_reason),
            model=str(getattr(response, "model", "") or ""),
            usage=usage,
            latency_s=outcome.last_attempt_s,
            system_fingerprint=getattr(response, "system_fingerprint", None),
            retries=outcome.retries,
            cost_usd=self._cost(usage),
        )

    async def preflight(self) -> None:
        """One small call with the run's key, model and parameters; a mistake in them raises before the run
        starts (see :mod:`llmsde.providers.preflight`)."""
        from llmsde.providers.preflight import check_endpoint

        await check_endpoint(self)

    async def aclose(self) -> None:
        """Close the SDK client's connection pool."""
        client, self._client = self._client, None
        if client is not None:
            await client.close()


def _pooled_http_client(max_in_flight: int) -> Any:
    """The SDK's own async HTTP client, with a keep-alive pool as large as the requests we allow in flight.

    The SDK keeps at most 100 idle connections; above that concurrency every answer closes a connection and
    the next request opens a new one, which costs more client CPU than the request itself on a small machine.
    The Limits class is taken from the SDK's defaults so this works whichever HTTP library the SDK version
    uses; if that ever fails, None lets the SDK build its default client.
    """
    try:
        from openai import DefaultAsyncHttpxClient
        from openai._constants import DEFAULT_CONNECTION_LIMITS as base

        limits = type(base)(
            max_connections=max(max_in_flight, base.max_connections or 0),
            max_keepalive_connections=max_in_flight,
            keepalive_expiry=base.keepalive_expiry,
        )
        return DefaultAsyncHttpxClient(limits=limits)
    except (ImportError, AttributeError, TypeError):
        return None


class _MalformedReply(Exception):
    """A 200 answer without the fields of a chat completion."""


class _AttemptTimeout(Exception):
    """One attempt ran past its (adaptive) timeout."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"timeout after {seconds:g} s")
        self.seconds = seconds


def _report_status(ticket: Ticket, status: int) -> None:
    """An HTTP error is an answer (the endpoint is alive) unless it says the endpoint is overloaded."""
    if status in _OVERLOAD_STATUS:
        ticket.overloaded(timed_out=status in (408, 504))
    elif status >= 500:
        ticket.failed()
    else:
        ticket.rejected()
