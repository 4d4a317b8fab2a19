"""Cost of one sandboxed execution in each isolation mode, with the root mode of this same run as baseline.

    sudo python benchmarks/bench_sandbox_modes.py            # about 20 s on 2 cores
    sudo python benchmarks/bench_sandbox_modes.py --quick

Modes: root (every layer); an unprivileged uid with user namespaces (network namespace and private /tmp through
a user namespace; no uid drop, no cgroups); the same uid with user namespaces denied by a seccomp filter (the
fallback: rlimits, Landlock, seccomp). The unprivileged modes run in a child process as a leased uid. Prints
the median and p95 round trip of a 5-call io program, the layers achieved, and the ratio to root.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import llmsde
from llmsde.config import SandboxConfig
from llmsde.sandbox import IoOp, Program, SandboxPool, _isolation
from llmsde.sandbox import pool as pool_mod

PROGRAM = Program("def f(x):\n    return sorted(set(x))\n", "f", tuple(IoOp(([3, 1, 2, 3],)) for _ in range(5)))


def measure(n: int) -> dict[str, object]:
    """Median/p95 ms per program through one warm slot, in the current process's mode."""
    if os.environ.get("BENCH_DENY_USERNS") == "1":
        _isolation.deny_namespaces()
    with SandboxPool(SandboxConfig.model_validate({"slots": 1})) as pool:
        for _ in range(20):
            pool.run(PROGRAM)
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            res = pool.run(PROGRAM)
            times.append((time.perf_counter() - t0) * 1e3)
            assert res.ops[-1].value == "[1,2,3]"
        times.sort()
        return {"median": statistics.median(times), "p95": times[int(0.95 * (len(times) - 1))],
                "level": pool.isolation.level}  # fmt: skip


def as_uid(uid: int, n: int, deny: bool) -> dict[str, object]:
    repo = Path(llmsde.__file__).resolve().parent.parent
    paths = [str(repo)] + [p for p in sys.path if p.endswith("site-packages")]
    env = {"PYTHONPATH": ":".join(paths), "HOME": "/tmp", "BENCH_DENY_USERNS": "1" if deny else "0"}
    error = ""
    for python in (sys.executable, "/usr/bin/python3"):
        try:
            run = subprocess.run([python, __file__, "--child", str(n)], user=uid, group=uid, extra_groups=[],
                                 env=env, capture_output=True, text=True, cwd="/tmp")  # fmt: skip
        except OSError as err:
            error = str(err)
            continue
        if run.returncode == 0:
            return dict(json.loads(run.stdout))
        error = run.stderr.strip()[-300:]
    raise SystemExit(f"the unprivileged child failed: {error}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child)))
        return
    if os.geteuid() != 0:
        raise SystemExit("run as root: the benchmark compares root with unprivileged uids it switches to")
    n = 60 if args.quick else 300
    uid, fd = pool_mod._lease_uid()
    try:
        rows = [("root", measure(n)), ("unprivileged + userns", as_uid(uid, n, False)),
                ("unprivileged, userns denied", as_uid(uid, n, True))]  # fmt: skip
    finally:
        shutil.rmtree(Path(pool_mod._LOCK_DIR).with_name(f".llmsde-slot-uids-{uid}"), ignore_errors=True)
        os.close(fd)
    base = float(rows[0][1]["median"])  # type: ignore[arg-type]
    print(f"{'mode':<30} {'median ms':>10} {'p95 ms':>8} {'ratio':>6}  layers")
    for name, r in rows:
        median, p95 = float(r["median"]), float(r["p95"])  # type: ignore[arg-type]
        print(f"{name:<30} {median:>10.2f} {p95:>8.2f} {median / base:>6.2f}  {r['level']}")


if __name__ == "__main__":
    main()
