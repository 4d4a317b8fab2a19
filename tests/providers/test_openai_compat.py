"""OpenAIProvider through the real openai SDK against ``llmsde serve`` on 127.0.0.1 (no internet, no real
key)."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Iterator, Sequence

import pytest

from llmsde.config import PriceConfig, ProviderConfig
from llmsde.errors import ConfigError
from llmsde.providers import make_provider
from llmsde.providers.base import EndpointUnavailable
from llmsde.providers.limits import EndpointLimits, estimate_tokens
from llmsde.providers.openai_compat import OpenAIProvider, is_loopback_url
from llmsde.providers.server import ServerOptions, serve_in_thread
from llmsde.types import ChatMessage, Completion, GenerationParams

FAKE_KEY = "sk-test-LEAKCHECK-1234"


class CountingReply:
    """The server's reply function, counting how often it answered each distinct request."""

    def __init__(self) -> None:
        self.answered: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, messages: Sequence[ChatMessage], seed: int, temperature: float) -> str:
        content = messages[-1].content
        with self._lock:
            self.answered[content] = self.answered.get(content, 0) + 1
        return f"Improved (seed {seed}):\n```python\n{content}\n```"


def provider_for(base_url: str, **overrides: object) -> OpenAIProvider:
    settings: dict[str, object] = {
        "name": "openai",
        "base_url": base_url,
        "model": "surrogate",
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.2,
        "timeout_s": 2.0,
    }
    settings.update(overrides)
    return OpenAIProvider(ProviderConfig.model_validate(settings), seed=0)


def ask(provider: OpenAIProvider, prompts: Sequence[str], seed: int | None = 11) -> list[Completion]:
    async def go() -> list[Completion]:
        try:
            return list(
                await asyncio.gather(
                    *(provider.complete([ChatMessage("user", p)], GenerationParams(seed=seed)) for p in prompts)
                )
            )
        finally:
            await provider.aclose()

    return asyncio.run(go())


@pytest.fixture(scope="module")
def flaky_server() -> Iterator[tuple[str, CountingReply]]:
    reply = CountingReply()
    options = ServerOptions(reply=reply, fail_rate=0.2, retry_after_s=0.05, hang_s=10.0, seed=5)
    with serve_in_thread(options) as url:
        yield url, reply


def test_registered_and_built_by_name(surrogate_server: str) -> None:
    config = ProviderConfig.model_validate({"name": "openai", "base_url": surrogate_server})
    assert isinstance(make_provider(config, 0), OpenAIProvider)


def test_completion_records_server_metadata_and_cost() -> None:
    prices = PriceConfig(prompt_per_mtok=2.0, completion_per_mtok=8.0)
    with serve_in_thread(ServerOptions(reply=CountingReply())) as url:
        [c] = ask(provider_for(url, prices=prices), ["def f(x):\n    return x\n"])
    assert c.error is None and "def f(x)" in c.text
    assert c.model == "llmsde-surrogate-1"
    assert c.system_fingerprint is not None and c.system_fingerprint.startswith("fp_llmsde_")
    assert c.usage.prompt_tokens > 0 and c.usage.completion_tokens > 0
    assert c.latency_s > 0 and c.retries == 0
    expected = (c.usage.prompt_tokens * 2.0 + c.usage.completion_tokens * 8.0) / 1e6
    assert c.cost_usd == pytest.approx(expected)


def test_injected_faults_every_call_answered_exactly_once(flaky_server: tuple[str, CountingReply]) -> None:
    url, reply = flaky_server
    prompts = [f"value_{i} = {i}" for i in range(60)]
    results = ask(provider_for(url, max_retries=10, timeout_s=0.5, max_in_flight=16), prompts)
    assert [r.error for r in results] == [None] * len(prompts)
    for prompt, result in zip(prompts, results, strict=True):
        assert prompt in result.text
    assert all(reply.answered[p] == 1 for p in prompts)
    assert sum(r.retries for r in results) > 0


