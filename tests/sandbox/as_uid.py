"""Run a command as an unprivileged uid (started by root) where the interpreter lives under a root-only directory.

CI installs llmsde into a pyenv under ``/root`` (mode 700), which an unprivileged uid cannot traverse, so the
attack suites could not run there as such a uid. This launcher, run as root, enters a private mount namespace,
mounts a tmpfs (mode 755) over each root-only directory on the way to the given paths, bind-mounts just the
needed subtrees back into it (so the uid sees the interpreter and its packages, and nothing else of ``/root``),
drops to the uid and execs the command. Nothing outside this process tree changes.

Usage: ``python as_uid.py UID PATH[:PATH...] -- COMMAND...``
"""

from __future__ import annotations

import ctypes
import os
import stat
import sys
import tempfile

_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS, MS_BIND, MS_REC, MS_PRIVATE, MNT_DETACH = 0x00020000, 0x1000, 0x4000, 0x40000, 2


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(
        _libc.mount(source.encode(), target.encode(), fstype and fstype.encode(), flags, data and data.encode()),
        f"mount {source} on {target}",
    )


def closed_ancestors(paths: list[str]) -> dict[str, set[str]]:
    """Root-only directory -> the names inside it that lead to one of ``paths`` (the first closed level only)."""
    found: dict[str, set[str]] = {}
    for path in paths:
        parts = os.path.realpath(path).strip("/").split("/")
        for depth in range(1, len(parts)):
            parent = "/" + "/".join(parts[:depth])
            if not os.stat(parent).st_mode & stat.S_IXOTH:
                found.setdefault(parent, set()).add(parts[depth])
                break
    return found


def main(argv: list[str]) -> None:
    uid, paths, command = int(argv[1]), argv[2].split(":"), argv[argv.index("--") + 1 :]
    _check(_libc.unshare(CLONE_NEWNS), "unshare")
    _mount("none", "/", None, MS_REC | MS_PRIVATE)
    staging = tempfile.mkdtemp(prefix="llmsde-as-uid-")
    for parent, names in closed_ancestors(paths).items():
        kept = []
        for i, name in enumerate(sorted(names)):
            hold = os.path.join(staging, f"{len(os.listdir(staging))}-{i}")
            os.mkdir(hold)
            _mount(os.path.join(parent, name), hold, None, MS_BIND | MS_REC)
            kept.append((name, hold))
        _mount("tmpfs", parent, "tmpfs", 0, "mode=755,size=1m")
        for name, hold in kept:
            os.mkdir(os.path.join(parent, name))
            _mount(hold, os.path.join(parent, name), None, MS_BIND | MS_REC)
            _check(_libc.umount2(hold.encode(), MNT_DETACH), f"umount {hold}")
            os.rmdir(hold)
    os.rmdir(staging)
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    os.execvpe(command[0], command, os.environ)


if __name__ == "__main__":
    main(sys.argv)
