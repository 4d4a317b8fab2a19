"""Attacks on the host through sockets, /proc and ptrace: each must fail, in every mode (issue #11).

The listeners are real and started by the test on the host side; each test asserts both that the candidate saw
an error saying why and that the listener received nothing.
"""

from __future__ import annotations

import json
import os
import socket
import textwrap
import uuid
from collections.abc import Iterator

import pytest

from llmsde.config import SandboxConfig
from llmsde.sandbox import IoOp, Program, SandboxPool

CONFIG = SandboxConfig.model_validate({"cpu_s": 1.0, "wall_s": 2.0, "memory_mb": 256, "max_procs": 16, "slots": 1})


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    with SandboxPool(CONFIG) as p:
        yield p


def attempt(pool: SandboxPool, body: str) -> list[str]:
    """Run ``body`` (which must set ``out``) in the sandbox; return what it recorded, one entry per attempt."""
    code = "def f():\n    out = []\n" + textwrap.indent(textwrap.dedent(body), "    ") + "    return out\n"
    res = pool.run(Program(code, "f", (IoOp((), wall_s=2.0),)))
    assert res.ops[0].ok, (res.ops[0].error, res.output)
    return [str(x) for x in json.loads(res.ops[0].value or "[]")]


TRY = """
def t(fn):
    try:
        fn()
        out.append('done')
    except OSError as err:
        out.append(f'{type(err).__name__}: {err.strerror}')
"""


@pytest.fixture()
def unix_listener() -> Iterator[tuple[socket.socket, str]]:
    """A Unix stream socket listening at a pathname in the host's /tmp, connectable by any uid."""
    path = f"/tmp/llmsde-attack-{uuid.uuid4().hex[:12]}.sock"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    os.chmod(path, 0o777)
    srv.listen()
    srv.setblocking(False)
    try:
        yield srv, path
    finally:
        srv.close()
        os.unlink(path)


def test_unix_socket_in_host_tmp_is_unreachable(pool: SandboxPool, unix_listener: tuple[socket.socket, str]) -> None:
    srv, path = unix_listener
    body = TRY + f"import socket\nt(lambda: socket.socket(socket.AF_UNIX).connect({path!r}))\n"
    out = attempt(pool, body)
    assert out[0].startswith(("PermissionError", "FileNotFoundError", "ConnectionRefusedError")), out
    with pytest.raises(BlockingIOError):
        srv.accept()


def test_abstract_unix_socket_is_unreachable(pool: SandboxPool) -> None:
    name = f"\0llmsde-attack-{uuid.uuid4().hex[:12]}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as srv:
        srv.bind(name)
        srv.listen()
        srv.setblocking(False)
        out = attempt(pool, TRY + f"import socket\nt(lambda: socket.socket(socket.AF_UNIX).connect({name!r}))\n")
        assert out[0].startswith(("PermissionError", "ConnectionRefusedError")), out
        with pytest.raises(BlockingIOError):
            srv.accept()


def test_udp_datagrams_do_not_reach_a_host_listener(pool: SandboxPool) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as srv:
        srv.bind(("127.0.0.1", 0))
        srv.setblocking(False)
        port = srv.getsockname()[1]
        body = TRY + (
            "import socket\n"
            f"t(lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'leak', ('127.0.0.1', {port})))\n"
            f"t(lambda: socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).sendto(b'leak', ('::1', {port})))\n"
        )
        out = attempt(pool, body)
        assert all(o.startswith("PermissionError") or "unreachable" in o for o in out), out
        with pytest.raises(BlockingIOError):
            srv.recv(16)


def test_tcp_netlink_and_packet_sockets_are_refused_with_a_reason(pool: SandboxPool) -> None:
    body = TRY + (
        "import socket\n"
        "t(lambda: socket.create_connection(('127.0.0.1', 22), timeout=1))\n"
        "t(lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0))\n"
        "t(lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0))\n"
        "t(lambda: socket.socket(socket.AF_INET6, socket.SOCK_STREAM))\n"
    )
    out = attempt(pool, body)
    assert out[1:] == ["PermissionError: Operation not permitted"] * 3, out
    assert out[0].startswith(("PermissionError", "OSError")) and out[0] != "done", out


def test_socketpair_and_asyncio_still_work(pool: SandboxPool) -> None:
    body = "import asyncio\nasync def g():\n    return 7\nout.append(asyncio.run(g()))\n"
    assert attempt(pool, body) == ["7"]


def test_environ_and_memory_of_the_runner_are_unreadable(pool: SandboxPool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMSDE_ATTACK_SECRET", "sk-sandbox-attack-secret")
    body = (
        TRY
        + "import os\n"
        + "".join(
            f"t(lambda: out.append(open(f'/proc/{{{pid}}}/{what}', 'rb').read(4096).decode('latin-1')))\n"
            for pid in (os.getpid(), "os.getppid()")
            for what in ("environ", "mem")
        )
    )
    out = attempt(pool, body)
    assert not any("sk-sandbox-attack-secret" in o for o in out)
    assert "done" not in out, out


def test_ptrace_and_memory_access_to_a_sibling_are_refused(pool: SandboxPool) -> None:
    body = """
    import ctypes, os, time
    libc = ctypes.CDLL(None, use_errno=True)
    sib = os.fork()
    if sib == 0:
        time.sleep(5)
        os._exit(0)
    buf = ctypes.create_string_buffer(8)
    iov = (ctypes.c_void_p * 2)(ctypes.cast(buf, ctypes.c_void_p), 8)
    out.append(libc.syscall(101, 16, sib, 0, 0))
    out.append(ctypes.get_errno())
    out.append(libc.syscall(310, sib, iov, 1, iov, 1, 0))
    out.append(ctypes.get_errno())
    os.kill(sib, 9)
    os.waitpid(sib, 0)
    """
    assert attempt(pool, body) == ["-1", "1", "-1", "1"]
