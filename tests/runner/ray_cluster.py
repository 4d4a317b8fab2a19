"""A real Ray head on 127.0.0.1 for the Ray tests, held by its own process so it can be stopped exactly.

The holder calls ``ray.init`` with a private temp directory and prints the cluster address; closing its stdin
makes it call ``ray.shutdown()``, which stops the processes that ``ray.init`` started and no others (``ray
stop`` would kill every Ray process on the machine). Every process of the cluster names that temp directory
on its command line, which is how :func:`leftover` finds any that survived.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_HOLDER = """
import sys, ray
ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="warning",
         _node_ip_address="127.0.0.1", _temp_dir=sys.argv[1])
print("127.0.0.1:" + ray.get_runtime_context().gcs_address.rsplit(":", 1)[1], flush=True)
sys.stdin.read()
ray.shutdown()
"""


def ray_processes(marker: str = "ray") -> dict[int, str]:
    """pid -> command line of live processes whose command line contains ``marker``, except this one."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            state = (entry / "stat").read_text().split(") ")[-1][:1]
        except OSError:
            continue
        if marker in cmd and state != "Z":
            found[int(entry.name)] = cmd
    return found


def leftover(temp_dir: str) -> dict[int, str]:
    """Processes of the cluster rooted at ``temp_dir`` that are still alive."""
    return ray_processes(temp_dir)


@contextmanager
def ray_head() -> Iterator[tuple[str, str]]:
    """Start the head; yield (address, temp dir); stop it on exit."""
    temp_dir = tempfile.mkdtemp(prefix="llr", dir="/tmp")
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, temp_dir],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"},
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    try:
        address = proc.stdout.readline().strip()
        assert address, "the Ray head did not start"
        yield address, temp_dir
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def deny_namespaces() -> None:
    """Ray ``worker_process_setup_hook``: every worker process loads a seccomp filter refusing unshare/setns, which
    its fork servers inherit, so its sandbox has no network namespace and no private /tmp: weaker than
    ``require_isolation`` allows (as on a node whose kernel forbids user namespaces)."""
    from llmsde.sandbox import _isolation

    _isolation.deny_namespaces()
