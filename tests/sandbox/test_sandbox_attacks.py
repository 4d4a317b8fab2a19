"""Each test runs a real attack in the real sandbox and asserts it was contained (GitHub issues #3, #11).

Runs as whatever user pytest runs as; as root, ``test_unprivileged.py`` also re-runs it as an unprivileged uid
with and without user namespaces (see ``conftest.py``).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmsde.config import SandboxConfig
from llmsde.sandbox import AssertOp, ExecResult, IoOp, Program, SandboxPool, _isolation

CONFIG = SandboxConfig.model_validate(
    {"cpu_s": 1.0, "wall_s": 2.0, "memory_mb": 256, "max_output_kb": 4, "max_procs": 16, "slots": 1}
)


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    with SandboxPool(CONFIG) as p:
        yield p


def call(pool: SandboxPool, body: str, *more: IoOp | AssertOp, wall_s: float = 1.5) -> ExecResult:
    code = "def f():\n" + textwrap.indent(textwrap.dedent(body), "    ")
    return pool.run(Program(code, "f", (IoOp((), wall_s=wall_s), *more)))


def leftover_processes(pool: SandboxPool) -> list[str]:
    """Every process (zombies included) that candidate code could have left, from the host's /proc.

    As root that is any process of a slot uid. Unprivileged, candidates run as our own uid, so it is any
    process of our uid other than this test process and its direct children (the fork servers).
    """
    uids = {str(s.uid) for s in pool._slots} if os.geteuid() == 0 else {str(os.geteuid())}
    me = str(os.getpid())
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields["Uid"].split()[1] in uids and pid != me and fields["PPid"].strip() != me:
            found.append(pid)
    return found


def test_layers_match_the_mode(pool: SandboxPool, mode: str) -> None:
    layers = pool.isolation.layers
    abi = _isolation.landlock_abi()
    assert layers["subreaper"] and layers["rlimits"] and layers["seccomp"]
    assert (layers["landlock"], layers["landlock-net"], layers["landlock-scope"]) == (abi >= 1, abi >= 4, abi >= 6)
    assert layers["netns"] == layers["private-tmp"] == (mode != "fallback")
    assert layers["uid"] == (mode == "root")
    if mode == "root":
        assert pool.isolation.warnings == () and all(layers.values())
    else:
        assert any(w.startswith("no uid drop") for w in pool.isolation.warnings)


def test_no_network_even_to_a_host_loopback_listener(pool: SandboxPool) -> None:
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        srv.setblocking(False)
        port = srv.getsockname()[1]
        res = call(
            pool,
            f"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=1)\nreturn 'in'",
        )
        assert not res.ops[0].ok
        with pytest.raises(BlockingIOError):
            srv.accept()


def test_fork_bomb_is_stopped_and_every_process_is_gone_afterwards(pool: SandboxPool) -> None:
    body = """
    import os, time
    n = 0
    try:
        while n < 400:
            if os.fork() == 0:
                time.sleep(30)
                os._exit(0)
            n += 1
    except OSError:
        pass
    return n
    """
    res = call(pool, body)
    assert res.ops[0].ok
    assert int(res.ops[0].value or "0") < CONFIG.max_procs
    assert leftover_processes(pool) == []


FORK_FOUR = """
import os
n = 0
for _ in range(4):
    if os.fork() == 0:
        os._exit(0)
    n += 1
