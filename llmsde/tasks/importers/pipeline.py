"""The import pipeline behind ``llmsde tasks import``: read, convert, verify, write all-or-nothing.

Malformed records stop the import with a TaskFileError naming the line; records that are well-formed but
cannot become sound tasks (ambiguous entry point, reference failing its own tests, duplicate id) are skipped
and reported. Nothing is written until every task is verified, and then the directory appears in one rename.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmsde.errors import ConfigError, TaskFileError
from llmsde.tasks.importers.common import Converted, Record, Skip, read_records
from llmsde.tasks.importers.humaneval import convert_humaneval
from llmsde.tasks.importers.mbpp import convert_mbpp
from llmsde.tasks.importers.security_seed import convert_security_seed
from llmsde.tasks.importers.verify import ScoreFn, verify_tasks
from llmsde.tasks.io import write_task_dir

__all__ = ["FORMATS", "ImportReport", "convert_file", "default_out_dir", "detect_format", "import_dataset"]

Converter = Callable[..., Converted]

FORMATS: dict[str, Converter] = {
    "humaneval": convert_humaneval,
    "mbpp": convert_mbpp,
    "security-seed": convert_security_seed,
}
"""Format name -> converter; ``auto`` picks one from the fields of the first record."""


@dataclass(frozen=True, slots=True)
class ImportReport:
    """The outcome of one import, as the CLI prints it and ``--json`` emits it."""

    source_file: str
    format: str
    out_dir: str | None
    """The directory written; None for a dry run."""
    imported: int
    skipped: tuple[Skip, ...]
    reference_passed: int | None
    """References that pass their own tests with a running workload; None when not verified."""
    reference_total: int | None
    notes: tuple[str, ...] = ()
    task_ids: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (the ``--json`` output)."""
        rate = (
            None
            if self.reference_passed is None or not self.reference_total
            else self.reference_passed / self.reference_total
        )
        return {
            "source_file": self.source_file,
            "format": self.format,
            "out_dir": self.out_dir,
            "imported": self.imported,
            "skipped": [s.to_dict() for s in self.skipped],
            "reference_passed": self.reference_passed,
            "reference_total": self.reference_total,
            "reference_pass_rate": rate,
            "notes": list(self.notes),
            "task_ids": list(self.task_ids),
        }


def detect_format(record: Record, path: Path) -> str:
    """The format whose characteristic fields the record has; a TaskFileError when none matches."""
    keys = set(record.data)
    if {"canonical_solution", "entry_point"} <= keys:
        return "humaneval"
    if "test_list" in keys and "code" in keys:
        return "mbpp"
    if keys & {"Insecure_code", "insecure_code"}:
        return "security-seed"
    raise TaskFileError(
        f"{path} {record.where}: cannot tell the dataset format from fields {', '.join(sorted(keys)[:8])}",
        f"pass --format ({', '.join(FORMATS)}) and, if needed, --map field=column",
    )


def default_out_dir(path: Path) -> Path:
    """``tasks/<file stem>`` in the working directory (``HumanEval.jsonl.gz`` -> ``tasks/HumanEval``)."""
    name = path.name
    for suffix in (".gz", ".jsonl", ".json"):
        name = name.removesuffix(suffix)
    return Path("tasks") / (name or "imported")


