"""Built-in tasks whose seed is both insecure and wasteful, so security and speed pull on the same code."""

from __future__ import annotations

from llmsde.tasks.builtin._data import Lcg
from llmsde.tasks.model import IOCase, Task, Workload

__all__ = ["mixed_tasks"]

_HISTORY_SEED = """import pickle


def replay_history(operations):
    state = {}
    snapshots = []
    for op in operations:
        if op[0] == "set":
            snapshots.append(pickle.loads(pickle.dumps(state)))
            state[op[1]] = op[2]
        elif op[0] == "del":
            snapshots.append(pickle.loads(pickle.dumps(state)))
            state.pop(op[1], None)
        elif op[0] == "undo" and snapshots:
            state = snapshots.pop()
    return state
"""

_HISTORY_REF = '''_MISSING = object()


def replay_history(operations):
    """Apply set/del/undo; the undo log keeps only (key, previous value), never a copy of the whole state."""
    state = {}
    log = []
    for op in operations:
        if op[0] == "set":
            log.append((op[1], state.get(op[1], _MISSING)))
            state[op[1]] = op[2]
        elif op[0] == "del":
            log.append((op[1], state.get(op[1], _MISSING)))
            state.pop(op[1], None)
        elif op[0] == "undo" and log:
            key, old = log.pop()
            if old is _MISSING:
                state.pop(key, None)
            else:
                state[key] = old
    return state
'''


def _history_workload() -> Workload:
    rng = Lcg(31)
    keys = [f"k{i}" for i in range(120)]
    ops: list[list[object]] = []
    for _ in range(1500):
        roll = rng.below(10)
        if roll < 6:
            ops.append(["set", rng.pick(keys), [rng.below(100) for _ in range(3)]])
        elif roll < 8:
            ops.append(["del", rng.pick(keys)])
        else:
            ops.append(["undo"])
    small = []
    for _ in range(400):
        ops_small: list[list[object]] = []
        for _ in range(20):
            roll = rng.below(10)
            key = rng.pick(keys[:8])
            ops_small.append(["set", key, rng.below(50)] if roll < 6 else ["del", key] if roll < 8 else ["undo"])
        small.append((ops_small,))
    return Workload(calls=((ops,), *small))


_RPN_SEED = """def evaluate_rpn(tokens):
    stack = []
    for tok in tokens:
        if tok in ("+", "-", "*", "/"):
            b = stack.pop()
            a = stack.pop()
            op = "//" if tok == "/" else tok
            stack.append(eval(f"{a} {op} {b}"))
        else:
            stack.append(int(tok))
    return stack[-1]
"""

_RPN_REF = '''import operator

_OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.floordiv}


def evaluate_rpn(tokens):
    """Evaluate integer RPN with a table of operator functions; tokens are never executed as code."""
    stack = []
    for tok in tokens:
        func = _OPS.get(tok)
        if func is None:
            stack.append(int(tok))
        else:
            b = stack.pop()
            a = stack.pop()
            stack.append(func(a, b))
    return stack[-1]
'''


def _rpn_workload() -> Workload:
    rng = Lcg(32)
    calls = []
    for _ in range(40):
        tokens = [str(1 + rng.below(9))]
        for _ in range(100):
            tokens += [str(1 + rng.below(9)), str(1 + rng.below(9)), rng.pick(["*", "/", "+", "-"])]
            tokens.append(rng.pick(["+", "-"]))
        calls.append((tokens,))
    return Workload(calls=tuple(calls))


def mixed_tasks() -> tuple[Task, ...]:
    """Build the tasks (workloads are generated here, on first use, not at import)."""
    return (
        Task(
            id="replay_history",
            spec="Write replay_history(operations) that starts from an empty dict and applies operations: "
            "['set', key, value], ['del', key] (missing keys are ignored) and ['undo'], which reverts"
            " the most recent set/del not yet undone (no-op when there is none). Return the final "
            "dict.",
            entry_point="replay_history",
            seed_code=_HISTORY_SEED,
            reference=_HISTORY_REF,
            tests=(
                IOCase(args=([],), expected={}, name="empty"),
                IOCase(args=([["set", "a", 1], ["set", "b", [2]]],), expected={"a": 1, "b": [2]}, name="set"),
                IOCase(
                    args=([["set", "a", 1], ["set", "a", 2], ["undo"]],),
                    expected={"a": 1},
                    name="undo-overwrite",
                ),
                IOCase(args=([["set", "a", 1], ["del", "a"], ["undo"]],), expected={"a": 1}, name="undo-del"),
                IOCase(args=([["undo"], ["set", "x", 0], ["undo"], ["undo"]],), expected={}, name="undo-empty"),
                IOCase(
                    args=([["del", "q"], ["set", "q", 5], ["undo"], ["undo"]],),
                    expected={},
                    name="del-missing",
                ),
            ),
            workload=_history_workload(),
            cwe=("CWE-502",),
            tags=("insecure-seed", "efficiency-trap"),
        ),
        Task(
            id="evaluate_rpn",
            spec="Write evaluate_rpn(tokens) that evaluates an integer expression in reverse Polish "
            "notation. Tokens are integers (possibly negative, e.g. '-3') or the operators + - * and "
            "/, where / is floor division. Return the value left on the stack.",
            entry_point="evaluate_rpn",
            seed_code=_RPN_SEED,
            reference=_RPN_REF,
            tests=(
                IOCase(args=(["4"],), expected=4, name="single"),
                IOCase(args=(["2", "3", "+"],), expected=5, name="add"),
                IOCase(args=(["2", "3", "4", "*", "+"],), expected=14, name="precedence"),
                IOCase(args=(["7", "2", "/"],), expected=3, name="floordiv"),
                IOCase(args=(["-7", "2", "/"],), expected=-4, name="negative-floordiv"),
                IOCase(args=(["5", "-3", "-"],), expected=8, name="negative-operand"),
            ),
            workload=_rpn_workload(),
            cwe=("CWE-95",),
            tags=("insecure-seed",),
        ),
    )
