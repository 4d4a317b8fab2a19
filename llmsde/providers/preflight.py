"""The first call checks the endpoint: a wrong key, model or parameter is a mistake in the command, not data.

Without this check such a mistake shows up as the first failed iterations of a run, which are committed until
the circuit breaker stops it. Here one small request is sent before the run directory exists, with everything a
real call sends (model, temperature, top_p, the ``max_tokens`` field under its configured name, seed and
``provider.extra``) except a long prompt and a long reply. Its answer decides:

- 401/403: the key is wrong -> :class:`~llmsde.errors.ConfigError` (exit 2);
- 404: the model (or the base URL's path) is unknown -> ConfigError;
- 400/422: the model rejects a parameter -> ConfigError whose hint names the ``[provider]`` setting that fixes
  it (``max_tokens_param = "max_completion_tokens"``, ``temperature = "omit"``, ``top_p = "omit"``);
- connection errors, timeouts, 429 and 5xx after a few retries -> :class:`~llmsde.errors.ProviderError`
  (exit 1): the endpoint's trouble, not the command's; no run was created.

The endpoint's own reason is quoted in every message (with keys redacted). ``--no-preflight`` skips the call.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from llmsde.errors import ConfigError, ProviderError
from llmsde.providers.limits import estimate_tokens
from llmsde.providers.retry import RetryPolicy, call_with_retries
from llmsde.types import ChatMessage, GenerationParams

if TYPE_CHECKING:
    from llmsde.providers.openai_compat import OpenAIProvider

__all__ = ["PREFLIGHT_MAX_TOKENS", "check_endpoint", "rejected_parameter_hint"]

PREFLIGHT_MAX_TOKENS = 16
"""Reply budget of the preflight call: enough for "OK", small enough to cost nothing noticeable."""

_PREFLIGHT_RETRIES = 2
"""A transient 429/503 at start-up gets two more tries; a dead endpoint is reported within seconds."""

_PROMPT = [ChatMessage("user", "Reply with the single word OK.")]


def rejected_parameter_hint(reason: str, param: str | None) -> str:
    """The ``[provider]`` setting that fixes a 400 naming ``param`` (or mentioning it in ``reason``)."""
    text = f"{param or ''} {reason}".lower()
    hints: list[str] = []
    if "max_tokens" in text or "max_completion_tokens" in text:
        hints.append('set max_tokens_param = "max_completion_tokens" in [provider]')
    if "temperature" in text:
        hints.append('set temperature = "omit" in [provider]')
    if "top_p" in text:
        hints.append('set top_p = "omit" in [provider]')
    if "context" in text:
        hints.append("lower provider.max_tokens (or, for --provider local, raise --ctx)")
    if not hints:
        hints.append("fix the [provider] setting or provider.extra field the endpoint names")
    return "; ".join(hints)


def _reason(exc: Any) -> tuple[str, str | None]:
    """The endpoint's own message and the parameter it names, from an ``openai.APIStatusError``."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            param = inner.get("param")
            return str(inner["message"]), str(param) if param else None
        detail = body.get("detail")
        if detail:
            return str(detail), None
    return str(getattr(exc, "message", exc)), None


async def check_endpoint(provider: OpenAIProvider) -> None:
    """Send the preflight call through ``provider``'s own client; raise if the endpoint refuses the command.

    The SDK client is closed afterwards, because the run uses a new event loop (and so a new client).
    """
    import openai

    cfg = provider.config
    params = GenerationParams(
        model=cfg.model,
        temperature=None if cfg.temperature == "omit" else cfg.temperature,
        top_p=None if cfg.top_p == "omit" else cfg.top_p,
        max_tokens=min(cfg.max_tokens, PREFLIGHT_MAX_TOKENS),
        seed=0,
        extra=dict(cfg.extra),
    )
    request = provider._request(_PROMPT, params)
    tokens = estimate_tokens(_PROMPT, params.max_tokens)
    seen: list[Exception] = []

    def classify(exc: Exception) -> Any:
        seen.append(exc)
        return provider._classify(exc)

    policy = RetryPolicy(min(cfg.max_retries, _PREFLIGHT_RETRIES), cfg.backoff_base_s, cfg.backoff_max_s)
    try:
        outcome = await call_with_retries(
            lambda: provider._attempt(request, tokens), classify, policy, random.Random(0), None
        )
    finally:
        await provider.aclose()
    if outcome.failure is None:
        return
    from llmsde.providers.openai_compat import _public_url

    where = _public_url(provider.base_url)
    last = seen[-1] if seen else None
    if isinstance(last, openai.APIStatusError) and last.status_code in (400, 401, 403, 404, 422):
        reason, param = _reason(last)
        quoted = f'HTTP {last.status_code}: "{provider._redact(reason)}"'
        if last.status_code in (401, 403):
            raise ConfigError(
                f"{where} refused the API key ({quoted})",
                f"export {cfg.api_key_env}=<a valid key> (provider.api_key_env names the variable)",
            )
        if last.status_code == 404:
            raise ConfigError(
                f"{where} does not serve model '{cfg.model}' ({quoted})",
                "pass a model id that the endpoint lists at /v1/models, and check that --base-url ends in /v1",
            )
        raise ConfigError(f"{where} rejected the request parameters ({quoted})", rejected_parameter_hint(reason, param))
    raise ProviderError(
        f"{where} did not answer the preflight call ({outcome.failure.message}); no run was created",
        "check that the server is running and --base-url, or skip the check with --no-preflight",
    )
