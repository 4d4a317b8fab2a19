"""The Ray executor: a pool of scoring actors on a Ray cluster, fed from the driver's event loop.

The driver keeps everything that must be single (run directory, the one SQLite writer, plan, progress, resume,
and the model calls with their global concurrency and rate limits: a limiter per actor would multiply the
limit by the number of actors). Actors only score. Each holds a warm Scorer; the driver keeps up to
``in_flight_per_worker`` scorings queued on each, awaits the results as they stream back, and the session loop
commits them in order of k as it does locally.

A scoring lost with its actor (SIGKILL, node loss) raises ``RayActorError`` here and is sent to another actor
at once. The driver replaces the dead actor with a new one (its Scorer warm again, the task set fetched from the
object store where the driver keeps it) and gives the slot back when it answers; Ray's own restarts and task
retries are off (``max_restarts=0``, ``max_task_retries=0``), so nothing waits for a restart and no lost
scoring runs twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Callable, Mapping
from typing import Any

from llmsde.config import StudyConfig
from llmsde.errors import ConfigError, ExecutorError, SandboxError
from llmsde.runner.executors._reaper import Reaper, children_of
from llmsde.runner.executors.base import Scored, WorkerInfo, scorer_error
from llmsde.runner.executors.local import default_score_slots
from llmsde.runner.executors.worker import ScoringWorker
from llmsde.tasks.model import Task

__all__ = ["RayExecutor", "import_ray"]

_STARTUP_TIMEOUT_S = 180.0


def import_ray() -> Any:
    """Ray itself, or a one-line install hint: Ray is an optional extra and heavy to import."""
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "--executor ray needs Ray, which is not installed", "pip install 'llmsde[ray]' (or use --executor local)"
        ) from None
    return ray


def check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail fast on an address nobody listens at: ``ray.init`` would wait for it for minutes."""
    if address == "auto":
        return
    hostport = address.removeprefix("ray://").rstrip("/")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"Ray address {address!r} is not HOST:PORT", "e.g. --ray-address 10.0.0.5:6379")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as err:
        raise ConfigError(
            f"cannot reach the Ray cluster at {address}: {err.strerror or err}",
            "start it with `ray start --head` or fix --ray-address",
        ) from None


class _Actor:
    """One pool position: the current actor handle, and the replacement under way when it died."""

    __slots__ = ("handle", "index", "replacing")

    def __init__(self, handle: Any, index: int) -> None:
        self.handle, self.index = handle, index
        self.replacing: asyncio.Future[bool] | None = None


