"""Pool life cycle: uid leases, restart of a dead server, clean shutdown, stale cgroup removal."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from llmsde.config import SandboxConfig
from llmsde.errors import SandboxError
from llmsde.sandbox import IoOp, IsolationReport, Program, SandboxPool
from llmsde.sandbox import pool as pool_mod

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


def test_close_stops_servers_removes_cgroups_and_is_idempotent() -> None:
    p = SandboxPool(ONE)
    slot = p._slots[0]
    proc, uid = slot.proc, slot.uid
    assert proc is not None and Path(f"/sys/fs/cgroup/pids/llmsde/slot-{uid}").is_dir()
    p.close()
    p.close()
    assert proc.poll() is not None
    assert not Path(f"/sys/fs/cgroup/pids/llmsde/slot-{uid}").exists()
    with pytest.raises(SandboxError, match="closed"):
        p.run(ECHO)


def test_stale_cgroups_of_dead_processes_are_removed() -> None:
    stale = Path("/sys/fs/cgroup/pids/llmsde/slot-235999")
    stale.mkdir(parents=True, exist_ok=True)
    with SandboxPool(ONE):
        assert not stale.exists()


def test_report_lists_missing_layers_in_order() -> None:
    report = IsolationReport.from_layers({"netns": True, "uid": True}, "/usr/bin/python3")
    assert report.level == "netns+uid"
    assert report.layers["landlock"] is False
    assert len(report.warnings) == len(pool_mod.LAYERS) - 2
    assert IsolationReport.from_layers({}, "x").level == "none"
