"""What the sandbox achieved on this machine: the layers, and what is weaker without each one.

Warnings describe the real state: a missing layer's sentence names what the layers that *are* present still
block (e.g. without a network namespace but with seccomp, no socket can be opened at all).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from llmsde.config import ISOLATION_LAYERS

__all__ = ["LAYERS", "IsolationReport", "missing_text"]

LAYERS: dict[str, str] = {
    "netns": "network namespace (no interfaces: not even 127.0.0.1 is reachable)",
    "private-tmp": "private tmpfs over /tmp, /var/tmp and /dev/shm",
    "subreaper": "child subreaper: orphaned descendants are killed and reaped after each job",
    "rlimits": "rlimits on address space, CPU, processes, file size and open files",
    "uid": "a separate unprivileged uid per slot",
    "landlock": "Landlock filesystem rules (read /usr and /lib, write only the scratch directory)",
    "landlock-net": "Landlock TCP rules (no TCP bind or connect; Landlock ABI 4+)",
    "landlock-scope": "Landlock scopes (no signals or abstract Unix sockets out of the sandbox; ABI 6+)",
    "seccomp": "seccomp filter (no execve, ptrace, mount, namespaces or socket())",
    "pids-cgroup": "pids cgroup (process count limited even for root)",
    "memory-cgroup": "memory cgroup (resident memory limited)",
}
"""What each isolation layer is; the keys are :data:`llmsde.config.ISOLATION_LAYERS`."""
assert tuple(LAYERS) == ISOLATION_LAYERS


def missing_text(name: str, has: dict[str, bool]) -> str:  # noqa: C901 - one sentence per layer, on purpose
    """What is weaker without layer ``name``, given the layers that *are* present (the real state)."""
    if name == "netns":
        if has["seccomp"]:
            return (
                "no network namespace: the host network is reachable in principle, but seccomp refuses every socket()"
            )
        if has["landlock-net"]:
            return "no network namespace: Landlock blocks TCP, but UDP, netlink and Unix sockets can reach the host"
        return "no network namespace: candidate code can open network connections (TCP, UDP, Unix sockets)"
    if name == "private-tmp":
        tail = (
            "Landlock keeps candidates out of it except their scratch directory"
            if has["landlock"]
            else ("candidates can read and write what other users left there")
        )
        socks = "" if has["seccomp"] or has["netns"] else "; Unix sockets listening there are reachable"
        return f"no private /tmp: /tmp, /var/tmp and /dev/shm are the host's; {tail}{socks}"
    if name == "subreaper":
        return "no subreaper: daemonised grandchildren may outlive the job"
    if name == "rlimits":
        return "no rlimits: memory, CPU, file size and open files are limited only by cgroups and the timeouts"
    if name == "uid":
        guard = (
            "Landlock keeps it out of that user's files and /proc"
            if has["landlock"]
            else ("it can read and write every file of that user")
        )
        return f"no uid drop: candidate code runs as the scorer's own user; {guard}, and the scorer is non-dumpable"
    if name == "landlock":
        return "no Landlock: filesystem access is limited only by file permissions" + (
            "" if has["uid"] else " of the scorer's own user"
        )
    if name == "landlock-net":
        covered = [k for k in ("netns", "seccomp") if has[k]]
        return "no Landlock TCP rules (ABI < 4)" + (
            f"; TCP is still blocked by {' and '.join(covered)}" if covered else ""
        )
    if name == "landlock-scope":
        if has["uid"]:
            return "no Landlock scopes (ABI < 6): signals are limited by the slot uid"
        if has["seccomp"]:
            return "no Landlock scopes (ABI < 6): seccomp lets candidates signal only themselves"
        return "no Landlock scopes (ABI < 6): candidates may signal every process of the scorer's user"
    if name == "seccomp":
        return "no seccomp filter: execve, ptrace, mount, namespace syscalls and socket() are allowed"
    if name == "pids-cgroup":
        return "no pids cgroup: fork bombs are limited only by RLIMIT_NPROC"
    return "no memory cgroup: resident memory is limited only by RLIMIT_AS"


@dataclass(frozen=True, slots=True)
class IsolationReport:
    """Which isolation layers the sandbox achieved on this machine, probed at start-up."""

    level: str
    """Achieved layers joined by ``+`` in a fixed order, e.g. ``netns+private-tmp+...+memory-cgroup``."""
    layers: dict[str, bool] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    """One sentence per missing layer, saying what is weaker given the layers that are present."""
    interpreter: str = ""
    cgroup: str = ""
    """Which cgroup hierarchy the slots use: ``v2``, ``v1`` or ``""`` (none)."""

    @classmethod
    def from_layers(
        cls, layers: dict[str, bool], interpreter: str, extra: tuple[str, ...] = (), cgroup: str = ""
    ) -> IsolationReport:
        """Summarise probed layers; unknown keys are dropped."""
        full = {name: bool(layers.get(name)) for name in LAYERS}
        level = "+".join(name for name, ok in full.items() if ok) or "none"
        warnings = tuple(missing_text(name, full) for name in LAYERS if not full[name]) + extra
        return cls(level=level, layers=full, warnings=warnings, interpreter=interpreter, cgroup=cgroup)

    def missing(self, required: tuple[str, ...]) -> list[str]:
        """The required layers that are not present."""
        return [name for name in required if not self.layers.get(name)]
