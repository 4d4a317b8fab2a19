"""The per-job half of the fork server: fork an isolated child, supervise it, then kill, sweep and reap.

Stdlib only (imported as ``_jobs`` by ``_forkserver``). :class:`JobRunner` is the base class of the server; it
needs the slot's ``uid``, ``root``, ``cgroup`` and ``read_paths``, and the ``layers`` the probe achieved.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmsde.sandbox import _harness, _wire
    from llmsde.sandbox import _isolation as iso
    from llmsde.sandbox._cgroups import CgroupSlot
else:
    import _harness
    import _isolation as iso
    import _wire

__all__ = ["CHILD_LAYERS", "JobRunner"]

CHILD_LAYERS = (
    "rlimits",
    "uid",
    "landlock",
    "landlock-net",
    "landlock-scope",
    "seccomp",
    "pids-cgroup",
    "memory-cgroup",
)
"""Layers applied in each forked child (the others are set up once in the server)."""
_SETUP_FAILED = 70
_CPU_POLL_S = 0.05
_CLK_TCK = os.sysconf("SC_CLK_TCK")


class JobRunner:
    """Runs jobs in forked children; subclasses provide the slot's identity and isolation state."""

    uid: int
    root: bool
    cgroup: CgroupSlot
    read_paths: list[str]
    layers: dict[str, bool]
    _shared_uid_tasks: tuple[float, int] = (0.0, 0)
    """(when counted, how many) tasks of the candidate's uid outside the job; see _count_shared_uid_tasks."""

    def _isolate_child(self, job: dict[str, Any], scratch: str, required: set[str]) -> dict[str, bool]:
        """Apply every per-child layer in order; a layer the probe achieved must succeed again."""
        got: dict[str, bool] = {}

        def step(layer: str, fn: Any, *args: Any) -> None:
            try:
                fn(*args)
                got[layer] = True
            except OSError as err:
                got[layer] = False
                if layer in required:
                    raise RuntimeError(f"sandbox layer {layer} failed: {err}") from None

        joined = True
        try:
            self.cgroup.join()
        except OSError as err:
            joined = False
            failed = [layer for layer in self.cgroup.dirs if layer in required]
            if failed:
                raise RuntimeError(f"sandbox layer {failed[0]} failed: {err}") from None
        got.update(dict.fromkeys(self.cgroup.dirs, joined))
        nproc = job["max_procs"] + self._shared_uid_tasks[1]
        step("rlimits", iso.apply_rlimits, job["cpu_total_s"], job["memory_mb"] + 64, nproc, 16, 64)
        if self.root:
            step("uid", iso.drop_privileges, self.uid)
        iso.drop_capabilities()
        abi = 0

        def landlock() -> None:
            nonlocal abi
            abi = iso.apply_landlock(self.read_paths, scratch)

        step("landlock", landlock)
        for layer, need in (("landlock-net", 4), ("landlock-scope", 6)):
            got[layer] = abi >= need
            if layer in required and not got[layer]:
                raise RuntimeError(f"sandbox layer {layer} failed: Landlock ABI {abi}")
        step("seccomp", iso.apply_seccomp, not self.root and abi < 6)
        return got

    def _count_shared_uid_tasks(self) -> None:
        """Before a fork: tasks the candidate's uid already has, which RLIMIT_NPROC would count against it.

        Zero with a slot uid (root) or inside a user namespace, where the kernel counts per namespace. In the
        fallback the candidate runs as the scorer's user, whose other processes (a desktop session: hundreds)
        count too, so the limit is raised by their number, recounted at most every few seconds.
        """
        if self.root or self.layers.get("userns"):
            return
        if time.monotonic() - self._shared_uid_tasks[0] > 5.0:
            self._shared_uid_tasks = (time.monotonic(), _tasks_of(os.getuid()))

    def _child(self, job: dict[str, Any], start: int, res_w: int, out_w: int, required: set[str]) -> None:
        """Body of a forked child; never returns."""
        code = _SETUP_FAILED
        try:
            os.setsid()
            scratch = f"/tmp/c{os.getpid()}"
            os.mkdir(scratch, 0o700)
            if self.root:
                try:
                    os.chown(scratch, self.uid, self.uid)
                except OSError:
                    pass  # root inside a user namespace: the uid drop fails too and is reported
            os.chdir(scratch)
            null = os.open("/dev/null", os.O_RDWR)
            os.dup2(null, 0)
            os.dup2(out_w, 1)
            os.dup2(out_w, 2)
            os.dup2(res_w, 3)
            os.closerange(4, 1 << 16)
            os.environ.clear()
            os.environ.update(PATH="/usr/bin:/bin", HOME=scratch, TMPDIR=scratch, LANG="C.UTF-8", TZ="UTC",
                              OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")  # fmt: skip
            got = self._isolate_child(job, scratch, required)
            sys.stdout = open(1, "w", encoding="utf-8", errors="replace", closefd=False, buffering=1)
            sys.stderr = open(2, "w", encoding="utf-8", errors="replace", closefd=False, buffering=1)
            if job.get("probe"):
                _wire.write_frame(3, {"t": "probe", "layers": got})
            else:
                _harness.run_ops(job, start, 3)
            code = 0
        except BaseException as exc:  # noqa: B036 - the child must reach os._exit whatever happens
            try:
                _wire.write_frame(3, {"t": "fatal", "error": f"{type(exc).__name__}: {exc}"[:300]})
            except BaseException:  # noqa: B036
                pass
        finally:
            os._exit(code)

    def run_job(self, job: dict[str, Any], required: set[str] | None = None) -> dict[str, Any]:
        """Run ``job['ops']``, re-forking after an operation that killed or hung its child."""
        if required is None:
            required = {k for k in CHILD_LAYERS if self.layers.get(k)}
        ops = job["ops"]
        n = len(ops)
        results: list[dict[str, Any] | None] = [None] * n
        out = _Output(job["max_output"])
        job_deadline = time.monotonic() + job["total_wall_s"]
        reply: dict[str, Any] = {"t": "result", "import": None, "children": 0, "cpu_total": 0.0}
        start = 0
        while True:
            reply["children"] += 1
            frames, failure, cpu = self._run_child(job, start, required, out, job_deadline)
            reply["cpu_total"] += cpu
            next_i = start
            for frame in frames:
                if frame["t"] == "import":
                    if reply["import"] is None or not frame["ok"]:
                        reply["import"] = {"ok": frame["ok"], "error": frame["error"]}
                elif frame["t"] == "op":
                    results[frame["i"]] = frame
                    next_i = frame["i"] + 1
                elif frame["t"] == "probe":
                    reply["probe"] = frame["layers"]
                elif frame["t"] == "fatal":
                    failure = frame["error"]
            if failure is None or job.get("probe"):
                break
            if reply["import"] is None or not reply["import"]["ok"]:
                reply["import"] = {
                    "ok": False,
                    "error": reply["import"] and reply["import"]["error"] or failure,
                }
                break
            if next_i >= n:
                break
            results[next_i] = {"ok": False, "error": failure}
            start = next_i + 1
            if start >= n:
                break
            if time.monotonic() >= job_deadline:
                for i in range(start, n):
                    results[i] = {"ok": False, "error": "job wall-time budget exhausted"}
                break
        reply["ops"] = [r if r is not None else {"ok": False, "error": "not run"} for r in results]
        reply["output"], reply["truncated"] = out.text(), out.truncated
        return reply

    def _run_child(
        self, job: dict[str, Any], start: int, required: set[str], out: _Output, job_deadline: float
    ) -> tuple[list[dict[str, Any]], str | None, float]:
        """Fork one child, collect its frames until done/death/deadline, then kill, sweep and reap."""
        res_r, res_w = os.pipe()
        out_r, out_w = os.pipe()
        self._count_shared_uid_tasks()
        pid = os.fork()
        if pid == 0:
            os.close(res_r)
            os.close(out_r)
            self._child(job, start, res_w, out_w, required)
        os.close(res_w)
        os.close(out_w)
        frames: list[dict[str, Any]] = []
        failure: str | None = None
        buf = bytearray()
        walls = [job["import_wall_s"]] + [op["wall_s"] for op in job["ops"][start:]]
        cpus = [job["import_cpu_s"]] + [op["cpu_s"] for op in job["ops"][start:]]
        expect, step = start, 0
        deadline = min(time.monotonic() + walls[0], job_deadline)
        cpu_mark = 0.0
        open_fds = {res_r, out_r}
        done = False
        while not done and res_r in open_fds:
            wait = deadline - time.monotonic()
            if wait <= 0:
                failure = f"timed out after {walls[min(step, len(walls) - 1)]:g}s"
                break
            ready, _, _ = select.select(list(open_fds), [], [], min(wait, _CPU_POLL_S))
            if not ready:
                if _proc_cpu(pid) - cpu_mark > cpus[min(step, len(cpus) - 1)]:
                    failure = "CPU time limit exceeded"
                    break
                continue
            for fd in ready:
                chunk = os.read(fd, 65536)
                if fd == out_r:
                    if chunk:
                        out.add(chunk)
                    else:
                        open_fds.discard(out_r)
                    continue
                if not chunk:
                    open_fds.discard(res_r)
                    continue
                buf += chunk
                bad: str | None = None
                try:
                    new = _wire.decode_frames(buf, 4 << 20)
                except _wire.FrameError as err:
                    new, bad = err.frames, f"malformed result: {err}"
                for frame in new:
                    problem = _frame_problem(frame, expect)
                    if problem is not None:
                        failure, done = problem, True
                        break
                    if frame["t"] == "op":
                        expect += 1
                    if frame["t"] in ("done", "probe", "fatal") or (frame["t"] == "import" and not frame["ok"]):
                        done = True
                    frames.append(frame)
                    if frame["t"] in ("import", "op"):
                        step += 1
                        deadline = min(time.monotonic() + walls[min(step, len(walls) - 1)], job_deadline)
                        cpu_mark = _proc_cpu(pid)
                if bad is not None and failure is None:
                    failure, done = bad, True
        status, cpu = self._finish(pid, [res_r, out_r], out)
        if failure is None and not done:
            failure = _describe_status(status)
        return frames, failure, cpu

    def _finish(self, pid: int, fds: list[int], out: _Output) -> tuple[int, float]:
        """Kill the child's group and every process of the slot uid, drain output, reap, remove the scratch
        dir."""
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
        _, status, usage = os.wait4(pid, 0)
        if self._survivors() or _adopted():
            self._sweep()
        _drain(fds[1], out)
        for fd in fds:
            os.close(fd)
        self._reap()
        shutil.rmtree(f"/tmp/c{pid}", ignore_errors=True)
        return status, usage.ru_utime + usage.ru_stime

    def _survivors(self) -> bool:
        return self.cgroup.occupied()

    def _sweep(self) -> None:
        """Kill what is left of the job: the whole cgroup (v2), every process of the slot uid (root), and every
        orphan the server adopted as subreaper (which catches setsid() escapers when the uid is not separate)."""
        self.cgroup.kill()
        if self.root:
            helper = os.fork()
            if helper == 0:
                try:
                    os.setresuid(self.uid, self.uid, self.uid)
                    os.kill(-1, signal.SIGKILL)
                finally:
                    os._exit(0)
            os.waitpid(helper, 0)
        for pid in _adopted():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def _reap(self) -> None:
        """Collect every adopted orphan (we are the subreaper), killing and waiting for ones still alive."""
        limit = time.monotonic() + 2.0
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                if time.monotonic() > limit:
                    return
                if self._survivors() or _adopted():
                    self._sweep()
                time.sleep(0.001)


def _tasks_of(uid: int) -> int:
    """Threads of every process whose real uid is ``uid`` (what RLIMIT_NPROC counts), from /proc."""
    total = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
            if int(fields["Uid"].split()[0]) == uid:
                total += int(fields["Threads"])
        except (OSError, KeyError, ValueError):
            continue
    return total


def _adopted() -> list[int]:
    """Direct children of this (single-threaded) server: after a job they are all leftovers of it."""
    me = os.getpid()
    try:
        with open(f"/proc/{me}/task/{me}/children") as f:
            return [int(p) for p in f.read().split()]
    except (OSError, ValueError):
        return []


class _Output:
    """Captured stdout+stderr of a job, truncated at a byte limit (the rest is read and dropped)."""

    def __init__(self, limit: int) -> None:
        self.limit, self.data, self.truncated = limit, bytearray(), False

    def add(self, chunk: bytes) -> None:
        room = self.limit - len(self.data)
        if len(chunk) > room:
            self.truncated = True
        self.data += chunk[: max(room, 0)]

    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


def _frame_problem(frame: Any, expect: int) -> str | None:
    """Why a frame from the child cannot be accepted (None when it can); children are untrusted."""
    if not isinstance(frame, dict) or frame.get("t") not in ("import", "op", "done", "probe", "fatal"):
        return "malformed result frame"
    if frame["t"] == "op" and frame.get("i") != expect:
        return "result frame out of order"
    if frame["t"] == "import" and not isinstance(frame.get("ok"), bool):
        return "malformed result frame"
    return None


def _proc_cpu(pid: int) -> float:
    """CPU seconds (all threads) of a live child from /proc; the per-operation limit a candidate cannot
    ignore.

    RLIMIT_CPU alone is not enough: its soft limit only sends SIGXCPU, which the candidate may ignore.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


def _drain(fd: int, out: _Output) -> None:
    os.set_blocking(fd, False)
    try:
        while chunk := os.read(fd, 65536):
            out.add(chunk)
    except BlockingIOError:
        pass


def _describe_status(status: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU:
            return "CPU time limit exceeded"
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        hint = " (memory limit?)" if sig == signal.SIGKILL else ""
        return f"killed by {name}{hint}"
    return f"process exited with code {os.WEXITSTATUS(status)} before reporting"
