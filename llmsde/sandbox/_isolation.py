"""Kernel isolation primitives for the fork server, through ctypes (Python 3.11 has no os.unshare or
Landlock).

Stdlib only: imported as ``_isolation`` by the fork server under ``/usr/bin/python3 -I -S``. Every function
either succeeds or raises OSError, so the server can probe each layer, record what it achieved and fall back.
Constants are the x86_64 Linux ABI; on another architecture seccomp is reported as unavailable.
"""

from __future__ import annotations

import ctypes
import os
import platform
import resource
import struct

__all__ = [
    "apply_landlock",
    "apply_rlimits",
    "apply_seccomp",
    "drop_privileges",
    "landlock_abi",
    "make_private_tmp",
    "set_subreaper",
    "unshare",
]

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.prctl.restype = ctypes.c_int
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
_NS_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x80

_MS_REC, _MS_PRIVATE, _MS_NOSUID, _MS_NODEV = 0x4000, 0x40000, 0x2, 0x4
_PR_SET_CHILD_SUBREAPER, _PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _PR_SET_DUMPABLE = 36, 38, 22, 4
_SYS_LANDLOCK_CREATE, _SYS_LANDLOCK_ADD_RULE, _SYS_LANDLOCK_RESTRICT = 444, 445, 446


def _check(ret: int, what: str) -> None:
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def unshare(flags: int) -> None:
    """unshare(2): detach this process (and all later children) from the given namespaces."""
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


def map_user_namespace(uid: int, gid: int) -> None:
    """After unshare(CLONE_NEWUSER) as a normal user: become root of the new namespace (for mount/netns)."""
    with open("/proc/self/setgroups", "w") as f:
        f.write("deny")
    with open("/proc/self/uid_map", "w") as f:
        f.write(f"0 {uid} 1")
    with open("/proc/self/gid_map", "w") as f:
        f.write(f"0 {gid} 1")


def make_private_tmp(size_mb: int) -> None:
    """Make every mount private to this namespace, then hide the host's /tmp, /var/tmp and /dev/shm under
    tmpfs."""
    _check(_libc.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None), "mount --make-rprivate /")
    opts = f"size={size_mb}m,mode=1777".encode()
    for target in ("/tmp", "/var/tmp", "/dev/shm"):
        if os.path.isdir(target):
            _check(
                _libc.mount(b"tmpfs", target.encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV, opts),
                f"tmpfs {target}",
            )


def set_subreaper() -> None:
    """Adopt orphaned descendants, so daemonised grandchildren are reaped here instead of lingering as
    zombies."""
    _check(_libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "prctl(PR_SET_CHILD_SUBREAPER)")


def apply_rlimits(cpu_s: int, memory_mb: int, max_procs: int, fsize_mb: int, nofile: int) -> None:
    """Hard per-process limits; NPROC only bites after the uid drop (the kernel exempts root)."""
    mb = 1024 * 1024
    for res, value in (
        (resource.RLIMIT_CPU, cpu_s),
        (resource.RLIMIT_AS, memory_mb * mb),
        (resource.RLIMIT_NPROC, max_procs),
        (resource.RLIMIT_FSIZE, fsize_mb * mb),
        (resource.RLIMIT_NOFILE, nofile),
        (resource.RLIMIT_CORE, 0),
    ):
        resource.setrlimit(res, (value, value))


def drop_privileges(uid: int) -> None:
    """Become ``uid`` with no supplementary groups: every capability is lost and RLIMIT_NPROC applies."""
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    _libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)