def test_same_seed_same_server_same_replies(flaky_server: tuple[str, CountingReply]) -> None:
    url, _ = flaky_server
    prompts = ["a = 1", "b = 2", "c = 3"]
    first = ask(provider_for(url, max_retries=10, timeout_s=0.5), prompts, seed=3)
    second = ask(provider_for(url, max_retries=10, timeout_s=0.5), prompts, seed=3)
    other = ask(provider_for(url, max_retries=10, timeout_s=0.5), prompts, seed=4)
    assert [c.text for c in first] == [c.text for c in second]
    assert [c.text for c in first] != [c.text for c in other]


def test_served_surrogate_matches_offline_surrogate(surrogate_server: str) -> None:
    from llmsde.providers.surrogate import surrogate_reply

    code = "import os\n\ndef run(cmd):\n    return os.system(cmd)\n"
    prompts = [f"Make this code more secure.\n```python\n{code}```", f"Make it faster.\n```python\n{code}```"]
    first = ask(provider_for(surrogate_server), prompts, seed=21)
    again = ask(provider_for(surrogate_server), prompts, seed=21)
    offline = [surrogate_reply([ChatMessage("user", p)], 21, 0.7) for p in prompts]
    assert [c.text for c in first] == [c.text for c in again] == offline
    provider = provider_for(surrogate_server)

    async def seeds() -> set[str]:
        try:
            calls = [provider.complete([ChatMessage("user", prompts[0])], GenerationParams(seed=s)) for s in range(8)]
            return {c.text for c in await asyncio.gather(*calls)}
        finally:
            await provider.aclose()

    by_seed = asyncio.run(seeds())
    assert len(by_seed | {first[0].text}) > 1, "the seed field must reach the surrogate"


def _dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def test_endpoint_down_raises_then_opens_breaker_within_bound() -> None:
    provider = provider_for(_dead_url(), max_retries=2, breaker_failures=3)
    failures: list[EndpointUnavailable] = []

    async def go() -> None:
        try:
            for i in range(10):
                with pytest.raises(EndpointUnavailable) as info:
                    await provider.complete([ChatMessage("user", f"x = {i}")], GenerationParams())
                failures.append(info.value)
        finally:
            await provider.aclose()

    asyncio.run(go())
    assert [f.breaker_open for f in failures] == [False, False] + [True] * 8
    assert all("connection" in f.message and "127.0.0.1" in f.endpoint for f in failures[:2])
    assert "\n" not in failures[2].message and "3 calls in a row" in failures[2].message
    assert all(f is failures[2] for f in failures[3:]), "an open breaker refuses at once, without new attempts"


def test_breaker_stops_concurrent_calls_against_a_dead_endpoint() -> None:
    provider = provider_for(_dead_url(), max_retries=1, breaker_failures=4, max_in_flight=8)

    async def go() -> list[Completion | BaseException]:
        try:
            calls = [provider.complete([ChatMessage("user", f"y = {i}")], GenerationParams()) for i in range(40)]
            return list(await asyncio.gather(*calls, return_exceptions=True))
        finally:
            await provider.aclose()

    outcomes = asyncio.run(go())
    assert all(isinstance(o, EndpointUnavailable) for o in outcomes)
    assert sum(o.breaker_open for o in outcomes if isinstance(o, EndpointUnavailable)) >= 36


