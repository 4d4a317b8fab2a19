"""The study plan: which sessions exist, and the seed of every session and call.

Seeds come from a stable hash (SHA-256), never from Python's ``hash`` or a shared random stream, so a
session's seed depends only on (study seed, task id, strategy, replicate): adding a task, changing the
concurrency or resuming after a crash leaves every other session's chain identical.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from llmsde.errors import ConfigError
from llmsde.store.sqlite import SessionRow

__all__ = ["call_seed", "plan_sessions", "session_id", "session_seed"]

_SEED_MASK = 2**31 - 1
"""Seeds are kept in [0, 2**31 - 1): every OpenAI-compatible server accepts a signed 32-bit seed."""


def session_seed(study_seed: int, task_id: str, strategy: str, replicate: int) -> int:
    """The seed of one session, a stable hash of what identifies it."""
    key = f"{study_seed}\x1f{task_id}\x1f{strategy}\x1f{replicate}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") % _SEED_MASK


def call_seed(seed: int, k: int) -> int:
    """The ``GenerationParams.seed`` of iteration k of a session with seed ``seed``."""
    return (seed + k) % _SEED_MASK


def session_id(strategy: str, task_id: str, replicate: int, model: str = "") -> str:
    """Readable, unique session id ``STRATEGY/TASK/REPLICATE``, prefixed ``MODEL/`` in a multi-model study."""
    plain = f"{strategy}/{task_id}/{replicate}"
    return f"{model}/{plain}" if model else plain


def plan_sessions(
    strategies: Sequence[str],
    task_ids: Sequence[str],
    sessions_per_strategy: int,
    study_seed: int,
    models: Sequence[str] = ("",),
) -> list[SessionRow]:
    """``sessions_per_strategy`` sessions per strategy and model, spread over the tasks round-robin.

    Session j of a strategy runs task ``j % n_tasks`` as replicate ``j // n_tasks``. Sessions are ordered
    j-major (all strategies and models of slot j, then slot j + 1), so a partial run is balanced across
    strategies, models and tasks. The seed leaves the model out on purpose: every model gets the same tasks,
    replicates and call seeds, so the models are compared on paired sessions.
    """
    if not strategies:
        raise ConfigError("no strategies selected", "pass --strategies, e.g. EF,SF")
    if not task_ids:
        raise ConfigError("no tasks selected", "pass --tasks, e.g. builtin")
    if (
        len(set(strategies)) != len(strategies)
        or len(set(task_ids)) != len(task_ids)
        or len(set(models)) != len(models)
    ):
        raise ConfigError("strategies, tasks and models must not repeat", "list each name once")
    rows: list[SessionRow] = []
    for j in range(sessions_per_strategy):
        task_id = task_ids[j % len(task_ids)]
        replicate = j // len(task_ids)
        for strategy in strategies:
            seed = session_seed(study_seed, task_id, strategy, replicate)
            for model in models:
                rows.append(
                    SessionRow(
                        session_id=session_id(strategy, task_id, replicate, model),
                        ordinal=len(rows),
                        task_id=task_id,
                        strategy=strategy,
                        replicate=replicate,
                        seed=seed,
                        model=model,
                    )
                )
    return rows
