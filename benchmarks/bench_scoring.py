"""Benchmark of the scoring pipeline, with every baseline measured in the same run.

    python benchmarks/bench_scoring.py            # about a minute on 2 cores
    python benchmarks/bench_scoring.py --quick    # fewer repeats

Tables (medians; ratios against a baseline from this same run):
1. sandbox overhead per execution: in-process exec (no isolation), a bare ``python3 -I -S`` subprocess, and
   the llmsde fork server with every isolation layer on;
2. one full three-objective score excluding the task's workload time, against the naive pipeline
   (``pytest`` subprocess + ``bandit`` CLI + ``radon cc`` and ``radon mi`` CLIs per candidate);
3. stability: coefficient of variation of the efficiency score of one unchanged program;
4. drift: the candidate/reference ratio of one unchanged program on a quiet machine, then with memory-streaming
   CPU hogs on every core, with the reference re-timed alongside every candidate (the default) and timed once
   and kept (``reference_every`` huge, the behaviour before issue 12 item 13); plus what re-timing costs.

    python benchmarks/bench_scoring.py --only drift   # just table 4
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

from llmsde.config import SandboxConfig, ScoringConfig
from llmsde.sandbox import IoOp, Program, SandboxPool
from llmsde.scoring import Scorer
from llmsde.tasks import IOCase, Task, Workload

CANDIDATE = textwrap.dedent(
    """
    import re

    def tokenize(text):
        words = re.findall(r"[a-z']+", text.lower())
        counts = {}
        for w in words:
            counts[w] = counts.get(w, 0) + 1
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    """
)
REFERENCE = textwrap.dedent(
    """
    import re
    from collections import Counter

    def tokenize(text):
        counts = Counter(re.findall(r"[a-z']+", text.lower()))
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    """
)
TEXT = "the quick brown fox jumps over the lazy dog and the dog sleeps " * 40
TASK = Task(
    id="bench_tokenize",
    spec="Count words case-insensitively; return (word, count) pairs by descending count, then word.",
    entry_point="tokenize",
    tests=(
        IOCase(("a b a",), [["a", 2], ["b", 1]]),
        IOCase(("",), []),
        IOCase(("It's it's IT",), [["it", 1], ["it's", 2]][::-1]),
        IOCase(("x y z",), [["x", 1], ["y", 1], ["z", 1]]),
        IOCase(("Dog dog DOG cat",), [["dog", 3], ["cat", 1]]),
    ),
    reference=REFERENCE,
    workload=Workload(calls=((TEXT,),) * 20),
)


def timed(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def row(name: str, ms: list[float], base: float | None) -> str:
    med = statistics.median(ms)
    p95 = sorted(ms)[max(0, math.ceil(0.95 * len(ms)) - 1)]
    ratio = f"{med / base:8.2f}x" if base else "  (base)"
    return f"  {name:<52} {med:9.2f} {p95:9.2f} {ratio}"


def header(title: str) -> None:
    print(f"\n{title}\n  {'':<52} {'median ms':>9} {'p95 ms':>9} {'vs base':>9}")


def bench_overhead(n: int) -> None:
    code = "def f(x):\n    return x + 1\n"
    compiled = compile(code, "<c>", "exec")

    def in_process() -> None:
        ns: dict[str, object] = {}
        exec(compiled, ns)
        ns["f"](1)  # type: ignore[operator]

    py = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable

    def spawn() -> None:
        subprocess.run([py, "-I", "-S", "-c", code + "f(1)"], check=True)

    cfg = SandboxConfig.model_validate({"slots": 1})
    with SandboxPool(cfg) as pool:
        program = Program(code, "f", (IoOp((1,)),))
        assert pool.run(program).ops[0].value == "2"
        sandboxed = timed(lambda: pool.run(program), n)
        level = pool.isolation.level
    base = timed(spawn, max(n // 2, 10))
    header("1. Sandbox overhead per execution (one call of a trivial function)")
    print(row("in-process exec, no isolation", timed(in_process, n), statistics.median(base)))
    print(row(f"bare subprocess {py} -I -S (no isolation)", base, None))
    print(row("llmsde fork server, all layers", sandboxed, statistics.median(base)))
    print(f"  layers: {level}")


def naive_pipeline(tmp: Path, autoload: bool = False) -> None:
    """Per candidate: pytest in a subprocess, then the bandit and radon command lines.

    By default pytest plugin autoloading is off (``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1``), which makes the naive
    baseline faster and the reported speed-up conservative; ``autoload=True`` is pytest as installed here.
    """
    env = dict(os.environ)
    if not autoload:
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    (tmp / "cand.py").write_text(CANDIDATE)
    tests = ["from cand import tokenize\n"]
    for k, case in enumerate(TASK.tests):
        assert isinstance(case, IOCase)
        tests.append(f"def test_{k}():\n    assert [list(p) for p in tokenize(*{case.args!r})] == {case.expected!r}\n")
    (tmp / "test_cand.py").write_text("\n".join(tests))
    bindir = Path(sys.executable).parent
    pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp / "test_cand.py")]
    subprocess.run(pytest, cwd=tmp, capture_output=True, check=False, env=env)
    subprocess.run([str(bindir / "bandit"), "-q", "-f", "json", str(tmp / "cand.py")], capture_output=True)
    subprocess.run([str(bindir / "radon"), "cc", "-j", str(tmp / "cand.py")], capture_output=True, check=True)
    subprocess.run([str(bindir / "radon"), "mi", "-j", str(tmp / "cand.py")], capture_output=True, check=True)


def bench_score(n: int, n_naive: int) -> None:
    with Scorer(sandbox=SandboxConfig.model_validate({"slots": 1})) as scorer:
        first = scorer.score(CANDIDATE, TASK)
        assert first.functionality == 10.0, first.raw.get("tests")
        totals, excl = [], []
        for _ in range(n):
            t0 = time.perf_counter()
            r = scorer.score(CANDIDATE, TASK)
            total = (time.perf_counter() - t0) * 1000
            totals.append(total)
            excl.append(total - 1000 * float(r.raw["timing"]["workload_wall_s"]))
        builtin = _builtin_rows(scorer, max(n // 5, 3))
    with tempfile.TemporaryDirectory() as d:
        naive = timed(lambda: naive_pipeline(Path(d)), n_naive)
        naive_autoload = timed(lambda: naive_pipeline(Path(d), autoload=True), max(n_naive // 2, 2))
    base = statistics.median(naive)
    header("2. One full three-objective score (5 io tests, bandit, radon)")
    print(row("naive: pytest (no plugin autoload) + bandit + radon CLIs", naive, None))
    print(row("naive, pytest with its installed plugins autoloaded", naive_autoload, base))
    print(row("llmsde Scorer.score, excluding the workload's own time", excl, base))
    print(row("llmsde Scorer.score, including the timed workload", totals, base))
    for name, ms in builtin:
        print(row(f"  built-in {name}, excluding workload", ms, base))
    print(f"  speed-up vs naive (excluding workload): {base / statistics.median(excl):.0f}x")


def _builtin_rows(scorer: Scorer, n: int) -> list[tuple[str, list[float]]]:
    try:
        from llmsde.tasks.registry import load_tasks

        tasks = load_tasks(["builtin"])[:3]
    except Exception:  # the built-in suite is optional for this benchmark
        return []
    rows = []
    for task in tasks:
        code = task.seed_code or task.reference
        scorer.score(code, task)
        ms = []
        for _ in range(n):
            t0 = time.perf_counter()
            r = scorer.score(code, task)
            wl = r.raw.get("timing", {}).get("workload_wall_s") or 0.0
            ms.append((time.perf_counter() - t0 - wl) * 1000)
        rows.append((task.id, ms))
    return rows


def bench_stability(n: int, scorers: int) -> None:
    within, across = [], []
    for k in range(scorers):
        with Scorer(ScoringConfig.model_validate({}), SandboxConfig.model_validate({"slots": 1})) as scorer:
            effs = [scorer.score(CANDIDATE, TASK).efficiency for _ in range(n)]
        within.append(statistics.pstdev(effs) / statistics.fmean(effs))
        across.extend(effs)
        if k == 0:
            first = effs
    print("\n3. Stability of the efficiency score of one unchanged program (target CV < 5%)")
    print(f"  within one Scorer ({n} scores, reference cached):     CV {100 * within[0]:.2f}%  "
          f"mean {statistics.fmean(first):.3f}")  # fmt: skip
    cv_across = 100 * statistics.pstdev(across) / statistics.fmean(across)
    print(f"  across {scorers} fresh Scorers (reference re-measured): CV {cv_across:.2f}%  "
          f"mean {statistics.fmean(across):.3f}")  # fmt: skip


HOG = (
    "import numpy as np\n"
    "a = np.zeros(16 << 20)\n"
    "idx = np.random.default_rng(0).integers(0, a.size, 1 << 22)\n"
    "while True:\n"
    "    a[idx] += 1.0\n"
)
"""Scattered read-modify-writes over a 128 MiB array, forever: competes for the CPU, the caches and memory
bandwidth, which is what slows another process's CPU time (a bare busy loop mostly does not)."""


