"""The trusted side of the sandbox: a pool of warm fork servers ("slots"), one job at a time per slot.

Each slot is a ``_forkserver.py`` process under ``/usr/bin/python3 -I -S`` with an empty environment and its
own unprivileged uid. Uids are leased machine-wide through ``flock`` on lock files, so several llmsde
processes (or test sessions) on one machine never share a uid: the post-job sweep kills *every* process of the
slot uid, and RLIMIT_NPROC counts per uid. A slot whose server died or stopped answering is killed and
restarted.
"""

from __future__ import annotations

import atexit
import fcntl
import math
import os
import queue
import select
import signal
import subprocess
import tempfile
import threading
import weakref
from pathlib import Path
from typing import Any

from llmsde.config import SandboxConfig
from llmsde.errors import SandboxError
from llmsde.sandbox import _cgroups, _isolation, _wire
from llmsde.sandbox._report import LAYERS, IsolationReport, missing_text
from llmsde.sandbox.program import AssertOp, ExecResult, IoOp, Program, WorkloadOp

__all__ = ["LAYERS", "IsolationReport", "SandboxPool"]

_SERVER = Path(__file__).with_name("_forkserver.py")
_LOCK_DIR = Path(tempfile.gettempdir()) / f".llmsde-slot-uids-{os.geteuid()}"
_UID_BASE, _UID_SPAN = 231_000, 4096


def _interpreter() -> tuple[str, tuple[str, ...]]:
    """Debian's python3 when present: its stdlib is world-readable, so uid-dropped children can still
    import."""
    if os.access("/usr/bin/python3", os.X_OK):
        return "/usr/bin/python3", ()
    import sys

    return sys.executable, ("/usr/bin/python3 not found: children import only what the server pre-imported",)


