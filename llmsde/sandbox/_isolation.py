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
    "deny_namespaces",
    "drop_capabilities",
    "drop_privileges",
    "landlock_abi",
    "make_private_tmp",
    "map_user_namespace",
    "no_new_privs",
    "set_dumpable",
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
_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
_SYS_LANDLOCK_CREATE, _SYS_LANDLOCK_ADD_RULE, _SYS_LANDLOCK_RESTRICT = 444, 445, 446


def _check(ret: int, what: str) -> None:
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def unshare(flags: int) -> None:
    """unshare(2): detach this process (and all later children) from the given namespaces."""
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


def map_user_namespace(uid: int, gid: int) -> None:
    """After unshare(CLONE_NEWUSER) as a normal user: map our own *effective* uid and gid onto themselves.

    The kernel accepts an unprivileged map only of the writer's effective ids (not the real ones), in one line
    of length 1, and a gid map only after setgroups is denied. Read the ids *before* unshare: until the map is
    written, getuid() inside the new namespace returns the overflow uid 65534, and mapping that fails with
    EPERM for every user except ``nobody`` (the cause of issue #11). The identity map keeps the candidate a plain
    user inside the namespace (not its root); the capabilities the namespace grants are dropped per child.
    """
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
        try:
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
        except OSError as err:
            raise OSError(err.errno, f"write {text!r} to /proc/self/{name}: {os.strerror(err.errno or 1)}") from None


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


def drop_capabilities() -> None:
    """Empty every capability set (and the ambient set) of this process: what a user namespace granted is gone."""
    _libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = struct.pack("<Ii", 0x20080522, 0)
    hdr = ctypes.create_string_buffer(header, len(header))
    data = ctypes.create_string_buffer(24)
    _check(_libc.capset(hdr, data), "capset")


def set_dumpable(on: bool) -> None:
    """A non-dumpable process's /proc files belong to root and it cannot be ptraced by processes of its own uid."""
    _check(_libc.prctl(_PR_SET_DUMPABLE, int(on), 0, 0, 0), "prctl(PR_SET_DUMPABLE)")


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
    438, 440, 312,
)  # fmt: skip
"""execve(at), ptrace, process_vm_*, mount family, chroot, unshare, setns, bpf, userfaultfd, perf_event_open,
keyrings, kexec, modules, io_uring, handle syscalls, swap, reboot, acct, quotactl, pidfd_getfd,
process_madvise, kcmp."""
_SYS_CLONE, _SYS_CLONE3, _SYS_UNSHARE, _SYS_SOCKET, _SYS_SOCKETPAIR = 56, 435, 272, 41, 53
_AF_UNIX = 1
_LD_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW, _EPERM, _ENOSYS, _KILL = 0x7FFF0000, 0x00050000 | 1, 0x00050000 | 38, 0x80000000
_Insn = tuple[int, int, int, int]


def _prologue() -> list[_Insn]:
    """Kill foreign-ABI syscalls; ENOSYS for clone3 (flags in memory BPF cannot read, so glibc falls back to
    clone(2)); EPERM for clone with namespace flags; leaves the syscall number loaded."""
    if platform.machine() != "x86_64":
        raise OSError(95, "seccomp filter is only defined for x86_64")
    return [
        (_LD_ABS, 0, 0, 4),
        (_JEQ, 1, 0, 0xC000003E),
        (_RET, 0, 0, _KILL),
        (_LD_ABS, 0, 0, 0),
        (_JGE, 0, 1, 0x40000000),
        (_RET, 0, 0, _KILL),
        (_JEQ, 0, 1, _SYS_CLONE3),
        (_RET, 0, 0, _ENOSYS),
        (_JEQ, 0, 3, _SYS_CLONE),
        (_LD_ABS, 0, 0, 16),
        (_JSET, 0, 1, _NS_FLAGS),
        (_RET, 0, 0, _EPERM),
        (_LD_ABS, 0, 0, 0),
    ]


def _deny_list(denied: tuple[int, ...]) -> list[_Insn]:
    n = len(denied)
    prog = [(_JEQ, n - i, 0, nr) for i, nr in enumerate(denied)]
    return [*prog, (_RET, 0, 0, _ALLOW), (_RET, 0, 0, _EPERM)]


def _load(prog: list[_Insn]) -> None:
    arr = (_SockFilter * len(prog))(*[_SockFilter(c, t, f, k) for c, t, f, k in prog])
    fprog = _SockFprog(len(prog), arr)
    no_new_privs()
    _check(_libc.prctl(_PR_SET_SECCOMP, 2, ctypes.byref(fprog), 0, 0), "prctl(PR_SET_SECCOMP)")


def _arg0_in(nr: int, allowed: tuple[int, ...]) -> list[_Insn]:
    """Syscall ``nr`` is allowed only when the low 32 bits of its first argument are in ``allowed``."""
    n = len(allowed)
    return [
        (_JEQ, 0, n + 3, nr),
        (_LD_ABS, 0, 0, 16),
        *[(_JEQ, n - k, 0, value) for k, value in enumerate(allowed)],
        (_RET, 0, 0, _EPERM),
        (_RET, 0, 0, _ALLOW),
    ]


def _signals_to_self_only() -> list[_Insn]:
    """kill, tgkill and sigqueue only at this very process (or kill(0): its own process group, i.e. the job)."""
    me = os.getpid()
    return [
        *_arg0_in(62, (0, me)),
        *_arg0_in(234, (me,)),
        *_arg0_in(129, (me,)),
        *_arg0_in(297, (me,)),
        *_arg0_in(200, ()),
        *_arg0_in(424, ()),
    ]


def apply_seccomp(signals_to_self_only: bool = False) -> None:
    """Load the candidate's filter: EPERM for dangerous syscalls, namespace-creating clones and every socket.

    ``socket()`` fails with EPERM for every address family (Unix pathname and abstract, IPv4/IPv6 TCP and UDP,
    netlink, packet, ...), so a candidate that tries the network sees ``PermissionError: [Errno 1] Operation
    not permitted`` in its output even where no network namespace could be made. ``socketpair(AF_UNIX)`` stays
    allowed: it reaches nothing outside the process tree, and asyncio's event loop needs it. Foreign-ABI
    (x32 / i386) syscalls kill the process.

    ``signals_to_self_only`` is for candidates that share the scorer's uid where Landlock cannot scope signals
    (ABI < 6): otherwise ``kill(-1, SIGKILL)`` would end every process of the user's session.
    """
    sockets: list[_Insn] = [
        (_JEQ, 0, 1, _SYS_SOCKET),
        (_RET, 0, 0, _EPERM),
        (_JEQ, 0, 4, _SYS_SOCKETPAIR),
        (_LD_ABS, 0, 0, 16),
        (_JEQ, 0, 1, _AF_UNIX),
        (_RET, 0, 0, _ALLOW),
        (_RET, 0, 0, _EPERM),
    ]
    signals = _signals_to_self_only() if signals_to_self_only else []
    _load(_prologue() + sockets + signals + _deny_list(_DENIED_X86_64))


def deny_namespaces() -> None:
    """EPERM for unshare, setns and namespace-creating clones, for this process and everything it execs.

    What a host that forbids unprivileged user namespaces looks like to llmsde; the tests use it to run the
    attack suite against the fallback.
    """
    _load(_prologue() + _deny_list((_SYS_UNSHARE, 308)))
