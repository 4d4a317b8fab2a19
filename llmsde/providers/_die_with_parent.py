"""Run a command that the kernel kills when llmsde dies, however it dies (even by SIGKILL).

llmsde starts this file by path (``python _die_with_parent.py PARENT_PID COMMAND...``), so it imports nothing of
llmsde and costs only an interpreter start. On Linux it asks for ``PR_SET_PDEATHSIG`` = SIGKILL, checks that the
parent did not die before the request took effect, and execs the command, which keeps the death signal.
This is done in a launcher rather than in ``subprocess``'s ``preexec_fn`` because the parent has threads (the
sandbox pool, asyncio), and calling into ctypes between ``fork`` and ``exec`` of a threaded process can
deadlock. Elsewhere the command is exec'ed without the guarantee; llmsde still stops it on every other exit path.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def main(argv: list[str]) -> None:
    """``argv``: this file, the parent's pid, then the command to exec."""
    parent, command = int(argv[1]), argv[2:]
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
            sys.stderr.write(f"prctl(PR_SET_PDEATHSIG) failed: {os.strerror(ctypes.get_errno())}\n")
            os._exit(70)
    if os.getppid() != parent:
        os._exit(71)
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv)
