"""Pool life cycle: uid leases, restart of a dead server, clean shutdown, stale cgroup removal.

Runs as any user; the cgroup tests need a writable cgroup hierarchy (root here) and say so when skipped.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from llmsde.config import SandboxConfig
from llmsde.errors import SandboxError
from llmsde.sandbox import IoOp, IsolationReport, Program, SandboxPool, _cgroups
from llmsde.sandbox import pool as pool_mod
from llmsde.sandbox._report import missing_text

needs_cgroups = pytest.mark.skipif(
    os.geteuid() != 0, reason="slot cgroups need a writable hierarchy: root here (a delegated v2 subtree elsewhere)"
)

ONE = SandboxConfig.model_validate({"slots": 1})
ECHO = Program("def f(x):\n    return x\n", "f", (IoOp((5,)),))


def test_two_pools_lease_different_uids() -> None:
    with SandboxPool(ONE) as a, SandboxPool(ONE) as b:
        assert a._slots[0].uid != b._slots[0].uid
        assert a.run(ECHO).ops[0].value == b.run(ECHO).ops[0].value == "5"


def test_a_killed_server_is_reported_then_restarted() -> None:
    with SandboxPool(ONE) as p:
        old = p._slots[0].proc
        assert old is not None
        os.kill(old.pid, signal.SIGKILL)
        failed = p.run(ECHO)
        assert not failed.import_ok and "sandbox server failed" in (failed.import_error or "")
        assert p._slots[0].proc is not old
        assert p.run(ECHO).ops[0].value == "5"


def test_close_stops_servers_and_is_idempotent() -> None:
    p = SandboxPool(ONE)
    proc = p._slots[0].proc
    assert proc is not None
    p.close()
    p.close()
    assert proc.poll() is not None
    with pytest.raises(SandboxError, match="closed"):
        p.run(ECHO)


@needs_cgroups
def test_close_removes_the_slot_cgroups_and_the_report_names_the_version() -> None:
    p = SandboxPool(ONE)
    uid = p._slots[0].uid
    dirs = [Path(path) for u, path in _cgroups.slot_dirs() if u == uid]
    assert p.isolation.cgroup in ("v1", "v2") and dirs and all(d.is_dir() for d in dirs)
    p.close()
    assert not any(d.exists() for d in dirs)


@needs_cgroups
def test_stale_cgroups_of_dead_processes_are_removed() -> None:
    stale = Path("/sys/fs/cgroup/pids/llmsde") / _cgroups.slot_name(235999, 0)
    legacy = Path("/sys/fs/cgroup/pids/llmsde/slot-235998")
    for path in (stale, legacy):
        path.mkdir(parents=True, exist_ok=True)
    with SandboxPool(ONE):
        assert not stale.exists() and not legacy.exists()


def test_report_lists_missing_layers_in_order() -> None:
    report = IsolationReport.from_layers({"netns": True, "uid": True}, "/usr/bin/python3")
    assert report.level == "netns+uid"
    assert report.layers["landlock"] is False
    assert len(report.warnings) == len(pool_mod.LAYERS) - 2
    assert IsolationReport.from_layers({}, "x").level == "none"


def test_warnings_describe_what_the_present_layers_still_block() -> None:
    def warning(layer: str, **present: bool) -> str:
        report = IsolationReport.from_layers({k.replace("_", "-"): v for k, v in present.items()}, "x")
        text = missing_text(layer, report.layers)
        assert text in report.warnings
        return text

    assert "seccomp refuses every socket()" in warning("netns", seccomp=True, landlock_net=True)
    assert "Landlock blocks TCP, but UDP" in warning("netns", landlock_net=True)
    assert "can open network connections" in warning("netns")
    assert "Unix sockets listening there are reachable" in warning("private-tmp", landlock=True)
    assert "Unix sockets" not in warning("private-tmp", landlock=True, seccomp=True)
    assert "still blocked by netns and seccomp" in warning("landlock-net", netns=True, seccomp=True)
    assert "may signal every process" in warning("landlock-scope", landlock=True)
    assert "signal only themselves" in warning("landlock-scope", landlock=True, seccomp=True)
