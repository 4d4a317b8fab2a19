"""Slot cgroups: which hierarchy is chosen, what is written, and the v2 join/kill/remove cycle on a real kernel.

This machine is a cgroup v1 host whose unified (v2) hierarchy holds no controllers, so ``memory.max`` and
``pids.max`` cannot be exercised on a real v2 hierarchy here: the choice of hierarchy and the files written are
tested against a directory laid out like cgroupfs, and the v2 mechanics that need no controller (moving a
process in, ``cgroup.kill``, removal) against the real unified hierarchy.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from llmsde.sandbox import _cgroups

EUID = os.geteuid()


def fake_v2(tmp_path: Path, controllers: str, own: str = "/") -> dict[str, str]:
    mount = tmp_path / "unified"
    mount.mkdir()
    (mount / "cgroup.controllers").write_text(controllers)
    (mount / "cgroup.subtree_control").write_text("")
    if own != "/":
        base = mount / Path(own).parent.relative_to("/")
        base.mkdir(parents=True)
        (base / "cgroup.controllers").write_text(controllers)
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        f"31 23 0:28 / {tmp_path}/v1 rw,relatime - tmpfs tmpfs rw\n"
        f"41 31 0:38 / {mount} rw,relatime - cgroup2 cgroup2 rw\n"
    )
    cgroup = tmp_path / "self-cgroup"
    cgroup.write_text(f"4:memory:/x\n0::{own}\n")
    return {"sysfs": str(tmp_path / "v1"), "mountinfo": str(mountinfo), "self_cgroup": str(cgroup)}


def test_v2_as_root_enables_controllers_and_writes_memory_max_and_pids_max(tmp_path: Path) -> None:
    paths = fake_v2(tmp_path, "cpu memory pids io")
    slot = _cgroups.setup(231007, 32, 256 << 20, root=True, **paths)
    leaf = tmp_path / "unified" / "llmsde" / _cgroups.slot_name(231007, EUID)
    assert slot.version == "v2" and slot.dirs == {"pids-cgroup": str(leaf), "memory-cgroup": str(leaf)}
    assert (leaf / "pids.max").read_text() == "32" and (leaf / "memory.max").read_text() == str(256 << 20)
    assert (leaf / "memory.swap.max").read_text() == "0"
    for parent in (tmp_path / "unified", tmp_path / "unified" / "llmsde"):
        assert (parent / "cgroup.subtree_control").read_text() == "+memory +pids"
    assert _cgroups.slot_dirs(sysfs=paths["sysfs"], mountinfo=paths["mountinfo"]) == [(231007, str(leaf))]


def test_v2_without_root_uses_the_delegated_parent_of_our_own_cgroup(tmp_path: Path) -> None:
    paths = fake_v2(tmp_path, "memory pids", own="/user.slice/user@1000.service/app.slice/term.scope")
    slot = _cgroups.setup(231008, 8, 64 << 20, root=False, **paths)
    expected = tmp_path / "unified/user.slice/user@1000.service/app.slice/llmsde" / _cgroups.slot_name(231008, EUID)
    assert slot.version == "v2" and slot.dirs["memory-cgroup"] == str(expected)
    assert (expected / "memory.max").read_text() == str(64 << 20)


def test_v2_without_controllers_falls_back_to_v1_and_says_why(tmp_path: Path) -> None:
    paths = fake_v2(tmp_path, "hugetlb")
    slot = _cgroups.setup(231009, 16, 128 << 20, root=True, **paths)
    name = _cgroups.slot_name(231009, EUID)
    assert slot.version == "v1"
    assert Path(paths["sysfs"], "pids", "llmsde", name, "pids.max").read_text() == "16"
    assert Path(paths["sysfs"], "memory", "llmsde", name, "memory.limit_in_bytes").read_text() == str(128 << 20)
    assert any("no memory/pids controllers" in e for e in slot.errors)


def test_no_writable_hierarchy_gives_no_cgroup_and_errors(tmp_path: Path) -> None:
    paths = fake_v2(tmp_path, "memory pids", own="/")
    (tmp_path / "v1").write_text("not a directory")
    slot = _cgroups.setup(231010, 16, 128 << 20, root=False, **paths)
    assert slot.version == "" and slot.dirs == {} and len(slot.errors) == 3
    assert slot.occupied() and not slot.kill()


needs_root = pytest.mark.skipif(EUID != 0, reason="creating a cgroup on the real hierarchy needs root here")


@needs_root
def test_this_host_reports_the_hierarchy_it_really_has() -> None:
    slot = _cgroups.setup(231011, 16, 128 << 20, root=True)
    try:
        mount = _cgroups._v2_mount("/proc/self/mountinfo")
        controllers = Path(mount, "cgroup.controllers").read_text().split() if mount else []
        assert slot.version == ("v2" if {"memory", "pids"} <= set(controllers) else "v1")
        assert set(slot.dirs) == {"pids-cgroup", "memory-cgroup"}
    finally:
        slot.remove()
    assert not any(os.path.exists(p) for p in slot.dirs.values())


@needs_root
def test_v2_join_occupied_kill_and_remove_on_the_real_unified_hierarchy() -> None:
    mount = _cgroups._v2_mount("/proc/self/mountinfo")
    if mount is None:
        pytest.skip("no cgroup2 hierarchy is mounted on this host")
    path = Path(mount, f"llmsde-test-{os.getpid()}")
    path.mkdir()
    slot = _cgroups.CgroupSlot(version="v2", dirs={"pids-cgroup": str(path), "memory-cgroup": str(path)})
    try:
        assert not slot.occupied()
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                slot.join()
                os.write(w, b"x")
                time.sleep(30)
            finally:
                os._exit(0)
        os.close(w)
        assert os.read(r, 1) == b"x"
        os.close(r)
        assert str(pid) in (path / "cgroup.procs").read_text().split() and slot.occupied()
        assert slot.kill()
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        assert not slot.occupied()
    finally:
        slot.remove()
    assert not path.exists()
