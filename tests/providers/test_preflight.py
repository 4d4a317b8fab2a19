"""The preflight call: a wrong key, model or parameter exits 2 before the run directory exists.

Every test goes through the real CLI entry point and the real ``openai`` SDK against ``llmsde serve`` on
127.0.0.1, which emulates a reasoning model's refusals with ``reject_params``.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cli_helpers import run_main

from llmsde.api import load_run_rows
from llmsde.config import ProviderConfig
from llmsde.errors import ConfigError
from llmsde.providers.openai_compat import OpenAIProvider
from llmsde.providers.preflight import rejected_parameter_hint
from llmsde.providers.server import ServerOptions, parse_rejected_params, serve_in_thread
from llmsde.providers.surrogate import SurrogateProvider
from llmsde.types import ChatMessage, GenerationParams

KEY = "sk-test-PREFLIGHT-5678"


def _args(tmp: Path, url: str, *extra: str) -> list[str]:
    config = tmp / "study.toml"
    if not config.exists():
        config.write_text("[provider]\nmax_retries = 1\nbackoff_base_s = 0.01\n", encoding="utf-8")
    return [
        "run", str(config),
        "--provider", "openai", "--base-url", url, "--model", "llmsde-surrogate-1",
        "--sessions", "1", "--iterations", "1", "--strategies", "SF", "--tasks", "dedupe_emails",
        "--out", str(tmp / "runs"), "--json", *extra,
    ]  # fmt: skip


def _no_run(tmp: Path) -> bool:
    return not (tmp / "runs").exists() or not any((tmp / "runs").iterdir())


def _refused(tmp: Path, capsys: pytest.CaptureFixture[str], options: ServerOptions, *extra: str) -> str:
    with serve_in_thread(options) as url:
        code, out, err = run_main(_args(tmp, url, *extra), capsys)
    assert code == 2, err
    assert out == "" and "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:")
    assert _no_run(tmp)
    return lines[0]


def test_wrong_key_exits_2_quoting_the_endpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-key-LEAKED-0000")
    line = _refused(tmp_path, capsys, ServerOptions(api_key=KEY))
    assert "refused the API key" in line and "HTTP 401" in line and "Incorrect API key provided" in line
    assert "export OPENAI_API_KEY=" in line
    assert "LEAKED" not in line


def test_unknown_model_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    options = ServerOptions(model_id="the-real-model", reject_params=("model",))
    line = _refused(tmp_path, capsys, options)
    assert "does not serve model 'llmsde-surrogate-1'" in line and "HTTP 404" in line
    assert "does not exist or you do not have access" in line and "/v1/models" in line


@pytest.mark.parametrize(
    ("rejected", "setting", "fix"),
    [
        ("max_tokens", "", 'max_tokens_param = "max_completion_tokens"'),
        ("temperature", "", 'temperature = "omit"'),
        ("top_p", "top_p = 0.9", 'top_p = "omit"'),
    ],
)
def test_rejected_parameter_exits_2_naming_the_fix_and_the_fix_works(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], rejected: str, setting: str, fix: str
) -> None:
    config = tmp_path / "study.toml"
    config.write_text(f"[provider]\nmax_retries = 1\n{setting}\n", encoding="utf-8")
    options = ServerOptions(reject_params=(rejected,))
    line = _refused(tmp_path, capsys, options)
    assert "rejected the request parameters" in line and "HTTP 400" in line
    assert f"'{rejected}'" in line and f"set {fix} in [provider]" in line
    config.write_text(f"[provider]\nmax_retries = 1\n{fix}\n", encoding="utf-8")
    with serve_in_thread(options) as url:
        code, out, err = run_main(_args(tmp_path, url), capsys)
    assert code == 0, err
    summary = json.loads(out)
    assert summary["status"] == "complete" and summary["failed_iterations"] == 0


def test_all_rejections_at_once_are_fixed_by_the_documented_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    options = ServerOptions(reject_params=parse_rejected_params("max_tokens,temperature,top_p"))
    (tmp_path / "study.toml").write_text(
        '[provider]\nmax_tokens_param = "max_completion_tokens"\ntemperature = "omit"\ntop_p = "omit"\n',
        encoding="utf-8",
    )
    with serve_in_thread(options) as url:
        code, out, err = run_main(_args(tmp_path, url), capsys)
    assert code == 0, err
    assert json.loads(out)["failed_iterations"] == 0


def test_no_preflight_skips_the_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seen: list[str] = []

    def reply(messages: object, seed: int, temperature: float) -> str:
        seen.append(str(messages))
        return "```python\ndef dedupe_emails(emails):\n    return sorted(set(emails))\n```"

    with serve_in_thread(ServerOptions(reply=reply)) as url:
        code, _, err = run_main(_args(tmp_path, url), capsys)
        assert code == 0, err
        with_check = len(seen)
        seen.clear()
        code, _, err = run_main(_args(tmp_path, url, "--no-preflight"), capsys)
        assert code == 0, err
    assert with_check == len(seen) + 1
    assert not any("single word OK" in text for text in seen)


def test_endpoint_down_is_reported_before_a_run_exists(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    code, out, err = run_main(_args(tmp_path, f"http://127.0.0.1:{port}/v1"), capsys)
    assert code == 1, err
    assert "did not answer the preflight call" in err and "no run was created" in err and "--no-preflight" in err
    assert _no_run(tmp_path)


def test_reject_params_server_answers_in_openai_shape() -> None:
    with serve_in_thread(ServerOptions(reject_params=("max_tokens", "temperature"))) as url:
        body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 1, "max_tokens": 5}
        refused = httpx.post(f"{url}/chat/completions", json=body, timeout=10)
        body.pop("max_tokens")
        body["temperature"] = 1
        default_temperature = httpx.post(f"{url}/chat/completions", json=body, timeout=10)
        body["temperature"] = 0.7
        other_temperature = httpx.post(f"{url}/chat/completions", json=body, timeout=10)
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "max_tokens"
    assert "max_completion_tokens" in refused.json()["error"]["message"]
    assert default_temperature.status_code == 200
    assert other_temperature.status_code == 400 and other_temperature.json()["error"]["code"] == "unsupported_value"


def test_unknown_rejectable_param_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="frequency_penalty") as info:
        parse_rejected_params("max_tokens,frequency_penalty")
    assert "choose from max_tokens," in info.value.hint


def test_hint_for_a_parameter_it_does_not_know_names_the_extra_table() -> None:
    assert "provider.extra" in rejected_parameter_hint("Unsupported parameter: 'logprobs'", "logprobs")
    assert "--ctx" in rejected_parameter_hint("Requested tokens (5000) exceed context window of 4096", None)


def test_omitted_sampling_and_max_completion_tokens_shape_the_request() -> None:
    config = ProviderConfig(
        name="openai", base_url="http://127.0.0.1:9/v1", max_tokens_param="max_completion_tokens", extra={"k": 1}
    )
    provider = OpenAIProvider(config, seed=0)
    request = provider._request([ChatMessage("user", "hi")], GenerationParams(temperature=None, top_p=None))
    assert not {"temperature", "top_p", "max_tokens"} & set(request)
    assert request["extra_body"] == {"k": 1, "max_completion_tokens": 2048}
    assert config.extra == {"k": 1}


def test_surrogate_with_omitted_temperature_uses_its_default() -> None:
    provider = SurrogateProvider(ProviderConfig(), seed=0)
    messages = [ChatMessage("user", "Make this faster:\n```python\ndef f(x):\n    return sorted(x)[0]\n```")]
    omitted = asyncio.run(provider.complete(messages, GenerationParams(temperature=None, seed=3)))
    default = asyncio.run(provider.complete(messages, GenerationParams(temperature=0.7, seed=3)))
    assert omitted.text == default.text


def test_resume_checks_the_endpoint_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from llmsde.api import resume_run, run_study
    from llmsde.config import build_config
    from llmsde.runner.events import Progress

    def stop_after_first(progress: Progress) -> None:
        if progress.new_iterations >= 1:
            raise RuntimeError("stopped by the test")

    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with serve_in_thread(ServerOptions(api_key=KEY)) as url:
        config = build_config(
            {
                "sessions": 1,
                "iterations": 3,
                "strategies": ["SF"],
                "tasks": ["dedupe_emails"],
                "out": str(tmp_path / "runs"),
                "provider": {"name": "openai", "base_url": url, "model": "m"},
            }
        )
        with pytest.raises(RuntimeError, match="stopped by the test"):
            run_study(config, on_progress=stop_after_first)
        [run_dir] = list((tmp_path / "runs").iterdir())
        before = len(load_run_rows(run_dir))
        monkeypatch.setenv("OPENAI_API_KEY", "sk-expired-key-0000")
        with pytest.raises(ConfigError, match="refused the API key"):
            resume_run(run_dir)
        assert len(load_run_rows(run_dir)) == before < 4
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        assert resume_run(run_dir).status == "complete"
    assert len(load_run_rows(run_dir)) == 4


def test_serve_command_rejects_params_and_refuses_unknown_ones() -> None:
    bad = subprocess.run(
        [sys.executable, "-m", "llmsde", "serve", "--port", "0", "--reject-params", "max_tokens,logit_bias"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "logit_bias" in bad.stderr and "Traceback" not in bad.stderr
    command = [sys.executable, "-m", "llmsde", "serve", "--port", "0", "--reject-params", "max_tokens"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        announced = ""
        for _ in range(3):
            announced += server.stdout.readline()
            if url := re.search(r"http://127\.0\.0\.1:\d+/v1", announced):
                break
        assert url is not None, announced
        _wait_listening(url.group(0))
        body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}
        refused = httpx.post(f"{url.group(0)}/chat/completions", json=body, timeout=30, trust_env=False)
        body.pop("max_tokens")
        answered = httpx.post(f"{url.group(0)}/chat/completions", json=body, timeout=30, trust_env=False)
    finally:
        server.terminate()
        server.communicate(timeout=30)
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "max_tokens"
    assert answered.status_code == 200


def _wait_listening(url: str) -> None:
    """``llmsde serve`` announces its URL once the port is bound, a moment before uvicorn listens on it."""
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{url}/models", timeout=5, trust_env=False)
            return
        except httpx.TransportError:
            assert time.monotonic() < deadline, f"{url} never answered"
            time.sleep(0.05)
