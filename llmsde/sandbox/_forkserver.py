"""The fork server: a lean, long-lived root process that forks one isolated child per candidate program.

Run as ``/usr/bin/python3 -I -S _forkserver.py`` by :mod:`llmsde.sandbox.pool`; stdlib only, small RSS (fork
cost grows with the parent's memory). At start-up it enters a new network and mount namespace (no network at
all, private tmpfs over /tmp, /var/tmp and /dev/shm): directly as root, else inside a new user namespace. Each
way is first tried in a throwaway child, because a half-made user namespace (created, but its id map refused)
cannot be left again and would break the server. It then becomes a child subreaper and non-dumpable, creates
the slot's cgroups (v2 or v1, see ``_cgroups``), pre-imports common stdlib modules and probes which per-child
layers work. Each job then runs in a child that calls setsid, joins the cgroup, gets a fresh scratch
directory, rlimits, an unprivileged slot uid (as root), no capabilities, Landlock and seccomp before any
candidate code runs. After the job every leftover process (cgroup, slot uid, adopted orphans) is killed and
reaped and the scratch directory is removed. One frame in, one frame out per job (see ``_wire``).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the server runs as a script with its own directory on sys.path (no llmsde package)
    from llmsde.sandbox import _cgroups, _wire
    from llmsde.sandbox import _isolation as iso
    from llmsde.sandbox._jobs import CHILD_LAYERS, JobRunner
else:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import _cgroups
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
        self.read_paths = sorted({"/usr", "/lib", "/lib64", sys.prefix, sys.base_prefix})
        self._setup_namespaces(cfg["tmp_mb"])
        self._try("subreaper", iso.set_subreaper)
        try:
            iso.set_dumpable(False)
        except OSError as err:
            self.errors.append(f"dumpable: {err}")
        self.cgroup = _cgroups.setup(self.uid, cfg["max_procs"], cfg["memory_mb"] << 20, root=self.root)
        self.errors += self.cgroup.errors
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

    def _setup_namespaces(self, tmp_mb: int) -> None:
        """Enter the first way that worked in a trial child: plain namespaces as root, else a user namespace."""
        ways: list[tuple[str, int, tuple[int, int] | None]] = []
        if self.root:
            ways.append(("root", iso.CLONE_NEWNS | iso.CLONE_NEWNET, None))
        ways.append(("userns", iso.CLONE_NEWUSER | iso.CLONE_NEWNS | iso.CLONE_NEWNET, (os.geteuid(), os.getegid())))
        self.layers.update({"userns": False, "netns": False, "private-tmp": False})
        for name, flags, ids in ways:
            trial = _trial(flags, ids, tmp_mb)
            if not trial["netns"]:
                self.errors += [f"{name}: {e}" for e in trial["errors"]]
                continue
            got = _enter(flags, ids, tmp_mb if trial["private-tmp"] else 0)
            self.errors += [f"{name}: {e}" for e in got["errors"]]
            self.layers.update({"userns": ids is not None and got["netns"], "netns": got["netns"],
                                "private-tmp": got["private-tmp"]})  # fmt: skip
            return

    def close(self) -> None:
        """Remove the slot's cgroups (they are empty once every job has been reaped)."""
        self.cgroup.remove()

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
        if result.get("import") and not result["import"]["ok"]:
            self.errors.append(f"probe child: {result['import']['error']}")


def _enter(flags: int, ids: tuple[int, int] | None, tmp_mb: int) -> dict[str, Any]:
    """unshare, map ids (user namespace), then private tmpfs mounts; which of them held, and why not.

    The process must be dumpable while it writes its id maps: the files of a non-dumpable process belong to
    root, so an unprivileged one cannot write them (EACCES/EPERM), although ``unshare -Ur`` works from a shell.
    """
    got: dict[str, Any] = {"netns": False, "private-tmp": False, "errors": []}
    try:
        iso.set_dumpable(True)
        iso.unshare(flags)
        if ids is not None:
            iso.map_user_namespace(*ids)
    except OSError as err:
        got["errors"].append(str(err))
        return got
    got["netns"] = True
    if tmp_mb:
        try:
            iso.make_private_tmp(tmp_mb)
            got["private-tmp"] = True
        except OSError as err:
            got["errors"].append(str(err))
    return got


def _trial(flags: int, ids: tuple[int, int] | None, tmp_mb: int) -> dict[str, Any]:
    """Run :func:`_enter` in a throwaway child and return what it achieved."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            _wire.write_frame(w, _enter(flags, ids, tmp_mb))
        finally:
            os._exit(0)
    os.close(w)
    try:
        result: dict[str, Any] = _wire.read_frame(r)
    except (EOFError, _wire.FrameError):
        result = {"netns": False, "private-tmp": False, "errors": ["trial child died"]}
    finally:
        os.close(r)
        os.waitpid(pid, 0)
    return result


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
                                  "cgroup": server.cgroup.version, "pid": os.getpid(),
                                  "python": sys.version.split()[0]})  # fmt: skip
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