def no_new_privs() -> None:
    """Required before Landlock and seccomp for an unprivileged process; also blocks setuid binaries."""
    _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, 0 when Landlock is absent or disabled."""
    ret = _libc.syscall(_SYS_LANDLOCK_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(int(ret), 0)


_FS_EXECUTE, _FS_WRITE, _FS_READ_FILE, _FS_READ_DIR = 1, 2, 4, 8
_FS_ALL_V1 = (1 << 13) - 1
_FS_REFER, _FS_TRUNCATE, _FS_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_NET_BIND_TCP, _NET_CONNECT_TCP = 1, 2
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1, 2


def apply_landlock(read_paths: list[str], write_path: str) -> int:
    """Restrict this process to reading ``read_paths`` and writing only beneath ``write_path``; no execve, no
    TCP.

    From ABI 6 on, signals and abstract unix sockets are also scoped to the sandbox. Returns the ABI used.
    """
    abi = landlock_abi()
    if abi < 1:
        raise OSError(38, "Landlock is not available")
    fs = _FS_ALL_V1 | (_FS_REFER if abi >= 2 else 0) | (_FS_TRUNCATE if abi >= 3 else 0)
    fs |= _FS_IOCTL_DEV if abi >= 5 else 0
    net = (_NET_BIND_TCP | _NET_CONNECT_TCP) if abi >= 4 else 0
    scoped = (_SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL) if abi >= 6 else 0
    attr = struct.pack("<QQQ", fs, net, scoped)[: 8 if abi < 4 else 16 if abi < 6 else 24]
    buf = ctypes.create_string_buffer(attr, len(attr))
    rfd = _libc.syscall(_SYS_LANDLOCK_CREATE, buf, ctypes.c_size_t(len(attr)), ctypes.c_uint32(0))
    _check(rfd, "landlock_create_ruleset")
    try:
        rules = [(p, _FS_READ_FILE | _FS_READ_DIR) for p in read_paths]
        rules.append((write_path, fs & ~_FS_EXECUTE))
        for path, access in rules:
            if not os.path.exists(path):
                continue
            pfd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            try:
                rule = ctypes.create_string_buffer(struct.pack("<Qi", access, pfd), 12)
                _check(_libc.syscall(_SYS_LANDLOCK_ADD_RULE, rfd, 1, rule, 0), f"landlock_add_rule {path}")
            finally:
                os.close(pfd)
        no_new_privs()
        _check(_libc.syscall(_SYS_LANDLOCK_RESTRICT, rfd, 0), "landlock_restrict_self")
    finally:
        os.close(rfd)
    return abi


class _SockFilter(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    ]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


_DENIED_X86_64 = (
    59, 322, 101, 310, 311, 165, 166, 155, 161, 272, 308, 321, 323, 298, 250, 248, 249, 246, 320,
    175, 313, 176, 425, 426, 427, 303, 304, 167, 168, 169, 163, 179, 442, 428, 429, 430, 431, 432, 433,
)  # fmt: skip
"""execve(at), ptrace, process_vm_*, mount family, chroot, unshare, setns, bpf, userfaultfd, perf_event_open,
keyrings, kexec, modules, io_uring, handle syscalls, swap, reboot, acct, quotactl."""
_SYS_CLONE, _SYS_CLONE3 = 56, 435


def apply_seccomp() -> None:
    """Load a BPF filter: EPERM for dangerous syscalls and namespace-creating clones, ENOSYS for clone3.

    clone3 passes its flags through memory that BPF cannot inspect, so it is refused with ENOSYS, which makes
    glibc fall back to clone(2), whose flags are checked. Foreign-ABI (x32 / i386) syscalls kill the process.
    """
    if platform.machine() != "x86_64":
        raise OSError(95, "seccomp filter is only defined for x86_64")
    ld_w_abs, jeq, jge, jset, ret = 0x20, 0x15, 0x35, 0x45, 0x06
    allow, errno_eperm, errno_enosys, kill = 0x7FFF0000, 0x00050000 | 1, 0x00050000 | 38, 0x80000000
    prog: list[tuple[int, int, int, int]] = [
        (ld_w_abs, 0, 0, 4),
        (jeq, 1, 0, 0xC000003E),
        (ret, 0, 0, kill),
        (ld_w_abs, 0, 0, 0),
        (jge, 0, 1, 0x40000000),
        (ret, 0, 0, kill),
        (jeq, 0, 1, _SYS_CLONE3),
        (ret, 0, 0, errno_enosys),
        (jeq, 0, 3, _SYS_CLONE),
        (ld_w_abs, 0, 0, 16),
        (jset, 0, 1, _NS_FLAGS),
        (ret, 0, 0, errno_eperm),
        (ld_w_abs, 0, 0, 0),
    ]
    n = len(_DENIED_X86_64)
    for i, nr in enumerate(_DENIED_X86_64):
        prog.append((jeq, n - i, 0, nr))
    prog.append((ret, 0, 0, allow))
    prog.append((ret, 0, 0, errno_eperm))
    arr = (_SockFilter * len(prog))(*[_SockFilter(c, t, f, k) for c, t, f, k in prog])
    fprog = _SockFprog(len(prog), arr)
    no_new_privs()
    _check(_libc.prctl(_PR_SET_SECCOMP, 2, ctypes.byref(fprog), 0, 0), "prctl(PR_SET_SECCOMP)")