class _Slot:
    """One fork-server process and the uid it leases."""

    def __init__(self, uid: int, lock_fd: int, config: SandboxConfig, python: str) -> None:
        self.uid, self.lock_fd, self.config, self.python = uid, lock_fd, config, python
        self.proc: subprocess.Popen[bytes] | None = None
        self.hello: dict[str, Any] = {}
        self._errlog: Any = None

    def start(self) -> None:
        """Launch the server and wait for its hello frame (the probed isolation layers)."""
        if self._errlog is None:
            self._errlog = tempfile.TemporaryFile()
        self._errlog.seek(0)
        self._errlog.truncate()
        self.proc = subprocess.Popen(
            [self.python, "-I", "-S", str(_SERVER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._errlog,
            env={},
            cwd="/",
            start_new_session=True,
        )
        assert self.proc.stdin is not None
        cfg = {
            "uid": self.uid,
            "tmp_mb": 256,
            "max_procs": self.config.max_procs,
            "memory_mb": self.config.memory_mb,
        }
        try:
            _wire.write_frame(self.proc.stdin.fileno(), cfg)
            hello = self._read(timeout=30.0)
        except (OSError, EOFError, TimeoutError, _wire.FrameError) as err:
            self.kill(keep_log=True)
            self._errlog.seek(0)
            tail = self._errlog.read()[-400:].decode("utf-8", "replace").strip().splitlines()
            self._close_pipes()
            raise SandboxError(
                f"the sandbox fork server did not start ({err}): {tail[-1] if tail else 'no output'}",
                "check that /usr/bin/python3 runs, or report the message",
            ) from None
        self.hello = hello

    def _read(self, timeout: float) -> Any:
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            raise TimeoutError(f"no answer within {timeout:g}s")
        return _wire.read_frame(fd)

    def request(self, job: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send one job and wait for its reply; on any failure the server is killed (the caller restarts
        it)."""
        assert self.proc is not None and self.proc.stdin is not None
        try:
            _wire.write_frame(self.proc.stdin.fileno(), job)
            reply = self._read(timeout)
        except (OSError, EOFError, TimeoutError, _wire.FrameError) as err:
            self.kill()
            raise RuntimeError(f"sandbox server failed: {err}") from None
        if not isinstance(reply, dict):
            self.kill()
            raise RuntimeError("sandbox server sent a malformed reply")
        return reply

    def kill(self, keep_log: bool = False) -> None:
        """SIGKILL the server's whole session (its children are in their own sessions; the next start
        sweeps)."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            self.proc.wait()
        if not keep_log:
            self._close_pipes()

    def stop(self) -> None:
        """Ask the server to exit (it removes its cgroups); kill it if it does not within two seconds."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                _wire.write_frame(self.proc.stdin.fileno(), {"t": "exit"})
                self.proc.wait(timeout=2.0)
            except (OSError, subprocess.TimeoutExpired):
                self.kill()
        self._close_pipes()

    def _close_pipes(self) -> None:
        if self._errlog is not None:
            self._errlog.close()
            self._errlog = None
        if self.proc is not None:
            for stream in (self.proc.stdin, self.proc.stdout):
                if stream is not None and not stream.closed:
                    stream.close()


def _lease_uid() -> tuple[int, int]:
    """Lock the first free uid of the range machine-wide; the lock lives as long as the returned fd."""
    _LOCK_DIR.mkdir(mode=0o700, exist_ok=True)
    start = os.getpid() % _UID_SPAN
    for k in range(_UID_SPAN):
        uid = _UID_BASE + (start + k) % _UID_SPAN
        fd = os.open(_LOCK_DIR / f"{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return uid, fd
    raise SandboxError("no free sandbox uid", f"remove stale locks in {_LOCK_DIR}")


def _remove_stale_cgroups() -> None:
    """Remove slot cgroups left by llmsde processes that were killed before they could clean up.

    A slot's cgroup is stale when nobody holds its uid lock; live slots hold theirs and are never touched.
    """
    for uid, path in _cgroups.slot_dirs():
        try:
            fd = os.open(_LOCK_DIR / f"{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.rmdir(path)
        except OSError:
            pass
        finally:
            os.close(fd)


def _protect_scorer() -> None:
    """Without root, candidates may run as this process's own user: make it non-dumpable so they cannot read
    its ``/proc/<pid>/environ`` (API keys), memory or file descriptors, nor ptrace it."""
    if os.geteuid() != 0:
        try:
            _isolation.set_dumpable(False)
        except OSError:
            pass


def _job(program: Program, config: SandboxConfig) -> dict[str, Any]:
    ops: list[dict[str, Any]] = []
    for op in program.ops:
        if isinstance(op, IoOp):
            ops.append({"kind": "io", "args": list(op.args), "kwargs": dict(op.kwargs)})
        elif isinstance(op, AssertOp):
            ops.append({"kind": "assert", "code": op.code})
        elif isinstance(op, WorkloadOp):
            ops.append(
                {
                    "kind": "workload",
                    "calls": [list(c) for c in op.calls],
                    "repeats": op.repeats,
                    "min_pass_s": op.min_pass_s,
                }
            )
        ops[-1].update(wall_s=op.wall_s, cpu_s=max(config.cpu_s, op.wall_s if isinstance(op, WorkloadOp) else 0))
    total = config.wall_s + sum(op.wall_s for op in program.ops) + 1.0
    return {
        "code": program.code,
        "entry": program.entry,
        "setup": program.setup,
        "ops": ops,
        "import_wall_s": config.wall_s,
        "import_cpu_s": config.cpu_s,
        "total_wall_s": total,
        "cpu_total_s": math.ceil(total) + 1,
        "memory_mb": config.memory_mb,
        "max_procs": config.max_procs,
        "max_output": config.max_output_kb * 1024,
    }


class SandboxPool:
    """Warm fork servers that run :class:`Program` objects; safe to call :meth:`run` from several threads."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig.model_validate({})
        n = self.config.slots or max(1, min(4, os.cpu_count() or 1))
        python, notes = _interpreter()
        self._free: queue.Queue[_Slot] = queue.Queue()
        self._slots: list[_Slot] = []
        self._closed = False
        self._lock = threading.Lock()
        _LOCK_DIR.mkdir(mode=0o700, exist_ok=True)
        _remove_stale_cgroups()
        _protect_scorer()
        try:
            for _ in range(n):
                uid, fd = _lease_uid()
                slot = _Slot(uid, fd, self.config, python)
                self._slots.append(slot)
                slot.start()
                self._free.put(slot)
        except BaseException:
            self.close()
            raise
        layers = dict(self._slots[0].hello.get("layers") or {})
        for slot in self._slots[1:]:
            for key, ok in (slot.hello.get("layers") or {}).items():
                layers[key] = layers.get(key, False) and ok
        cgroup = str(self._slots[0].hello.get("cgroup") or "")
        self.isolation = IsolationReport.from_layers(layers, python, notes, cgroup)
        self.errors: tuple[str, ...] = tuple(str(e) for e in self._slots[0].hello.get("errors") or ())
        """Why layers failed, as the first server saw it (e.g. ``userns: write ... uid_map: ...``)."""
        self._finalizer = weakref.finalize(self, SandboxPool._shutdown, list(self._slots))
        atexit.register(self._finalizer)
        missing = self.isolation.missing(self.config.required_layers())
        if missing:
            self.close()
            have = [name for name, ok in self.isolation.layers.items() if ok]
            raise SandboxError(
                f"sandbox isolation is weaker than required: missing {', '.join(missing)} "
                f"({missing_text(missing[0], self.isolation.layers)})",
                f"this machine offers {','.join(have) or 'no layer'}; run as root for every layer (without root, "
                "allow unprivileged user namespaces for netns and private-tmp), or require fewer layers",
            )

    def run(self, program: Program) -> ExecResult:
        """Execute ``program`` in a fresh isolated child of a free slot, blocking until it is done."""
        if self._closed:
            raise SandboxError("the sandbox pool is closed", "create a new Scorer")
        job = _job(program, self.config)
        slot = self._free.get()
        try:
            try:
                reply = slot.request(job, timeout=job["total_wall_s"] + 15.0)
            except RuntimeError as err:
                slot.start()
                reply = {"import": {"ok": False, "error": str(err)}, "ops": []}
        finally:
            self._free.put(slot)
        return ExecResult.from_reply(reply, len(program.ops))

    def close(self) -> None:
        """Stop every server, remove its cgroups and release its uid; idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        SandboxPool._shutdown(self._slots)
        finalizer = getattr(self, "_finalizer", None)
        if finalizer is not None:
            finalizer.detach()
            atexit.unregister(finalizer)

    @staticmethod
    def _shutdown(slots: list[_Slot]) -> None:
        for slot in slots:
            slot.stop()
            try:
                os.close(slot.lock_fd)
            except OSError:
                pass
        slots.clear()

    def __enter__(self) -> SandboxPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
