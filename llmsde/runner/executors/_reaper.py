"""Stops a Ray instance that a run started itself when the run's process dies without stopping it (SIGKILL).

``ray.init()`` without an address starts Ray's head processes as children of the driver. A driver that is
killed cannot call ``ray.shutdown()``, and some of those processes (Ray's per-node agents) then outlive it. The
reaper is a small process holding the read end of a pipe from the driver: a clean stop writes ``done`` and the
reaper exits; end-of-file without it means the driver died, and the reaper kills the processes the driver
started for Ray and everything that was below them a second before (Ray's head processes die with the driver,
so their children are re-parented at once), by process id, nothing else.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

__all__ = ["Reaper", "children_of"]

_SCRIPT = """
import os, select, signal, sys
from pathlib import Path

def tree(roots):
    parent = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    found, todo = set(), [r for r in roots if r in parent]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo += [c for c, p in parent.items() if p == pid]
    return found

signal.signal(signal.SIGINT, signal.SIG_IGN)
roots = [int(a) for a in sys.argv[1:]]
known = tree(roots)
fd = sys.stdin.fileno()
data = b""
while True:
    ready, _, _ = select.select([fd], [], [], 1.0)
    if not ready:
        known = tree(roots)
        continue
    chunk = os.read(fd, 64)
    if not chunk:
        break
    data += chunk
if data.startswith(b"done"):
    sys.exit(0)
for pid in known | tree(roots):
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
"""


def children_of(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (Linux ``/proc``; empty elsewhere)."""
    found: list[int] = []
    try:
        entries = list(Path("/proc").iterdir())
    except OSError:
        return found
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid:
            found.append(int(entry.name))
    return found


class Reaper:
    """Watches this process on behalf of the Ray processes in ``roots`` (see the module docstring)."""

    def __init__(self, roots: list[int]) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        if roots:
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _SCRIPT, *map(str, roots)],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )

    def release(self) -> None:
        """Ray was stopped cleanly: tell the reaper to exit without killing anything; idempotent."""
        proc, self._proc = self._proc, None
        if proc is None or proc.stdin is None:
            return
        try:
            proc.stdin.write(b"done")
            proc.stdin.close()
            proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
