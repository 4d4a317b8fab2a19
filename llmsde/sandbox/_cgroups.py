"""Per-slot cgroups: ``memory.max`` + ``pids.max`` on the unified hierarchy (v2), else the v1 controllers.

Stdlib only (imported as ``_cgroups`` by the fork server and as ``llmsde.sandbox._cgroups`` by the pool, which
removes cgroups left behind by killed processes). v2 is used where its ``memory`` and ``pids`` controllers can be
enabled in a directory this process may write: the hierarchy's root as root, or the parent of our own cgroup when
it was delegated to us (systemd's ``Delegate=yes``). On hybrid systems the unified hierarchy exists but holds no
controllers (they are bound to v1), so v1 is used there. Cgroup names carry the leased slot uid *and* the euid
of the process that leased it, so pools of different users never collide, and a cgroup is known to be stale
exactly when nobody holds its uid lock.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

__all__ = ["CgroupSlot", "setup", "slot_dirs", "slot_name"]

_PARENT = "llmsde"
_NAME = re.compile(r"^slot(\d+)-euid(\d+)$")
_LEGACY = re.compile(r"^slot-(\d+)$")
_V1_LIMITS = {"pids": ("pids.max",), "memory": ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes")}


def slot_name(uid: int, euid: int) -> str:
    """Directory name of a slot's cgroup."""
    return f"slot{uid}-euid{euid}"


@dataclass
class CgroupSlot:
    """The cgroup directories of one slot, by layer (``pids-cgroup``/``memory-cgroup``); empty when none."""

    version: str = ""
    """``v2``, ``v1`` or ``""`` (no cgroup could be set up)."""
    dirs: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def join(self) -> None:
        """Move the calling process into every directory (one write per distinct directory)."""
        for path in sorted(set(self.dirs.values())):
            _write(os.path.join(path, "cgroup.procs"), "0")

    def occupied(self) -> bool:
        """True unless the slot's cgroup is known to hold no process (then no sweep is needed)."""
        path = self.dirs.get("pids-cgroup")
        if path is None:
            return True
        try:
            if self.version == "v2":
                with open(os.path.join(path, "cgroup.procs")) as f:
                    return bool(f.read().strip())
            with open(os.path.join(path, "pids.current")) as f:
                return int(f.read()) > 0
        except (OSError, ValueError):
            return True

    def kill(self) -> bool:
        """SIGKILL every process in the slot through ``cgroup.kill`` (v2, Linux 5.14+); False when unsupported."""
        path = self.dirs.get("pids-cgroup")
        if self.version != "v2" or path is None:
            return False
        try:
            _write(os.path.join(path, "cgroup.kill"), "1")
        except OSError:
            return False
        return True

    def remove(self) -> None:
        """Remove the slot's directories (possible once every process in them has been reaped)."""
        for path in sorted(set(self.dirs.values())):
            try:
                os.rmdir(path)
            except OSError:
                pass


def setup(
    uid: int,
    max_procs: int,
    memory_bytes: int,
    *,
    root: bool,
    sysfs: str = "/sys/fs/cgroup",
    mountinfo: str = "/proc/self/mountinfo",
    self_cgroup: str = "/proc/self/cgroup",
) -> CgroupSlot:
    """Create the slot's cgroup(s) with the limits set: v2 when usable, else v1, else none (errors say why).

    The paths of the kernel files are parameters so the file-writing logic can be tested against a directory.
    """
    name = slot_name(uid, os.geteuid())
    slot = CgroupSlot()
    base = _v2_base(root, mountinfo, self_cgroup, slot.errors)
    if base is not None:
        try:
            path = _v2_create(base, name, max_procs, memory_bytes)
        except OSError as err:
            slot.errors.append(f"cgroup v2 under {base}: {err}")
        else:
            slot.version, slot.dirs = "v2", {"pids-cgroup": path, "memory-cgroup": path}
            return slot
    for ctrl, files in _V1_LIMITS.items():
        path = os.path.join(sysfs, ctrl, _PARENT, name)
        value = str(max_procs) if ctrl == "pids" else str(memory_bytes)
        try:
            os.makedirs(path, exist_ok=True)
            _write(os.path.join(path, files[0]), value)
        except OSError as err:
            slot.errors.append(f"{ctrl}-cgroup (v1): {err}")
            continue
        for optional in files[1:]:
            try:
                _write(os.path.join(path, optional), value)
            except OSError:
                pass
        slot.dirs[f"{ctrl}-cgroup"] = path
    slot.version = "v1" if slot.dirs else ""
    return slot


