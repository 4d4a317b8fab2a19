"""``llmsde serve`` in a child process for the benchmark scripts (each imports this file from its own folder)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx


def start_serve(*flags: str) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``llmsde serve FLAGS`` on a free 127.0.0.1 port; return the process and its base URL once it answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    cmd = [sys.executable, "-m", "llmsde", "serve", "--port", str(port), *flags]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"llmsde serve exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            if httpx.get(f"{url}/models", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("llmsde serve did not start within 60 s")