class RayExecutor:
    """Scoring actors on a Ray cluster; build with :meth:`start`, always :meth:`close`.

    A Ray instance started for the run (no address) has Ray's usage reporting off unless the environment
    says otherwise: a study must not phone home because it was asked to use the local cores.
    """

    kind = "ray"

    def __init__(self, ray: Any, actors: list[Any], infos: list[WorkerInfo], tasks: Mapping[str, Task]) -> None:
        self._ray = ray
        self._actors = [_Actor(h, i) for i, h in enumerate(actors)]
        self._infos = infos
        self._tasks = dict(tasks)
        self._depth = 0
        self._tokens: asyncio.Queue[_Actor | None] | None = None
        self._live_tokens = 0
        self._revivals: set[asyncio.Task[None]] = set()
        self._tasks_ref: Any = None
        """Held for the executor's life: replacement actors get the tasks through it."""
        self._new_actor: Callable[[], Any] | None = None
        self._replacements_left = 0
        self._reaper: Reaper | None = None
        self.owns_ray = False
        self.requeued = 0
        """Scorings sent to another actor because theirs died."""

    @classmethod
    def start(cls, config: StudyConfig, tasks: Mapping[str, Task]) -> RayExecutor:
        """Join (or start) Ray, start the actors and wait until each has its sandbox up."""
        ray = import_ray()
        ecfg = config.executor
        if ecfg.address is not None:
            check_reachable(ecfg.address)
        owns = not ray.is_initialized()
        started: list[int] = []
        if owns:
            kwargs: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,
                "logging_level": "error",
                "runtime_env": dict(ecfg.runtime_env) or None,
            }
            if ecfg.address is None:
                os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
                kwargs.update(num_cpus=ecfg.workers or default_score_slots(), _node_ip_address="127.0.0.1")
            before = set(children_of(os.getpid()))
            try:
                ray.init(address=ecfg.address, **kwargs)
            except (ConnectionError, RuntimeError, ValueError, ray.exceptions.RayError) as err:
                raise ConfigError(
                    f"cannot join the Ray cluster at {ecfg.address or 'a new local instance'}: {_last_line(err)}",
                    "check --ray-address and the cluster's auth token (docs/scale.md)",
                ) from None
            started = [pid for pid in children_of(os.getpid()) if pid not in before]
        reaper = Reaper(started if owns and ecfg.address is None else [])
        try:
            executor = cls._spawn(ray, config, tasks)
        except BaseException:
            if owns:
                ray.shutdown()
            reaper.release()
            raise
        executor.owns_ray = owns
        executor._reaper = reaper
        return executor

    @classmethod
    def _spawn(cls, ray: Any, config: StudyConfig, tasks: Mapping[str, Task]) -> RayExecutor:
        ecfg = config.executor
        cpus = float(ray.cluster_resources().get("CPU", 1.0))
        n = ecfg.workers or max(1, int(cpus // ecfg.cpus_per_worker))
        remote = ray.remote(ScoringWorker).options(num_cpus=ecfg.cpus_per_worker, max_restarts=0, max_task_retries=0)
        tasks_ref = ray.put(dict(tasks))

        def new_actor() -> Any:
            return remote.remote(config.scoring, config.sandbox, tasks_ref)

        actors = [new_actor() for _ in range(n)]
        try:
            infos: list[WorkerInfo] = ray.get([a.info.remote() for a in actors], timeout=_STARTUP_TIMEOUT_S)
        except ray.exceptions.GetTimeoutError:
            cls._kill(ray, actors)
            raise ConfigError(
                f"the Ray cluster did not start {n} scoring workers within {_STARTUP_TIMEOUT_S:g}s "
                f"({cpus:g} CPUs, {ecfg.cpus_per_worker:g} per worker)",
                "lower executor.workers or add nodes",
            ) from None
        except ray.exceptions.RayError as err:
            cls._kill(ray, actors)
            raise _worker_start_error(err) from None
        executor = cls(ray, actors, infos, tasks)
        executor._depth = ecfg.in_flight_per_worker
        executor._tasks_ref = tasks_ref
        executor._new_actor = new_actor
        executor._replacements_left = 3 * n
        return executor

    @property
    def workers(self) -> tuple[WorkerInfo, ...]:
        """Every actor and the isolation its sandbox achieved."""
        return tuple(self._infos)

    def _pool(self) -> asyncio.Queue[_Actor | None]:
        if self._tokens is None:
            self._tokens = asyncio.Queue()
            for _ in range(self._depth):
                for actor in self._actors:
                    self._tokens.put_nowait(actor)
            self._live_tokens = self._depth * len(self._actors)
        return self._tokens

    async def score(self, code: str | None, task: Task) -> Scored:
        """Score on the next free actor; if that actor dies meanwhile, score again on another one."""
        pool = self._pool()
        arg: Task | str = task.id if self._tasks.get(task.id) is task else task
        for _ in range(len(self._actors) + 3):
            actor = await pool.get()
            if actor is None:
                pool.put_nowait(None)
                break
            handle = actor.handle
            try:
                scored: Scored = await handle.score.remote(code, arg)
            except self._ray.exceptions.RayActorError:
                self.requeued += 1
                self._revive(actor, handle)
                continue
            except self._ray.exceptions.RayTaskError as err:
                pool.put_nowait(actor)
                return scorer_error(err, self._infos[actor.index].label)
            except BaseException:
                pool.put_nowait(actor)
                raise
            pool.put_nowait(actor)
            return scored
        raise ExecutorError(
            "scoring failed on every Ray worker it was sent to (the workers keep dying)",
            "check the nodes' logs (`ray logs`), then `llmsde run --resume RUN`",
        )

    def _revive(self, actor: _Actor, failed: Any) -> None:
        """Give back the slot a failed scoring held once ``failed`` (the dead handle) has been replaced by a new
        actor with its sandbox up; the first failure starts the replacement (at most three times the pool size
        per run), later ones wait for it. A slot whose actor cannot be replaced is gone for good."""

        async def give_back() -> None:
            if actor.handle is failed:
                if actor.replacing is None:
                    actor.replacing = asyncio.ensure_future(self._replace(actor))
                ok = await asyncio.shield(actor.replacing)
            else:
                ok = True
            if ok:
                self._pool().put_nowait(actor)
            else:
                self._live_tokens -= 1
                if self._live_tokens <= 0:
                    self._pool().put_nowait(None)

        task = asyncio.get_running_loop().create_task(give_back())
        self._revivals.add(task)
        task.add_done_callback(self._revivals.discard)

    async def _replace(self, actor: _Actor) -> bool:
        try:
            if self._new_actor is None or self._replacements_left <= 0:
                return False
            self._replacements_left -= 1
            handle = self._new_actor()
            try:
                info: WorkerInfo = await asyncio.wait_for(_awaitable(handle.info.remote()), _STARTUP_TIMEOUT_S)
            except (self._ray.exceptions.RayError, TimeoutError):
                self._kill(self._ray, [handle])
                return False
            self._kill(self._ray, [actor.handle])
            actor.handle = handle
            self._infos[actor.index] = info
            return True
        finally:
            actor.replacing = None

    def close(self) -> None:
        """Stop the sandboxes, end the actors, and stop Ray if this run started it; idempotent."""
        for task in list(self._revivals):
            task.cancel()
        handles = [a.handle for a in self._actors]
        self._actors = []
        with contextlib.suppress(Exception):
            self._ray.get([h.close.remote() for h in handles], timeout=10)
        self._kill(self._ray, handles)
        if self.owns_ray:
            self.owns_ray = False
            self._ray.shutdown()
        if self._reaper is not None:
            self._reaper.release()

    @staticmethod
    def _kill(ray: Any, handles: list[Any]) -> None:
        for handle in handles:
            with contextlib.suppress(Exception):
                ray.kill(handle, no_restart=True)


async def _awaitable(ref: Any) -> Any:
    """An ObjectRef as a coroutine (``asyncio.wait_for`` wants one); a node lost for good must not hang the run."""
    return await ref


def _last_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[-1][:300] if text else type(err).__name__


def _worker_start_error(err: BaseException) -> BaseException:
    """A worker that could not start, as one line: the sandbox's own error when that was the cause."""
    text = str(err)
    marker = "SandboxError: "
    if marker in text:
        line = text.split(marker, 1)[1].splitlines()[0]
        return SandboxError(
            f"a Ray worker's sandbox: {line}", "run the workers as root on Linux, or drop --require-isolation"
        )
    return ConfigError(
        f"a Ray scoring worker did not start: {_last_line(err)}", "check the nodes (llmsde installed? `ray logs`)"
    )
