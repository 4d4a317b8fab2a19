"""``llmsde serve`` over real HTTP on 127.0.0.1: routes, wire format, fault injection, determinism, the
CLI."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence

import httpx
import pytest

from llmsde.errors import ConfigError
from llmsde.providers._server_slots import Slots
from llmsde.providers.server import FAULT_KINDS, ServerOptions, parse_fault_kinds, serve_in_thread
from llmsde.types import ChatMessage


def echo_reply(messages: Sequence[ChatMessage], seed: int, temperature: float) -> str:
    return f"seed={seed} t={temperature:g}\n```python\n{messages[-1].content}\n```"


def chat_body(content: str = "x = 1", seed: int | None = 7) -> dict[str, object]:
    body: dict[str, object] = {"model": "anything", "messages": [{"role": "user", "content": content}]}
    if seed is not None:
        body["seed"] = seed
    return body


def test_models_and_chat_wire_format(surrogate_server: str) -> None:
    with httpx.Client(base_url=surrogate_server, timeout=10) as client:
        models = client.get("/models").json()
        assert models["object"] == "list" and models["data"][0]["id"] == "llmsde-surrogate-1"
        body = {"model": "surrogate", "messages": [{"role": "user", "content": "def f(x):\n    return x\n"}]}
        answer = client.post("/chat/completions", json=body)
    assert answer.status_code == 200
    data = answer.json()
    assert data["object"] == "chat.completion" and data["model"] == "llmsde-surrogate-1"
    assert data["system_fingerprint"].startswith("fp_llmsde_")
    assert data["choices"][0]["message"]["role"] == "assistant"
    assert isinstance(data["choices"][0]["message"]["content"], str)
    usage = data["usage"]
    assert usage["prompt_tokens"] > 0 and usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (json.dumps({"messages": []}).encode(), "non-empty list"),
        (json.dumps({"messages": [{"role": "wizard", "content": "x"}]}).encode(), "role"),
        (json.dumps({**chat_body(), "stream": True}).encode(), "streaming"),
    ],
)
def test_bad_requests_get_openai_style_400(surrogate_server: str, payload: bytes, fragment: str) -> None:
    response = httpx.post(f"{surrogate_server}/chat/completions", content=payload, timeout=10)
    assert response.status_code == 400
    assert fragment in response.json()["error"]["message"]


def test_reply_depends_on_request_seed_not_on_server() -> None:
    with (
        serve_in_thread(ServerOptions(reply=echo_reply, seed=1)) as a,
        serve_in_thread(ServerOptions(reply=echo_reply, seed=2)) as b,
    ):
        texts = [
            httpx.post(f"{url}/chat/completions", json=chat_body(seed=s), timeout=10).json()["choices"][0]
            for url in (a, b)
            for s in (7, 8)
        ]
    contents = [t["message"]["content"] for t in texts]
    assert contents[0] == contents[2] and contents[1] == contents[3] and contents[0] != contents[1]


@pytest.mark.parametrize("kind", ["429", "500", "malformed"])
def test_each_fault_kind(kind: str) -> None:
    options = ServerOptions(reply=echo_reply, fail_rate=1.0, fail_kinds=(kind,), retry_after_s=0.5)
    with serve_in_thread(options) as url:
        response = httpx.post(f"{url}/chat/completions", json=chat_body(), timeout=10)
    if kind == "429":
        assert response.status_code == 429 and response.headers["retry-after"] == "0.5"
        assert response.json()["error"]["type"] == "rate_limit_error"
    elif kind == "500":
        assert response.status_code == 500
    else:
        assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
        with pytest.raises(json.JSONDecodeError):
            json.loads(response.content)


def test_timeout_fault_holds_the_request_past_the_client_timeout() -> None:
    options = ServerOptions(reply=echo_reply, fail_rate=1.0, fail_kinds=("timeout",), hang_s=30.0)
    with serve_in_thread(options) as url:
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(f"{url}/chat/completions", json=chat_body(), timeout=0.3)
        assert httpx.get(f"{url}/models", timeout=5).status_code == 200


def _statuses(options: ServerOptions, n: int) -> list[int]:
    with serve_in_thread(options) as url, httpx.Client(timeout=10) as client:
        return [client.post(f"{url}/chat/completions", json=chat_body(f"x = {i % 5}")).status_code for i in range(n)]


def test_faults_are_deterministic_given_seed_and_request_sequence_and_redrawn_on_repeat() -> None:
    options = ServerOptions(reply=echo_reply, fail_rate=0.5, fail_kinds=("429", "500"), seed=3)
    first = _statuses(options, 40)
    assert first == _statuses(options, 40)
    assert {200, 429, 500} <= set(first)
    assert first != _statuses(ServerOptions(reply=echo_reply, fail_rate=0.5, fail_kinds=("429", "500"), seed=4), 40)
    by_request: dict[int, set[int]] = {i: set() for i in range(5)}
    for i, status in enumerate(first):
        by_request[i % 5].add(status)
    assert all(200 in seen for seen in by_request.values())


def test_api_key_required_when_configured() -> None:
    with serve_in_thread(ServerOptions(reply=echo_reply, api_key="right")) as url:
        denied = httpx.post(f"{url}/chat/completions", json=chat_body(), headers={"Authorization": "Bearer wrong"})
        allowed = httpx.post(f"{url}/chat/completions", json=chat_body(), headers={"Authorization": "Bearer right"})
    assert denied.status_code == 401 and allowed.status_code == 200


def test_option_validation() -> None:
    with pytest.raises(ConfigError, match="fail rate"):
        ServerOptions(fail_rate=1.5)
    with pytest.raises(ConfigError, match="fault kind"):
        ServerOptions(fail_rate=0.1, fail_kinds=("404",))
    assert parse_fault_kinds(" 429, Timeout ") == ("429", "timeout")
    assert parse_fault_kinds(",".join(FAULT_KINDS)) == FAULT_KINDS
    with pytest.raises(ConfigError, match="teapot"):
        parse_fault_kinds("429,teapot")


def test_port_in_use_is_a_config_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(ConfigError, match="cannot listen"):
            with serve_in_thread(ServerOptions(reply=echo_reply), port=taken.getsockname()[1]):
                pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_cli_serve_answers_and_stops_on_sigint() -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmsde", "serve", "--port", str(port), "--latency", "0", "--seed", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        status = None
        while status is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2).status_code
            except httpx.TransportError:
                time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert status == 200, err
    assert f"http://127.0.0.1:{port}/v1" in out
    assert "Traceback" not in err


def test_cli_serve_bad_fault_kind_is_one_line_exit_2() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "llmsde", "serve", "--fail-rate", "0.2", "--fail-kinds", "429,teapot"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "teapot" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_slots_serve_in_arrival_order_and_a_hang_up_keeps_its_slot() -> None:
    async def finish_order(slots: int | None) -> list[str]:
        gate, done = Slots(slots, tokens_per_s=1000.0), []

        async def one(name: str, tokens: int) -> None:
            await gate.generate(0.0, tokens)
            done.append(name)

        await asyncio.gather(one("long", 100), one("short1", 1), one("short2", 1))
        return done

    assert asyncio.run(finish_order(1)) == ["long", "short1", "short2"]
    assert asyncio.run(finish_order(None))[-1] == "long"

    async def after_hang_up() -> float:
        gate = Slots(1, tokens_per_s=1000.0)
        start = time.monotonic()
        abandoned = asyncio.ensure_future(gate.generate(0.0, 200))
        await asyncio.sleep(0)
        abandoned.cancel()
        await gate.generate(0.0, 1)
        return time.monotonic() - start

    assert asyncio.run(after_hang_up()) >= 0.2, "the abandoned reply still occupies the only slot"


def test_slot_options_are_validated_and_max_tokens_cuts_the_reply(surrogate_server: str) -> None:
    with pytest.raises(ConfigError, match="slots"):
        ServerOptions(slots=0)
    with pytest.raises(ConfigError, match="tokens per second"):
        ServerOptions(tokens_per_s=0.0)
    body = {**chat_body("```python\ndef f(x):\n    return x\n```\nMake it faster."), "max_tokens": 3}
    cut = httpx.post(f"{surrogate_server}/chat/completions", json=body).json()
    assert cut["choices"][0]["finish_reason"] == "length" and cut["usage"]["completion_tokens"] <= 3
    with serve_in_thread(ServerOptions(max_prompt_tokens=4)) as url:
        refused = httpx.post(f"{url}/chat/completions", json=chat_body("a long prompt " * 10))
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "context_length_exceeded"
