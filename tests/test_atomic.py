"""The one atomic-write helper (llmsde/_atomic.py): whole files under concurrent writers and readers, nothing
left behind on failure, and the export that used to race on a fixed temporary name."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from llmsde._atomic import atomic_path, write_bytes_atomic, write_text_atomic
from llmsde.store import RunManifest, RunStore, SessionRow
from llmsde.store.export import export_run

WRITERS = 6
ROUNDS = 40


def _content(writer: int, round_: int) -> str:
    return f"{writer}:{round_}\n" + f"{writer}" * 50_000 + "\nend\n"


def test_concurrent_writers_and_a_reader_see_only_whole_files(tmp_path: Path) -> None:
    target = tmp_path / "out" / "fit.json"
    write_text_atomic(target, _content(0, -1))
    done = threading.Event()
    seen: list[str] = []

    def read() -> None:
        while not done.is_set():
            seen.append(target.read_text(encoding="utf-8"))

    def write(writer: int) -> None:
        for r in range(ROUNDS):
            write_text_atomic(target, _content(writer, r))

    reader = threading.Thread(target=read)
    reader.start()
    with ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(write, range(WRITERS)))
    done.set()
    reader.join()
    valid = {_content(w, r) for w in range(WRITERS) for r in range(ROUNDS)} | {_content(0, -1)}
    assert target.read_text(encoding="utf-8") in valid
    assert seen and all(text in valid for text in seen), "a reader saw a partial file"
    assert sorted(p.name for p in target.parent.iterdir()) == ["fit.json"], "temporary files were left behind"


def test_a_failing_writer_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = write_bytes_atomic(tmp_path / "fig.png", b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("writer died")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["fig.png"]


def test_two_exports_into_one_directory_do_not_collide(tmp_path: Path) -> None:
    run = tmp_path / "run"
    manifest = RunManifest(run_id="r1", config={}, versions={}, provider="surrogate", model="m", base_url=None, seed=0)
    with RunStore.create(run, {}, manifest) as store:
        store.add_sessions([SessionRow(f"s{i}", i, "t1", "EF", i, i) for i in range(40)])
    out = tmp_path / "export"

    def export(_: int) -> int:
        for _ in range(15):
            export_run(run, "csv", out)
        return 0

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(export, range(4))) == [0] * 4
    assert sorted(p.name for p in out.iterdir()) == ["iterations.csv", "sessions.csv"]
    assert len((out / "sessions.csv").read_text().splitlines()) == 41