def test_a_rejected_key_opens_the_breaker_at_once_and_never_leaks(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    caplog.set_level(logging.DEBUG)
    reply = CountingReply()
    with serve_in_thread(ServerOptions(reply=reply, api_key="the-right-key")) as url:
        provider = provider_for(url, breaker_failures=5)
        with pytest.raises(EndpointUnavailable) as info:
            ask(provider, ["z = 1"])
    assert info.value.breaker_open and "HTTP 401" in info.value.message and "failed a call" in info.value.message
    visible = [info.value.message, repr(info.value), repr(provider), caplog.text]
    for text in visible:
        assert FAKE_KEY not in text and "LEAKCHECK" not in text


def test_context_length_error_is_data_never_retried_and_keeps_the_breaker_closed() -> None:
    reply = CountingReply()
    with serve_in_thread(ServerOptions(reply=reply, max_prompt_tokens=50)) as url:
        provider = provider_for(url, breaker_failures=2)
        results = ask(provider, ["q" * 400] * 3 + ["short = 1"])
    assert [c.error is not None for c in results] == [True, True, True, False]
    for c in results[:3]:
        assert c.error is not None and c.error.startswith("context length exceeded: HTTP 400")
        assert c.retries == 0 and c.text == ""
    assert results[3].finish_reason == "stop" and reply.answered == {"short = 1": 1}


def test_a_reply_cut_at_max_tokens_reports_finish_reason_length(surrogate_server: str) -> None:
    provider = provider_for(surrogate_server)
    messages = [ChatMessage("user", "```python\ndef f(x):\n    return x\n```\nMake it faster.")]

    async def go() -> tuple[Completion, Completion]:
        try:
            short = await provider.complete(messages, GenerationParams(max_tokens=5, seed=1))
            full = await provider.complete(messages, GenerationParams(seed=1))
            return short, full
        finally:
            await provider.aclose()

    short, full = asyncio.run(go())
    assert short.finish_reason == "length" and short.usage.completion_tokens <= 5
    assert full.finish_reason == "stop" and full.text.startswith(short.text)


def test_success_path_logs_no_key(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("MY_ENDPOINT_KEY", FAKE_KEY)
    caplog.set_level(logging.DEBUG)
    with serve_in_thread(ServerOptions(reply=CountingReply(), api_key=FAKE_KEY)) as url:
        [c] = ask(provider_for(url, api_key_env="MY_ENDPOINT_KEY"), ["w = 1"])
    assert c.error is None
    assert "Request options" in caplog.text or "HTTP Request" in caplog.text
    assert "LEAKCHECK" not in caplog.text and "LEAKCHECK" not in repr(c)


def test_missing_key_for_remote_endpoint_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="MY_KEY_VAR"):
        provider_for("https://api.example.invalid/v1", api_key_env="MY_KEY_VAR")
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        OpenAIProvider(ProviderConfig.model_validate({"name": "openai"}), 0)
    provider_for("http://localhost:9/v1")
    provider_for("http://127.0.0.2:9/v1")


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8000/v1", True),
        ("http://localhost/v1", True),
        ("http://[::1]:8000/v1", True),
        ("https://api.openai.com/v1", False),
        ("http://10.0.0.5:8000/v1", False),
        ("http://127.0.0.1.example.com/v1", False),
    ],
)
def test_is_loopback_url(url: str, loopback: bool) -> None:
    assert is_loopback_url(url) is loopback


def test_request_fields_from_params_and_config() -> None:
    provider = provider_for("http://127.0.0.1:9/v1", extra={"top_k": 40, "repetition_penalty": 1.1})
    params = GenerationParams(model="m", temperature=0.3, top_p=0.9, max_tokens=99, seed=5, extra={"top_k": 7})
    request = provider._request([ChatMessage("user", "hi")], params)
    assert request["model"] == "m" and request["temperature"] == 0.3 and request["top_p"] == 0.9
    assert request["max_tokens"] == 99 and request["seed"] == 5
    assert request["extra_body"] == {"top_k": 7, "repetition_penalty": 1.1}
    reasoning = provider._request([], GenerationParams(extra={"max_completion_tokens": 500}))
    assert "max_tokens" not in reasoning and "seed" not in reasoning


def test_endpoint_limits_bound_concurrency_and_rate() -> None:
    async def go() -> tuple[int, bool]:
        limits = EndpointLimits(max_in_flight=3, requests_per_minute=4, tokens_per_minute=None, adaptive=False)
        active = peak = 0

        async def one() -> None:
            nonlocal active, peak
            async with limits.slot(10) as ticket:
                active += 1
                peak = max(peak, active)
                await asyncio.sleep(0.01)
                ticket.answered(5)
                active -= 1

        await asyncio.gather(*(one() for _ in range(4)))
        fifth = asyncio.ensure_future(one())
        await asyncio.sleep(0.3)
        blocked = not fifth.done()
        fifth.cancel()
        return peak, blocked

    peak, blocked = asyncio.run(go())
    assert peak == 3
    assert blocked, "a 5th request within the minute must wait for the requests-per-minute bucket"


def test_token_estimate_counts_prompt_and_reply_budget() -> None:
    small = estimate_tokens([ChatMessage("user", "x" * 400)], 100)
    assert 200 <= small <= 210
    assert estimate_tokens([ChatMessage("user", "x" * 4000)], 100) > small