def _v2_base(root: bool, mountinfo: str, self_cgroup: str, errors: list[str]) -> str | None:
    """The directory to create ``llmsde/`` in, when it offers the memory and pids controllers."""
    mount = _v2_mount(mountinfo)
    if mount is None:
        return None
    base = mount
    if not root:
        own = _own_v2_cgroup(self_cgroup)
        if own is None or own == "/":
            errors.append("cgroup v2: not root and no delegated cgroup")
            return None
        base = os.path.join(mount, os.path.dirname(own).lstrip("/"))
    try:
        with open(os.path.join(base, "cgroup.controllers")) as f:
            available = set(f.read().split())
    except OSError as err:
        errors.append(f"cgroup v2: {err}")
        return None
    if not {"memory", "pids"} <= available:
        errors.append(f"cgroup v2 at {base} offers no memory/pids controllers (they are bound to v1)")
        return None
    return base


def _v2_create(base: str, name: str, max_procs: int, memory_bytes: int) -> str:
    parent = os.path.join(base, _PARENT)
    _enable_controllers(base)
    os.makedirs(parent, exist_ok=True)
    _enable_controllers(parent)
    path = os.path.join(parent, name)
    os.makedirs(path, exist_ok=True)
    _write(os.path.join(path, "pids.max"), str(max_procs))
    _write(os.path.join(path, "memory.max"), str(memory_bytes))
    try:
        _write(os.path.join(path, "memory.swap.max"), "0")
    except OSError:
        pass
    return path


def _enable_controllers(path: str) -> None:
    control = os.path.join(path, "cgroup.subtree_control")
    try:
        with open(control) as f:
            enabled = set(f.read().split())
    except FileNotFoundError:
        enabled = set()
    if not {"memory", "pids"} <= enabled:
        _write(control, "+memory +pids")


def _v2_mount(mountinfo: str) -> str | None:
    try:
        with open(mountinfo) as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in lines:
        pre, _, post = line.partition(" - ")
        if post.split()[:1] == ["cgroup2"]:
            return pre.split()[4].replace("\\040", " ")
    return None


def _own_v2_cgroup(self_cgroup: str) -> str | None:
    try:
        with open(self_cgroup) as f:
            for line in f:
                if line.startswith("0::"):
                    return line[3:].strip()
    except OSError:
        pass
    return None


def slot_dirs(*, sysfs: str = "/sys/fs/cgroup", mountinfo: str = "/proc/self/mountinfo") -> list[tuple[int, str]]:
    """Every slot cgroup of this euid (and, for root, legacy ``slot-N`` ones) as ``(slot uid, path)``.

    The pool removes those whose uid lock it can take (nobody else holds it, so they are stale); rmdir of a
    cgroup that still holds processes fails harmlessly.
    """
    euid = os.geteuid()
    parents = [os.path.join(sysfs, ctrl, _PARENT) for ctrl in _V1_LIMITS]
    mount = _v2_mount(mountinfo)
    if mount is not None:
        parents.append(os.path.join(mount, _PARENT))
    found: list[tuple[int, str]] = []
    for parent in parents:
        try:
            names = sorted(os.listdir(parent))
        except OSError:
            continue
        for name in names:
            match, legacy = _NAME.match(name), _LEGACY.match(name)
            if match is not None and int(match.group(2)) == euid:
                found.append((int(match.group(1)), os.path.join(parent, name)))
            elif legacy is not None and euid == 0:
                found.append((int(legacy.group(1)), os.path.join(parent, name)))
    return found


def _write(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)
