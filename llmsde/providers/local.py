"""``--provider local``: a GGUF file served by llama.cpp's OpenAI-compatible server for the length of a run.

The run talks to the server exactly as to any other endpoint (:class:`LocalProvider` is the ``openai`` provider
with a different name), so the real HTTP path is what a local study exercises. What this module adds:

- checks that cost nothing and leave nothing behind: the file exists and starts with the GGUF magic, the
  ``[local]`` extra is installed, ``max_tokens`` fits in the context;
- the model label stored with the run: the file name and a SHA-256 prefix of its bytes, so two runs on
  "the same" file name with different weights never look alike (and a resume on a changed file is refused);
- the server's lifecycle: a child process on a free 127.0.0.1 port, ready when ``/v1/models`` answers, stopped
  on every exit path. Normal exits, errors and Ctrl-C stop it in :func:`serve_local`'s ``finally``; SIGTERM is
  turned into the same path while the server runs; SIGKILL of llmsde is covered by the kernel
  (``PR_SET_PDEATHSIG`` via :mod:`llmsde.providers._die_with_parent`).

llama.cpp's server answers one request at a time and queues the rest, so the run's provider keeps one request in
flight (``max_in_flight = 1``): waiting happens in llmsde, where it does not count against the call's timeout.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from llmsde.config import ProviderConfig
from llmsde.errors import ConfigError, RunDirError
from llmsde.providers.openai_compat import OpenAIProvider

__all__ = [
    "DEFAULT_CTX",
    "GGUF_MAGIC",
    "INSTALL_HINT",
    "SLOWEST_TOKENS_PER_S",
    "LocalProvider",
    "check_model_file",
    "model_label",
    "require_server_extra",
    "resolve_model_path",
    "serve_local",
]

GGUF_MAGIC = b"GGUF"
"""First four bytes of every GGUF file."""

DEFAULT_CTX = 4096
"""Context window when ``--ctx`` is not given: llama.cpp's own default (2048) leaves no room for a prompt beside
the default ``max_tokens`` of 2048."""

INSTALL_HINT = "install the extra: pip install 'llmsde[local]' (from a checkout: pip install -e '.[local]')"

_SERVER_MODULES = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context", "pydantic_settings")
"""Top-level modules ``python -m llama_cpp.server`` needs (``llama-cpp-python[server]``); looked up, not imported,
because importing llama_cpp loads the native library."""

SLOWEST_TOKENS_PER_S = 5.0
"""The call timeout of a local run is at least ``max_tokens`` / this: the server is llmsde's own and serves one
request at a time, so a long reply on a slow or busy CPU is slow, not lost, and abandoning it would leave the
server generating it while the retry waits behind."""

_LOCAL_KEY = "llmsde-local-no-key"
_STOP_WAIT_S = 5.0


def check_model_file(model: str) -> Path:
    """The absolute path of a readable GGUF file, or a ConfigError saying what is wrong with ``model``."""
    path = Path(model).expanduser()
    if not path.is_file():
        raise ConfigError(
            f"model file not found: {model}", "pass the path of a .gguf file with --model (or provider.model)"
        )
    try:
        with path.open("rb") as handle:
            magic = handle.read(len(GGUF_MAGIC))
    except OSError as err:
        raise ConfigError(f"cannot read model file {model}: {err.strerror}", "check the file's permissions") from None
    if magic != GGUF_MAGIC:
        raise ConfigError(
            f"{model} is not a GGUF file (it does not start with the bytes 'GGUF')",
            "--provider local serves llama.cpp GGUF models; convert the model or download a .gguf file",
        )
    return Path(os.path.abspath(path))


def resolve_model_path(config: ProviderConfig) -> ProviderConfig:
    """For ``local``: the config with ``model`` as the checked, absolute path (stored with the run, so a resume
    from another directory finds the file); other configs unchanged."""
    if config.name != "local":
        return config
    return config.model_copy(update={"model": str(check_model_file(config.model))})


def require_server_extra() -> None:
    """Raise a ConfigError with the install line when llama-cpp-python's server is not installed."""
    missing = [name for name in _SERVER_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigError(
            f"--provider local needs llama-cpp-python[server] (missing: {', '.join(missing)})", INSTALL_HINT
        )


def model_label(path: Path) -> str:
    """``<file name>@sha256:<first 12 hex digits>``: the model label stored with the run."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return f"{path.name}@sha256:{digest.hexdigest()[:12]}"


class LocalProvider(OpenAIProvider):
    """The ``openai`` provider pointed at the llama.cpp server that :func:`serve_local` started.

    It sends a placeholder key: the server needs none, and a real ``OPENAI_API_KEY`` in the environment has no
    business travelling to a local process.
    """

    name = "local"

    def __init__(self, config: ProviderConfig, seed: int) -> None:
        if config.base_url is None:
            raise ConfigError(
                "the local provider has no server yet", "start it through serve_local(), as `llmsde run` does"
            )
        super().__init__(config, seed)
        self._key = _LOCAL_KEY


@contextmanager
def serve_local(config: ProviderConfig, expected_label: str | None = None) -> Iterator[ProviderConfig]:
    """For ``name = "local"``: start the server and yield the provider config the run uses (its ``base_url``,
    the model label as ``model``, ``max_context_tokens`` = the context size, one request in flight, a timeout
    of at least ``max_tokens`` / :data:`SLOWEST_TOKENS_PER_S`); stop the server on leaving. Any other provider
    config is yielded unchanged.

    ``expected_label`` (a resumed run's stored label) refuses a file whose bytes changed, before serving it.
    """
    if config.name != "local":
        yield config
        return
    if config.base_url is not None:
        raise ConfigError(
            "--base-url has no meaning with --provider local (llmsde serves the model itself)",
            "drop --base-url, or use --provider openai to reach a server you started",
        )
    path = check_model_file(config.model)
    ctx = config.ctx or DEFAULT_CTX
    if config.max_tokens >= ctx:
        raise ConfigError(
            f"provider.max_tokens ({config.max_tokens}) leaves no room for the prompt in a context of {ctx} tokens",
            f"raise --ctx (e.g. --ctx {2 * config.max_tokens}) or lower provider.max_tokens",
        )
    require_server_extra()
    label = model_label(path)
    if expected_label is not None and label != expected_label:
        raise RunDirError(
            f"{path} is now {label}, but the run started with {expected_label}",
            "restore the original model file to resume, or start a new run",
        )
    with _stop_on_sigterm(), _llama_server(path, label, ctx, config.threads, config.startup_timeout_s) as url:
        timeout_s = max(config.timeout_s, config.max_tokens / SLOWEST_TOKENS_PER_S)
        update = {"base_url": url, "model": label, "max_context_tokens": ctx, "max_in_flight": 1}
        yield config.model_copy(update={**update, "timeout_s": timeout_s})


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _command(path: Path, label: str, port: int, ctx: int, threads: int | None) -> list[str]:
    launcher = Path(__file__).with_name("_die_with_parent.py")
    command = [sys.executable, str(launcher), str(os.getpid()), sys.executable, "-m", "llama_cpp.server"]
    command += ["--model", str(path), "--model_alias", label, "--host", "127.0.0.1", "--port", str(port)]
    command += ["--n_ctx", str(ctx)]
    if threads is not None:
        command += ["--n_threads", str(threads), "--n_threads_batch", str(threads)]
    return command


def _output(log: IO[bytes]) -> str:
    log.seek(0)
    return log.read().decode("utf-8", "replace")


def _last_line(log: IO[bytes]) -> str:
    """The server's last line of output: its exception, or llama.cpp's last message."""
    lines = [line.strip() for line in _output(log).splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(_STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
    proc.wait()


def _wait_ready(proc: subprocess.Popen[bytes], url: str, timeout_s: float, log: IO[bytes]) -> bool:
    """True once ``GET /v1/models`` answers 200; False if the process exits first; ConfigError on timeout."""
    import httpx

    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return False
            try:
                if client.get(f"{url}/models").status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    raise ConfigError(
        f"the llama.cpp server did not answer within {timeout_s:g} s (last output: {_last_line(log)})",
        "raise provider.startup_timeout_s for a large model, or check the model file",
    )


@contextmanager
def _llama_server(path: Path, label: str, ctx: int, threads: int | None, timeout_s: float) -> Iterator[str]:
    """The running server's base URL; a port taken between choosing and binding it is retried twice."""
    for attempt in range(3):
        port = _free_port()
        url = f"http://127.0.0.1:{port}/v1"
        with tempfile.TemporaryFile() as log:
            proc = subprocess.Popen(
                _command(path, label, port, ctx, threads),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
            try:
                if _wait_ready(proc, url, timeout_s, log):
                    yield url
                    return
                if "address already in use" in _output(log).lower() and attempt < 2:
                    continue
                raise ConfigError(
                    f"the llama.cpp server exited with code {proc.returncode} while loading {path.name}: "
                    f"{_last_line(log)}",
                    "check that the file is a complete GGUF model that this llama-cpp-python version supports",
                )
            finally:
                _stop(proc)


@contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """While the server runs, SIGTERM unwinds like Ctrl-C, so every ``finally`` (the server's stop, the run's
    status) runs; without it Python dies at once and only the kernel's death signal would stop the server.

    The handler re-raises the signal as SIGINT, so inside ``asyncio.run`` the runner's own Ctrl-C handling
    cancels the main task cleanly (a KeyboardInterrupt raised in the middle of a task step would leave a task
    with an unretrieved exception); where SIGINT is ignored (a background job), it raises KeyboardInterrupt.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        if not callable(signal.getsignal(signal.SIGINT)):
            raise KeyboardInterrupt
        signal.raise_signal(signal.SIGINT)

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