def convert_file(
    path: Path,
    fmt: str = "auto",
    *,
    limit: int | None = None,
    license: str | None = None,
    mapping: dict[str, str] | None = None,
) -> tuple[str, Converted]:
    """Read and convert a dataset file without verifying or writing; returns (format used, result)."""
    if fmt != "auto" and fmt not in FORMATS:
        raise ConfigError(f"unknown format '{fmt}'", f"known formats: auto, {', '.join(FORMATS)}")
    if limit is not None and limit < 1:
        raise ConfigError(f"--limit must be at least 1 (got {limit})", "omit it to import every record")
    records = read_records(path)
    if limit is not None:
        records = records[:limit]
    if fmt == "auto":
        fmt = detect_format(records[0], path)
    source = f"{fmt}:{path.name}"
    converted = FORMATS[fmt](records, path=path, source=source, license=license, mapping=mapping)
    seen: set[str] = set()
    unique = []
    for task in converted.tasks:
        if task.id in seen:
            converted.skipped.append(Skip(task.id, "duplicate task id (the first record with it was kept)"))
            continue
        seen.add(task.id)
        unique.append(task)
    converted.tasks = unique
    return fmt, converted


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def import_dataset(
    path: str | Path,
    *,
    out: str | Path | None = None,
    fmt: str = "auto",
    limit: int | None = None,
    license: str | None = None,
    mapping: dict[str, str] | None = None,
    verify: bool = True,
    keep_failing: bool = False,
    overwrite: bool = False,
    dry_run: bool = False,
    jobs: int = 2,
    score: ScoreFn | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Import a dataset file into a task directory; see the module docstring for what is skipped and why.

    ``keep_failing`` keeps tasks whose reference fails its tests (they still count in the pass rate);
    ``dry_run`` converts and verifies but writes nothing. ``score`` replaces the sandboxed scorer (tests
    only).
    """
    src = Path(path)
    target = Path(out) if out is not None else default_out_dir(src)
    if target.exists() and not overwrite and not dry_run:
        raise TaskFileError(f"{target} already exists", "pass --force to replace it, or choose another --out")
    fmt, conv = convert_file(src, fmt, limit=limit, license=license, mapping=mapping)
    notes = list(conv.notes)
    tasks = conv.tasks
    skipped = list(conv.skipped)
    passed: int | None = None
    total: int | None = None
    if verify:
        verdicts = verify_tasks(tasks, jobs=jobs, score=score, on_progress=on_progress)
        with_ref = [v for v in verdicts if v.has_reference]
        total = len(with_ref)
        passed = sum(v.ok for v in with_ref)
        bad = {v.task_id: v.problem for v in verdicts if not v.ok}
        for v in verdicts:
            if not v.ok and not v.has_reference:
                notes.append(f"{v.task_id}: {v.problem}")
        no_eff = sum(math.isnan(v.efficiency) for v in verdicts if v.ok and not v.has_reference)
        if no_eff:
            notes.append(f"{no_eff} seed(s) got no efficiency score (nothing to time: no tests, no workload)")
        if not keep_failing:
            dropped = {v.task_id for v in with_ref if not v.ok}
            skipped.extend(Skip(t.id, bad[t.id]) for t in tasks if t.id in dropped)
            tasks = [t for t in tasks if t.id not in dropped]
        else:
            notes.extend(f"kept {v.task_id}: {v.problem}" for v in with_ref if not v.ok)
    if not tasks:
        first = "; ".join(f"{s.id}: {s.reason}" for s in skipped[:3])
        raise TaskFileError(f"no task of {src} could be imported ({first})", "check --format, --map and the file")
    written: Path | None = None
    if not dry_run:
        manifest = {
            "source_file": str(src.resolve()),
            "source_sha256": _sha256(src),
            "format": fmt,
            "license": license,
            "imported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "llmsde_version": _version(),
            "limit": limit,
            "map": dict(mapping or {}),
            "verified": verify,
            "reference_passed": passed,
            "reference_total": total,
            "skipped": [s.to_dict() for s in skipped],
            "notes": notes,
        }
        written = write_task_dir(target, tasks, manifest, overwrite=overwrite)
    return ImportReport(
        source_file=str(src),
        format=fmt,
        out_dir=None if written is None else str(written),
        imported=len(tasks),
        skipped=tuple(skipped),
        reference_passed=passed,
        reference_total=total,
        notes=tuple(notes),
        task_ids=tuple(t.id for t in tasks),
    )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("llmsde")
    except PackageNotFoundError:
        return "unknown"
