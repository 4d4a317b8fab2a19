"""The seccomp rules on their own, in a forked child of this test (no fork server): what they refuse, and what
they must leave alone. Runs as any user."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
from collections.abc import Callable
from functools import partial

from llmsde.sandbox import _isolation


def in_filtered_child(signals_to_self_only: bool, probe: Callable[[], list[object]]) -> list[object]:
    """Load the candidate filter in a forked child, run ``probe`` there and return its JSON result."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            _isolation.apply_seccomp(signals_to_self_only)
            os.write(w, json.dumps(probe()).encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        data = f.read()
    os.waitpid(pid, 0)
    return list(json.loads(data))


def errno_of(fn: Callable[[], object]) -> int:
    try:
        fn()
    except OSError as err:
        return err.errno or -1
    return 0


def signal_attempts() -> list[object]:
    me, parent = os.getpid(), os.getppid()
    return [
        errno_of(lambda: os.kill(parent, 0)),
        errno_of(lambda: os.kill(-1, 0)),
        errno_of(lambda: os.kill(-parent, 0)),
        errno_of(lambda: os.kill(me, 0)),
        errno_of(lambda: os.kill(0, 0)),
        errno_of(lambda: signal.pthread_kill(threading.get_ident(), 0)),
    ]


def test_signals_to_self_only_refuses_every_other_target_but_not_the_process_itself() -> None:
    eperm = 1
    assert in_filtered_child(True, signal_attempts) == [eperm, eperm, eperm, 0, 0, 0]


def test_without_the_signal_rule_the_parent_is_reachable() -> None:
    assert in_filtered_child(False, signal_attempts)[0] == 0


def test_every_socket_family_is_refused_and_unix_socketpair_is_not() -> None:
    families = [socket.AF_UNIX, socket.AF_INET, socket.AF_INET6, socket.AF_NETLINK, socket.AF_PACKET]

    def open_close(family: int) -> None:
        socket.socket(family, socket.SOCK_DGRAM).close()

    def pair() -> None:
        for end in socket.socketpair():
            end.close()

    def attempts() -> list[object]:
        tried: list[object] = [errno_of(partial(open_close, fam)) for fam in families]
        return [*tried, errno_of(pair)]

    assert in_filtered_child(False, attempts) == [1, 1, 1, 1, 1, 0]