return n
"""


def test_other_processes_of_the_runners_user_do_not_use_up_the_process_limit() -> None:
    sleepers = [subprocess.Popen(["sleep", "30"]) for _ in range(2 * CONFIG.max_procs)]
    try:
        with SandboxPool(CONFIG) as fresh:
            res = call(fresh, FORK_FOUR)
    finally:
        for proc in sleepers:
            proc.kill()
            proc.wait()
    assert res.ops[0].value == "4", (res.ops[0].error, res.output)


def test_memory_bomb_is_a_recorded_failure(pool: SandboxPool) -> None:
    res = call(pool, "x = bytearray(3 << 30)\nreturn len(x)")
    assert not res.ops[0].ok
    assert res.ops[0].error is not None


def test_memory_touched_page_by_page_is_stopped(pool: SandboxPool) -> None:
    res = call(pool, "xs = []\nwhile True:\n    xs.append(bytearray(1 << 20))")
    assert not res.ops[0].ok


def test_infinite_loop_times_out_and_later_operations_still_run(pool: SandboxPool) -> None:
    code = "import sys\ndef f(x):\n    while x == 0:\n        pass\n    return x\n"
    res = pool.run(Program(code, "f", (IoOp((0,), wall_s=0.5), IoOp((7,)))))
    assert not res.ops[0].ok and "timed out" in (res.ops[0].error or "")
    assert res.ops[1].ok and res.ops[1].value == "7"
    assert res.children == 2


def test_cpu_limit_kills_a_busy_loop_that_ignores_signals(pool: SandboxPool) -> None:
    body = """
    import signal, threading
    for s in (signal.SIGXCPU, signal.SIGTERM, signal.SIGALRM):
        signal.signal(s, signal.SIG_IGN)
    def spin():
        while True:
            pass
    for _ in range(2):
        threading.Thread(target=spin, daemon=True).start()
    spin()
    """
    res = call(pool, body, wall_s=8.0)
    assert not res.ops[0].ok
    assert res.ops[0].error == "CPU time limit exceeded" or "killed" in (res.ops[0].error or "")


def test_setsid_daemon_grandchild_is_killed_and_reaped(pool: SandboxPool) -> None:
    body = """
    import os, time
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            time.sleep(60)
        os._exit(0)
    return 'spawned'
    """
    res = call(pool, body)
    assert res.ops[0].value == '"spawned"'
    assert leftover_processes(pool) == []
    server = pool._slots[0].hello["pid"]
    children = Path(f"/proc/{server}/task/{server}/children").read_text().split()
    assert children == []


@pytest.fixture()
def host_dir() -> Iterator[Path]:
    """A world-readable directory outside /tmp (the sandbox has a private /tmp, so it could not even see
    tmp_path)."""
    path = Path(tempfile.mkdtemp(prefix="llmsde-attack-", dir="/run" if os.access("/run", os.W_OK) else None))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_filesystem_outside_the_scratch_dir_is_untouchable(pool: SandboxPool, host_dir: Path) -> None:
    tmp_path = host_dir
    marker = tmp_path / "marker.txt"
    marker.write_text("original")
    secret = tmp_path / "runs" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("planted")
    secret.chmod(0o644)
    secret.parent.chmod(0o777)
    body = f"""
    import os
    out = []
    for action in (lambda: open({str(marker)!r}, 'w').write('pwned'),
                   lambda: open({str(secret)!r}).read(),
                   lambda: os.remove({str(secret)!r}),
                   lambda: open('/tmp/host-marker', 'w').write('x'),
                   lambda: open('/etc/passwd', 'a').write('x')):
        try:
            action()
            out.append('done')
        except OSError as err:
            out.append(type(err).__name__)
    open('scratch.txt', 'w').write('mine')
    out.append(os.getcwd())
    return out
    """
    res = call(pool, body)
    outcomes = __import__("json").loads(res.ops[0].value or "[]")
    hidden = "FileNotFoundError" if host_dir.is_relative_to("/tmp") and pool.isolation.layers["private-tmp"] else ""
    assert set(outcomes[:3]) <= {"PermissionError", hidden}
    assert outcomes[3] == "PermissionError"  # its private /tmp is writable only inside the scratch dir
    assert outcomes[4] == "PermissionError"
    assert marker.read_text() == "original" and secret.read_text() == "planted"
    assert not Path("/tmp/host-marker").exists()
    server = pool._slots[0].hello["pid"]
    seen_tmp = f"/proc/{server}/root/tmp" if os.geteuid() == 0 else "/tmp"
    if os.geteuid() == 0 or not pool.isolation.layers["private-tmp"]:
        assert [
            d for d in os.listdir(seen_tmp) if re.fullmatch(r"c\d+", d) and Path(seen_tmp, d).stat().st_uid != 0
        ] == []


def test_environment_is_scrubbed_and_parent_environ_unreadable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fake-key-for-the-sandbox-test")
    body = f"""
    import os
    seen = [repr(dict(os.environ))]
    try:
        pids = [p for p in os.listdir('/proc') if p.isdigit()][:200]
    except OSError:
        pids = []
    for pid in [os.getppid(), 1, {os.getpid()}] + pids:
        try:
            seen.append(open(f'/proc/{{pid}}/environ', 'rb').read().decode('latin-1'))
        except OSError:
            pass
    return '\\n'.join(seen)
    """
    with SandboxPool(CONFIG) as fresh:
        res = call(fresh, body)
    assert res.ops[0].ok
    assert "sk-fake" not in (res.ops[0].value or "")
    assert "OPENAI" not in (res.ops[0].value or "")


def test_cannot_signal_the_server_or_the_runner(pool: SandboxPool) -> None:
    body = f"""
    import os, signal
    out = []
    for pid in (os.getppid(), {os.getpid()}, 1):
        try:
            os.kill(pid, signal.SIGKILL)
            out.append('sent')
        except OSError as err:
            out.append(type(err).__name__)
    return out
    """
    res = call(pool, body)
    assert res.ops[0].value == '["PermissionError","PermissionError","PermissionError"]'
    assert call(pool, "return 1").ops[0].value == "1"


def test_exec_of_other_programs_is_refused(pool: SandboxPool) -> None:
    res = call(pool, "import subprocess\nreturn subprocess.run(['/bin/true']).returncode")
    assert not res.ops[0].ok and "Operation not permitted" in (res.ops[0].error or "")


def test_output_is_captured_and_truncated(pool: SandboxPool) -> None:
    res = call(pool, "print('x' * 100_000)\nprint('tail')\nreturn 1")
    assert res.ops[0].ok
    assert res.truncated and len(res.output.encode()) <= CONFIG.max_output_kb * 1024
    assert res.output.startswith("xxxx")


def test_binary_output_and_forged_frames_are_harmless(pool: SandboxPool) -> None:
    body = """
    import os
    os.write(1, bytes(range(256)) * 8)
    os.write(3, b'\\xff\\xff\\xff\\xff' + os.urandom(64))
    return 1
    """
    res = call(pool, body)
    assert not res.ops[0].ok and "malformed" in (res.ops[0].error or "")
    assert call(pool, "return 2").ops[0].value == "2"


def test_reaching_the_host_through_unshare_or_ptrace_is_refused(pool: SandboxPool) -> None:
    body = """
    import ctypes, os
    libc = ctypes.CDLL(None, use_errno=True)
    return [libc.unshare(0x10000000), libc.syscall(101, 16, os.getppid(), 0, 0)]
    """
    assert call(pool, body).ops[0].value == "[-1,-1]"
