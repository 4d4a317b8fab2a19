"""What a sandboxed child runs: import the candidate, then execute the job's operations, one frame per result.

Stdlib only (imported by the fork server). Candidate code shares this interpreter, so the harness is built to
survive ordinary monkeypatching: :func:`run_ops` first builds closures over every function and object it needs
(encoder, CPU clock, ``os.write``, exception types), *before* any candidate code exists, and after each
candidate call it restores the builtins dictionary from a snapshot. Replacing ``json.dumps``, ``os.write``,
builtins, or attributes of this module therefore changes nothing the harness reports. Code that digs through
``gc`` or frames, or uses ctypes on interpreter memory, can still forge assert-mode results; io-mode results
cannot be forged, because the harness only sends return values and the trusted parent compares them (see
docs/safety.md).
"""

from __future__ import annotations

import builtins
import copy
import json
import os
import resource
import time
from typing import Any

__all__ = ["run_ops"]

_MAX_VALUE = 1 << 20
"""Largest JSON text of one return value the child may send; bigger is a failed test, not a big message."""
_DUNDERS = ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__hash__", "__bool__", "__len__",
            "__sub__", "__rsub__", "__abs__", "__float__", "__int__", "__index__", "__contains__", "__iter__",
            "__getitem__", "__round__", "__str__", "__repr__")  # fmt: skip
"""Methods through which a test's comparison can consult the returned object."""
_C_LEVEL = (type(object.__eq__), type(str.join), type(len), type((1).__eq__), type(dict.__dict__["fromkeys"]))
_BUILTINS_SNAPSHOT = dict(builtins.__dict__)


def run_ops(job: dict[str, Any], start: int, fd: int) -> None:
    """Import the candidate and run ``job['ops'][start:]``, sending one frame per step to ``fd``.

    Frames: ``{"t": "import", "ok", "error"}``, then ``{"t": "op", "i", ...}`` per operation, then ``{"t":
    "done"}``.
    """
    _build(fd)(job, start)


