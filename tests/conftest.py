"""Shared fixtures: a hermetic environment for every test, and one real OpenAI-compatible server on
loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from llmsde.providers.server import ServerOptions, serve_in_thread

_ENV_TO_CLEAR = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)
"""Variables that would send test traffic through a proxy or the SDK to a real account."""


@pytest.fixture(autouse=True)
def _hermetic_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees a real key or proxy; loopback traffic must never leave through a proxy."""
    for name in _ENV_TO_CLEAR:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost,::1")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost,::1")


@pytest.fixture(scope="session")
def surrogate_server() -> Iterator[str]:
    """``llmsde serve`` (no faults, no latency) on a free 127.0.0.1 port for the whole session; yields
    base_url."""
    with serve_in_thread(ServerOptions(seed=0)) as base_url:
        yield base_url