def _ratios(scorer: Scorer, n: int) -> tuple[list[float], list[float]]:
    ratios, ms = [], []
    for _ in range(n):
        t0 = time.perf_counter()
        timing = scorer.score(CANDIDATE, TASK).raw["timing"]
        ms.append((time.perf_counter() - t0) * 1000)
        ratios.append(float(timing["ratio"]))
    return ratios, ms


def bench_drift(n: int) -> None:
    hogs_n = os.cpu_count() or 2
    rows = []
    for label, every in (("re-timed with every candidate (default)", 1), ("timed once and kept (before)", 10**9)):
        scoring = ScoringConfig.model_validate({"reference_every": every})
        with Scorer(scoring, SandboxConfig.model_validate({"slots": 1})) as scorer:
            scorer.score(CANDIDATE, TASK)
            quiet, quiet_ms = _ratios(scorer, n)
            hogs = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(hogs_n)]
            try:
                time.sleep(0.5)
                loaded, loaded_ms = _ratios(scorer, n)
            finally:
                for hog in hogs:
                    hog.kill()
                    hog.wait()
            after, _ = _ratios(scorer, n)
        rows.append((label, quiet, loaded, after, quiet_ms, loaded_ms))
    print(f"\n4. Drift: candidate/reference ratio of one unchanged program, quiet, then {hogs_n} memory hogs")
    print(f"  {'reference':<42} {'quiet':>7} {'hogs':>7} {'after':>7} {'hogs/quiet':>10} {'ms/score':>9}")
    for label, quiet, loaded, after, quiet_ms, _ in rows:
        q, h, a = (statistics.median(v) for v in (quiet, loaded, after))
        print(f"  {label:<42} {q:7.3f} {h:7.3f} {a:7.3f} {h / q:9.2f}x {statistics.median(quiet_ms):9.1f}")
    cost = statistics.median(rows[0][4]) / statistics.median(rows[1][4])
    print(f"  cost of re-timing: {cost:.2f}x the time per score of a kept reference (quiet machine)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", choices=["drift"], help="run only this table")
    args = ap.parse_args()
    q = args.quick
    if args.only == "drift":
        print(json.dumps({"cpus": os.cpu_count(), "loadavg_1m": os.getloadavg()[0], "quick": q}))
        bench_drift(8 if q else 20)
        return
    info = {
        "cpus": os.cpu_count(),
        "loadavg_1m": os.getloadavg()[0],
        "python": sys.version.split()[0],
        "quick": q,
    }
    print(json.dumps(info))
    bench_overhead(60 if q else 300)
    bench_score(15 if q else 60, 3 if q else 8)
    bench_stability(10 if q else 30, 2 if q else 4)
    bench_drift(8 if q else 20)


if __name__ == "__main__":
    main()