def _build(fd: int) -> Any:  # noqa: C901 - one closure scope on purpose (see the module docstring)
    encode = json.JSONEncoder(allow_nan=True, separators=(",", ":")).encode
    write, getrusage, self_, perf = os.write, resource.getrusage, resource.RUSAGE_SELF, time.perf_counter
    setrlimit, getrlimit, rlimit_cpu = resource.setrlimit, resource.getrlimit, resource.RLIMIT_CPU
    deepcopy, base_exc, type_, isinstance_, len_ = (
        copy.deepcopy,
        BaseException,
        type,
        isinstance,
        len,
    )
    list_, dict_, int_, float_, min_, max_, range_ = list, dict, int, float, min, max, range
    exec_, compile_, callable_, any_, memoryview_ = exec, compile, callable, any, memoryview
    real_builtins, snapshot = builtins.__dict__, dict(_BUILTINS_SNAPSHOT)
    dict_clear, dict_update, int_to_bytes = dict.clear, dict.update, int.to_bytes
    mapping_types, seq_types, c_level, dunders = dict, (list, tuple, set, frozenset), _C_LEVEL, _DUNDERS
    heaptype, max_value = 1 << 9, _MAX_VALUE

    def restore() -> None:
        dict_clear(real_builtins)
        dict_update(real_builtins, snapshot)

    def cpu() -> float:
        # Not time.process_time: once RLIMIT_CPU is set the kernel serves CLOCK_PROCESS_CPUTIME_ID from its
        # tick-granular cputimer (4 ms steps here); getrusage still sums exact per-thread runtimes.
        r = getrusage(self_)
        return float_(r.ru_utime + r.ru_stime)

    def send(obj: Any) -> None:
        body = encode(obj).encode("utf-8", "replace")
        view = memoryview_(int_to_bytes(len_(body), 4, "big") + body)
        while view:
            view = view[write(fd, view) :]

    def describe(exc: BaseException) -> str:
        try:
            text = f"{type_(exc).__name__}: {exc}"
        except base_exc:
            text = "exception whose str() failed"
        return text[:300]

    def check_plain(value: Any, depth: int = 0) -> None:
        """Refuse values whose class defines comparison/arithmetic in Python (e.g. always-equal objects)."""
        if depth > 50:
            raise TypeError("return value nested too deeply")
        cls = type_(value)
        if cls.__flags__ & heaptype:
            for name in dunders:
                for klass in cls.__mro__:
                    attr = klass.__dict__.get(name, c_level)
                    if attr is c_level:
                        continue
                    if attr is not None and not isinstance_(attr, c_level):
                        raise TypeError(f"candidate returned a {cls.__name__} whose {name} is Python code")
                    break
        if isinstance_(value, mapping_types):
            for k, v in list_(value.items())[:10000]:
                check_plain(k, depth + 1)
                check_plain(v, depth + 1)
        elif isinstance_(value, seq_types):
            for item in list_(value)[:10000]:
                check_plain(item, depth + 1)

    def guard(fn: Any) -> Any:
        def candidate(*args: Any, **kwargs: Any) -> Any:
            result = fn(*args, **kwargs)
            restore()
            check_plain(result)
            return result

        return candidate

    def limit_cpu(cpu_s: float) -> None:
        """Soft RLIMIT_CPU for the next operation; the server also polls CPU, since SIGXCPU can be ignored."""
        _, hard = getrlimit(rlimit_cpu)
        want = int_(cpu() + cpu_s) + 1
        setrlimit(rlimit_cpu, (min_(want, hard) if hard >= 0 else want, hard))

    def workload(fn: Any, calls: list[list[Any]], repeats: int, min_pass_s: float) -> dict[str, Any]:
        """Warm-up pass, then timed passes over fresh argument copies made outside the timed region.

        A pass faster than ``min_pass_s`` is looped ``inner`` times and averaged, so tiny workloads are not
        lost in the microsecond resolution of rusage; copies keep in-place mutation from changing later
        passes.
        """
        t0 = cpu()
        for args in deepcopy(calls):
            fn(*args)
        first = cpu() - t0
        inner = 1 if first >= min_pass_s else min_(int_(min_pass_s / max_(first, 1e-6)) + 1, 10000)
        times = []
        for _ in range_(repeats):
            batches = [deepcopy(calls) for _ in range_(inner)]
            t0 = cpu()
            for batch in batches:
                for args in batch:
                    fn(*args)
            times.append((cpu() - t0) / inner)
        restore()
        return {"ok": True, "times": times, "inner": inner}

    def run_op(op: dict[str, Any], fn: Any, test_ns: dict[str, Any] | None, setup_error: str | None) -> dict[str, Any]:
        kind = op["kind"]
        start = cpu()
        try:
            if kind == "io":
                value = fn(*op["args"], **op["kwargs"])
                restore()
                text = encode(value)
                if len_(text) > max_value:
                    return {"ok": False, "error": f"return value larger than {max_value} bytes of JSON"}
                return {"ok": True, "value": text, "cpu": cpu() - start}
            if kind == "assert":
                if test_ns is None:
                    return {"ok": False, "error": f"test setup failed: {setup_error}"}
                exec_(compile_(op["code"], "<test>", "exec"), dict_(test_ns))
                restore()
                return {"ok": True, "cpu": cpu() - start}
            if kind == "workload":
                return workload(fn, op["calls"], op["repeats"], op.get("min_pass_s", 0.0))
            return {"ok": False, "error": f"unknown operation {kind!r}"}
        except base_exc as exc:
            restore()
            return {"ok": False, "error": describe(exc)}

    def main(job: dict[str, Any], start: int) -> None:
        ops = job["ops"]
        ns: dict[str, Any] = {"__name__": "__candidate__", "__builtins__": dict_(snapshot)}
        limit_cpu(job["import_cpu_s"])
        fn: Any = None
        try:
            exec_(compile_(job["code"], "<candidate>", "exec"), ns)
            restore()
            fn = None if job["entry"] is None else ns.get(job["entry"])
            error = (
                None
                if job["entry"] is None or callable_(fn)
                else f"NameError: entry point {job['entry']!r} is not defined as a function"
            )
        except base_exc as exc:
            restore()
            error = describe(exc)
        send({"t": "import", "ok": error is None, "error": error})
        if error is not None:
            return
        test_ns: dict[str, Any] | None = None
        setup_error: str | None = None
        if any_(op["kind"] == "assert" for op in ops[start:]):
            test_ns = {"__name__": "__test__", "__builtins__": dict_(snapshot)}
            try:
                exec_(compile_(job.get("setup") or "", "<test_setup>", "exec"), test_ns)
                test_ns["candidate"] = test_ns[job["entry"]] = guard(fn)
            except base_exc as exc:
                test_ns, setup_error = None, describe(exc)
            restore()
        for i in range_(start, len_(ops)):
            limit_cpu(ops[i]["cpu_s"])
            t0 = perf()
            result = run_op(ops[i], fn, test_ns, setup_error)
            result["t"], result["i"], result["wall"] = "op", i, perf() - t0
            send(result)
        send({"t": "done"})

    return main
