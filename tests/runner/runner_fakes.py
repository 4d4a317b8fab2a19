"""Small fakes for runner tests: two tasks, a scripted provider, a deterministic scorer, one strategy.

They stand in for one boundary each (the model, the sandbox scorer); the store is the real SQLite store.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from llmsde.providers.base import EndpointUnavailable
from llmsde.scoring.result import ScoreResult
from llmsde.tasks.model import IOCase, Task
from llmsde.types import ChatMessage, Completion, GenerationParams, Usage

TASKS = {
    "add": Task("add", "Add two numbers.", "add", (IOCase((1, 2), 3),), seed_code="def add(a, b):\n    return a + b\n"),
    "neg": Task("neg", "Negate a number.", "neg", (IOCase((1,), -1),), seed_code=None),
}


def extract(reply: str, entry_point: str | None) -> str | None:
    m = re.search(r"```python\n(.*?)```", reply, re.S)
    return m.group(1) if m else None


@dataclass
class FakeStrategy:
    name: str = "EF"
    system: str | None = "be terse"

    def messages(self, task: Task, code: str, k: int, seed: int) -> list[ChatMessage]:
        msgs = [ChatMessage("system", self.system)] if self.system else []
        return msgs + [ChatMessage("user", f"[{self.name}] improve {task.id} k={k}:\n{code}")]


@dataclass
class ScriptedProvider:
    """Replies with code that records the call seed. Every ``fail_every``-th call is a context-length error
    (data), every ``no_code_every``-th reply holds no code; after ``trip_after`` calls every call raises
    EndpointUnavailable with the breaker open, and ``down_calls`` lists single calls (1-based) whose endpoint
    fails."""

    name: str = "scripted"
    fail_every: int = 0
    no_code_every: int = 0
    trip_after: int | None = None
    down_calls: frozenset[int] = frozenset()
    calls: list[tuple[list[ChatMessage], GenerationParams]] = field(default_factory=list)
    closed: bool = False

    async def complete(self, messages: Sequence[ChatMessage], params: GenerationParams) -> Completion:
        self.calls.append((list(messages), params))
        n = len(self.calls)
        if self.trip_after is not None and n > self.trip_after:
            raise EndpointUnavailable("endpoint down", "scripted", breaker_open=True)
        if n in self.down_calls:
            raise EndpointUnavailable("connection refused", "scripted")
        if self.fail_every and n % self.fail_every == 0:
            return Completion(text="", error="context length exceeded: HTTP 400: too long")
        if self.no_code_every and n % self.no_code_every == 0:
            return Completion(text="I cannot help with that.", model="fake-1")
        entry = "neg" if "neg" in messages[-1].content else "add"
        expr = "-a" if entry == "neg" else "a + b"
        body = f"def {entry}(a, b=0):\n    return {expr}  # s{(params.seed or 0) % 97}\n"
        return Completion(
            text=f"Here:\n```python\n{body}```", model="fake-1", usage=Usage(10, 20), system_fingerprint="fp"
        )

    async def aclose(self) -> None:
        self.closed = True


class FakeScorer:
    """Security from the code's length, functionality 10; code containing 'CRASH' makes it raise."""

    def score(self, code: str | None, task: Task) -> ScoreResult:
        if code is None:
            return ScoreResult(math.nan, math.nan, 0.0, reason="no code")
        if "CRASH" in code:
            raise RuntimeError("sandbox exploded")
        return ScoreResult(float(len(code) % 10), 5.0, 10.0, raw={"len": len(code)})
