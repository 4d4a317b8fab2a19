"""The fork server: a lean, long-lived root process that forks one isolated child per candidate program.

Run as ``/usr/bin/python3 -I -S _forkserver.py`` by :mod:`llmsde.sandbox.pool`; stdlib only, small RSS (fork
cost grows with the parent's memory). At start-up it enters a new network and mount namespace (no network at
all, private tmpfs over /tmp, /var/tmp and /dev/shm), becomes a child subreaper, creates the slot's pids and
memory cgroups, pre-imports common stdlib modules and probes which per-child layers work. Each job then runs
in a child that calls setsid, joins the cgroups, gets a fresh scratch directory, rlimits, an unprivileged slot
uid, Landlock and seccomp before any candidate code runs. After the job every process of the slot uid is
killed and reaped and the scratch directory is removed. One frame in, one frame out per job (see ``_wire``).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the server runs as a script with its own directory on sys.path (no llmsde package)
    from llmsde.sandbox import _isolation as iso
    from llmsde.sandbox import _wire
    from llmsde.sandbox._jobs import CHILD_LAYERS, JobRunner
else:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import _isolation as iso
    import _wire
    from _jobs import CHILD_LAYERS, JobRunner

_PREIMPORT = (
    "array base64 bisect collections copy dataclasses datetime decimal enum fractions functools hashlib "
    "heapq html io itertools math operator random re statistics string struct textwrap typing unicodedata"
).split()


class Server(JobRunner):
    """State of one slot: its uid, cgroups and the isolation layers that were achieved."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        self.uid = cfg["uid"]
        self.root = os.geteuid() == 0
        self.layers = {}
        self.errors: list[str] = []
        self.cgroups: dict[str, str] = {}
        self.read_paths = sorted({"/usr", "/lib", "/lib64", sys.prefix, sys.base_prefix})
        self._setup_namespaces(cfg)
        self._setup_cgroups(cfg)
        for name in _PREIMPORT:
            __import__(name)

    def _try(self, layer: str, fn: Any, *args: Any) -> bool:
        try:
            fn(*args)
        except OSError as err:
            self.layers[layer] = False
            self.errors.append(f"{layer}: {err}")
            return False
        self.layers[layer] = True
        return True

    def _setup_namespaces(self, cfg: dict[str, Any]) -> None:
        if self.root:
            ok = self._try("netns", iso.unshare, iso.CLONE_NEWNS | iso.CLONE_NEWNET)
            self.layers["userns"] = False
        else:
            ok = self._try("userns", iso.unshare, iso.CLONE_NEWUSER | iso.CLONE_NEWNS | iso.CLONE_NEWNET)
            ok = ok and self._try("userns", iso.map_user_namespace, os.getuid(), os.getgid())
            self.layers["netns"] = ok
        if ok:
            self._try("private-tmp", iso.make_private_tmp, cfg["tmp_mb"])
        else:
            self.layers["private-tmp"] = False
        self._try("subreaper", iso.set_subreaper)

    def _setup_cgroups(self, cfg: dict[str, Any]) -> None:
        values = {
            "pids": {"pids.max": str(cfg["max_procs"])},
            "memory": {"memory.limit_in_bytes": str(cfg["memory_mb"] << 20)},
        }
        for ctrl, files in values.items():
            path = f"/sys/fs/cgroup/{ctrl}/llmsde/slot-{self.uid}"
            try:
                os.makedirs(path, exist_ok=True)
                for name, value in files.items():
                    with open(os.path.join(path, name), "w") as f:
                        f.write(value)
                self.cgroups[ctrl] = path
            except OSError as err:
                self.errors.append(f"{ctrl}-cgroup: {err}")

    def close(self) -> None:
        """Remove the slot's cgroups (they are empty once every job has been reaped)."""
        for path in self.cgroups.values():
            try:
                os.rmdir(path)
            except OSError:
                pass

    def probe(self) -> None:
        """Run one empty child through every layer and record which ones held."""
        probe = {
            "probe": True,
            "ops": [],
            "code": "",
            "entry": "",
            "max_output": 1024,
            "max_procs": 8,
            "memory_mb": 256,
            "import_wall_s": 5.0,
            "import_cpu_s": 5,
            "total_wall_s": 10.0,
            "cpu_total_s": 5,
        }
        result = self.run_job(probe, required=set())
        layers = result.get("probe") or {}
        for layer in CHILD_LAYERS:
            self.layers[layer] = bool(layers.get(layer, False))
        if not self.root:
            self.layers["uid"] = False


def main() -> None:
    """Serve jobs read as frames on stdin until EOF or an ``exit`` frame."""
    proto_in, proto_out = os.dup(0), os.dup(1)
    null = os.open("/dev/null", os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    cfg = _wire.read_frame(proto_in)
    server = Server(cfg)
    server.probe()
    _wire.write_frame(proto_out, {"t": "hello", "layers": server.layers, "errors": server.errors,
                                  "pid": os.getpid(), "python": sys.version.split()[0]})  # fmt: skip
    try:
        while True:
            try:
                job = _wire.read_frame(proto_in)
            except EOFError:
                break
            if job.get("t") == "exit":
                break
            _wire.write_frame(proto_out, server.run_job(job))
    finally:
        server.close()


if __name__ == "__main__":
    main()
