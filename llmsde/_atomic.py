"""Atomic file writes, the one helper every writer of a whole file uses (fit.json, fit.md, reports, figures,
exports, simulation tables, a run's config.json, rescore provenance).

A write goes to a temporary file with a unique name (``mkstemp``) in the target's directory, so ``os.replace`` is
a rename within one filesystem and two writers never share a temporary file; the file is flushed and fsynced,
renamed over the target, and the directory is fsynced where the OS allows, so the rename survives a crash.
A reader therefore sees the old file or a whole new one, never half of one; concurrent writers of the same
target each land whole and the last rename wins. A writer that fails removes its temporary file and leaves the
target as it was.

Trade-offs: one extra file and two fsyncs per write, which is nothing for files of this size; not meant for large
or frequently appended data (the run store uses SQLite transactions for that). The file gets ``mkstemp``'s
0600 mode, not the umask's; these are a user's own results.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "write_bytes_atomic", "write_text_atomic"]


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a fresh temporary path beside ``path`` for a writer that needs a file name (csv, parquet,
    savefig); on a clean exit it is fsynced and renamed over ``path``, on an exception removed.

    Parent directories are created.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_dir(target.parent)


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically, creating parent directories; returns the path."""
    target = Path(path)
    with atomic_path(target) as tmp, tmp.open("wb") as fh:
        fh.write(data)
    return target


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``path`` atomically, creating parent directories; returns
    the path."""
    target = Path(path)
    with atomic_path(target) as tmp, tmp.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    return target
