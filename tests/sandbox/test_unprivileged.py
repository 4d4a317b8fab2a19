"""The attack suites again, as an unprivileged uid: once where user namespaces work, once where they are denied.

CI runs as root, which never exercises the path most users take (a laptop, a hosted runner). Here a leased,
otherwise unused uid (no passwd entry is created) runs pytest on the attack suites through a real
``SandboxPool``; the second run loads a seccomp filter refusing unshare/setns first (``conftest.py``), so the
fork servers fall back exactly as on a host that forbids user namespaces. Afterwards no process of that uid may
be left.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import llmsde
from llmsde.sandbox import pool as pool_mod

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0,
    reason="making an unprivileged uid needs root; run as a normal user, the suites below already run unprivileged",
)

HERE = Path(__file__).parent
SUITES = ("test_sandbox_attacks.py", "test_attacks_ipc.py", "test_harness_integrity.py", "test_require_isolation.py")
REPO = Path(llmsde.__file__).resolve().parent.parent


def processes_of(uid: int) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.stat(f"/proc/{pid}").st_uid == uid:
                found.append(int(pid))
        except OSError:
            continue
    return found


def kill_all(uid: int) -> None:
    helper = os.fork()
    if helper == 0:
        try:
            os.setresuid(uid, uid, uid)
            os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(helper, 0)


@pytest.fixture(scope="module")
def uid() -> Iterator[int]:
    """A uid leased machine-wide (no fork server of any llmsde process will use it meanwhile)."""
    uid, fd = pool_mod._lease_uid()
    try:
        yield uid
    finally:
        kill_all(uid)
        shutil.rmtree(Path(pool_mod._LOCK_DIR).with_name(f".llmsde-slot-uids-{uid}"), ignore_errors=True)
        os.close(fd)


def interpreter(uid: int) -> tuple[list[str], dict[str, str], dict[str, Any]]:
    """A command prefix that runs this Python as ``uid`` with llmsde, pytest and pydantic importable, its
    environment, and the ``subprocess.run`` arguments that switch to ``uid`` (none when the prefix does).

    Tried in order: this interpreter, Debian's python3 of the same minor version on our path, and this
    interpreter through ``as_uid.py``, which makes root-only directories on the way to it (a pyenv in /root, as
    on CI) traversable in a private mount namespace. None working is a failure, not a skip: this test is the
    only place the unprivileged modes are exercised on a root CI machine.
    """
    paths = [str(REPO)] + [p for p in sys.path if p.endswith("site-packages") and os.path.isdir(p)]
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "PYTHONPATH": ":".join(paths), "PYTHONDONTWRITEBYTECODE": "1"}
    launcher = [sys.executable, str(HERE / "as_uid.py"), str(uid), ":".join([sys.prefix, *paths]), "--"]
    direct: dict[str, Any] = {"user": uid, "group": uid, "extra_groups": []}
    candidates = (([sys.executable], direct), (["/usr/bin/python3"], direct), ([*launcher, sys.executable], {}))
    tried = []
    for prefix, ids in candidates:
        try:
            probe = subprocess.run(
                [*prefix, "-c", "import sys, llmsde, pytest, pydantic; print(sys.version_info[:2])"],
                env=env, capture_output=True, text=True, timeout=60, **ids,
            )  # fmt: skip
        except OSError as err:
            tried.append(f"{prefix[-1]}: {err}")
            continue
        if probe.returncode == 0 and probe.stdout.strip() == str(sys.version_info[:2]):
            return prefix, env, ids
        tried.append(f"{prefix[-1]}: {(probe.stderr.strip().splitlines() or ['?'])[-1]}")
    pytest.fail(f"no interpreter with llmsde importable is reachable by uid {uid}: {'; '.join(tried)}")


@pytest.mark.parametrize("deny_userns", [False, True], ids=["with-userns", "userns-denied"])
def test_attack_suites_hold_as_an_unprivileged_user(uid: int, deny_userns: bool) -> None:
    prefix, env, as_user = interpreter(uid)
    env["LLMSDE_TEST_DENY_USERNS"] = "1" if deny_userns else "0"
    basetemp = Path(f"/tmp/llmsde-unpriv-{uid}-{int(deny_userns)}")
    shutil.rmtree(basetemp, ignore_errors=True)
    try:
        run = subprocess.run(
            [*prefix, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--basetemp={basetemp}", f"--rootdir={REPO}",
             *(str(HERE / s) for s in SUITES)],
            env=env, cwd=REPO, capture_output=True, text=True, timeout=600, **as_user,
        )  # fmt: skip
    finally:
        shutil.rmtree(basetemp, ignore_errors=True)
    tail = "\n".join((run.stdout + run.stderr).strip().splitlines()[-25:])
    assert run.returncode == 0, tail
    passed = int(re.findall(r"(\d+) passed", tail)[-1])
    skipped = [line for line in tail.splitlines() if line.startswith("SKIPPED")]
    assert passed >= 50 and skipped == [], tail
    assert processes_of(uid) == [], "processes of the unprivileged uid outlived its test run"
