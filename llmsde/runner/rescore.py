"""Re-score a finished (or stopped) run with the current scorers, without calling any model.

Why: scorers improve (a bandit upgrade, a new efficiency formula, a fixed test), and the code a model wrote is
the expensive part of a study. ``rescore`` copies a run's sessions and iterations - prompts, replies, code,
token usage, latency - into a *new* run directory and scores each stored piece of code again with the scorer
built from the run's own ``[scoring]``/``[sandbox]`` config, so the two runs can be fitted and compared side
by side. The new directory records where it came from in ``rescore.json`` (source directory, run id, time,
versions).

Iterations whose model call failed (``error`` set, no code) have nothing to score and keep their stored
scores.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmsde._atomic import write_text_atomic
from llmsde.config import build_config
from llmsde.errors import RunDirError
from llmsde.runner.session import FINISH_NOTES
from llmsde.runner.study import _versions, new_run_id
from llmsde.store.sqlite import IterationRecord, RunManifest, RunStore, utc_now

if TYPE_CHECKING:
    from llmsde.scoring.result import ScoreResult

__all__ = ["PROVENANCE_FILENAME", "RescoreSummary", "rescore_run"]

PROVENANCE_FILENAME = "rescore.json"


@dataclass(frozen=True, slots=True)
class RescoreSummary:
    """What ``rescore`` wrote: the new run, its source, and how many iterations were scored again."""

    run_dir: str
    run_id: str
    source_run_dir: str
    source_run_id: str
    iterations: int
    rescored: int
    """Iterations scored again; the rest (failed model calls) kept their stored scores."""
    changed: int
    """Rescored iterations whose objective vector differs from the stored one (NaN equals NaN)."""
    isolation_level: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (the ``--json`` output)."""
        return {
            "run_dir": self.run_dir,
            "run_id": self.run_id,
            "source_run_dir": self.source_run_dir,
            "source_run_id": self.source_run_id,
            "iterations": self.iterations,
            "rescored": self.rescored,
            "changed": self.changed,
            "isolation_level": self.isolation_level,
        }


def _same(a: float, b: float) -> bool:
    return (a != a and b != b) or abs(a - b) < 1e-9


def _same_vector(rec: dict[str, Any], new: IterationRecord) -> bool:
    old = (rec["security"], rec["efficiency"], rec["functionality"])
    return all(_same(a, b) for a, b in zip(old, (new.security, new.efficiency, new.functionality), strict=True))


def _new_record(rec: dict[str, Any], result: ScoreResult | None) -> IterationRecord:
    """The stored iteration with new scores (or its old ones when there was nothing to score)."""
    if result is None:
        scores = (rec["security"], rec["efficiency"], rec["functionality"])
        reason, raw = rec["reason"], {}
    else:
        note = FINISH_NOTES.get(rec.get("finish_reason") or "")
        scores, raw = result.vector, result.raw
        reason = "; ".join(r for r in (note, result.reason) if r) or None
    return IterationRecord(
        session_id=rec["session_id"],
        k=rec["k"],
        security=scores[0],
        efficiency=scores[1],
        functionality=scores[2],
        prompt=rec["prompt"],
        response=rec["response"],
        code=rec["code"],
        reason=reason,
        raw=raw,
        prompt_tokens=rec["prompt_tokens"],
        completion_tokens=rec["completion_tokens"],
        latency_s=rec["latency_s"],
        retries=rec["retries"],
        cost_usd=rec["cost_usd"],
        model_id=rec["model_id"],
        system_fingerprint=rec["system_fingerprint"],
        error=rec["error"],
        finish_reason=rec.get("finish_reason"),
    )


def _records(store: RunStore) -> list[dict[str, Any]]:
    """Stored iterations with both their scores/metadata and their prompt, reply and code."""
    rows = {(r["session"], r["k"]): r for r in store.iteration_rows()}
    out = []
    for session in store.sessions():
        for item in store.session_iterations(session.session_id):
            row = rows[(session.session_id, item["k"])]
            out.append({**row, **item, "session_id": session.session_id, "task_id": session.task_id})
    return out


def rescore_run(
    run_dir: str | Path,
    out: str | Path | None = None,
    *,
    jobs: int = 2,
    on_progress: Callable[[int, int], None] | None = None,
) -> RescoreSummary:
    """Score every stored iteration of ``run_dir`` again into a new run (default: a new id next to it)."""
    from llmsde.scoring import Scorer
    from llmsde.tasks import load_tasks

    src = Path(run_dir)
    with RunStore.open(src) as source:
        manifest = source.manifest()
        sessions = source.sessions()
        records = _records(source)
    config = build_config(json.loads(json.dumps(manifest.config)), source=f"{src} (stored config)")
    needed = {s.task_id for s in sessions}
    tasks = {t.id: t for t in load_tasks(config.tasks) if t.id in needed}
    missing = sorted(needed - set(tasks))
    if missing:
        raise RunDirError(
            f"the run's tasks {', '.join(missing)} are no longer available from {config.tasks}",
            "restore the task files the run was started with",
        )
    run_id = new_run_id()
    target = Path(out) if out is not None else src.parent / run_id
    new_manifest = RunManifest(
        run_id=run_id,
        config=manifest.config,
        versions=_versions(),
        provider=manifest.provider,
        model=manifest.model,
        base_url=manifest.base_url,
        seed=manifest.seed,
    )
    todo = [r for r in records if not (r["code"] is None and r["error"])]
    with Scorer(config.scoring, config.sandbox) as scorer:
        level = str(scorer.isolation.level)
        with RunStore.create(target, manifest.config, new_manifest) as store:
            store.set_isolation(level, [str(w) for w in scorer.isolation.warnings])
            store.add_sessions(sessions)
            write_text_atomic(
                target / PROVENANCE_FILENAME,
                json.dumps(
                    {
                        "source_run_dir": str(src.resolve()),
                        "source_run_id": manifest.run_id,
                        "source_versions": manifest.versions,
                        "rescored_at": utc_now(),
                        "versions": new_manifest.versions,
                    },
                    indent=2,
                )
                + "\n",
            )
            changed = 0
            try:
                with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
                    futures = {id(r): pool.submit(scorer.score, r["code"], tasks[r["task_id"]]) for r in todo}
                    for done, rec in enumerate(records, start=1):
                        fut = futures.get(id(rec))
                        result = None if fut is None else fut.result()
                        record = _new_record(rec, result)
                        changed += result is not None and not _same_vector(rec, record)
                        store.commit_iteration(record)
                        if on_progress is not None:
                            on_progress(done, len(records))
            except BaseException:
                store.finish("failed")
                raise
            store.finish(manifest.status)
    return RescoreSummary(
        run_dir=str(target),
        run_id=run_id,
        source_run_dir=str(src),
        source_run_id=manifest.run_id,
        iterations=len(records),
        rescored=len(todo),
        changed=changed,
        isolation_level=level,
    )
