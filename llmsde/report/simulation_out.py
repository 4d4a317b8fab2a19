"""Files written by ``llmsde simulate``: every path, the mean and quantile bands, and optionally a PNG.

``paths.csv``: one row per (path, k) with the three objectives; ``bands.csv``: one row per (k, objective) with
the
mean and the 5/25/50/75/95% quantiles. With ``fmt="parquet"`` the same tables are written as Parquet
(pyarrow).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from llmsde._atomic import atomic_path, write_text_atomic
from llmsde.dynamics import SimulationResult
from llmsde.errors import FitInputError

__all__ = ["band_records", "path_records", "write_simulation", "write_simulation_plot"]

_OBJECTIVES = ("security", "efficiency", "functionality")


def path_records(sim: SimulationResult) -> list[dict[str, Any]]:
    """One record per (path, k)."""
    out = []
    for p in range(sim.paths.shape[0]):
        for k in range(sim.paths.shape[1]):
            rec: dict[str, Any] = {"path": p, "k": k}
            rec.update({o: float(sim.paths[p, k, j]) for j, o in enumerate(_OBJECTIVES)})
            out.append(rec)
    return out


def band_records(sim: SimulationResult) -> list[dict[str, Any]]:
    """One record per (k, objective): mean and quantiles."""
    out = []
    for k in range(sim.mean.shape[0]):
        for j, o in enumerate(_OBJECTIVES):
            rec: dict[str, Any] = {"k": k, "objective": o, "mean": float(sim.mean[k, j])}
            rec.update({f"q{round(q * 100):02d}": float(v[k, j]) for q, v in sim.quantiles.items()})
            out.append(rec)
    return out


def _csv(records: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(records[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return buf.getvalue()


def write_simulation(sim: SimulationResult, out_dir: Path, fmt: str = "csv") -> list[Path]:
    """Write paths and bands into ``out_dir``; returns the files written."""
    tables = {"paths": path_records(sim), "bands": band_records(sim)}
    if fmt == "csv":
        return [write_text_atomic(out_dir / f"{name}.csv", _csv(recs)) for name, recs in tables.items()]
    if fmt != "parquet":
        raise FitInputError(f"--format must be csv or parquet; got {fmt!r}", "e.g. --format csv")
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise FitInputError(
            "--format parquet needs pyarrow", "pip install 'llmsde[parquet]' or use --format csv"
        ) from None
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, recs in tables.items():
        target = out_dir / f"{name}.parquet"
        tmp = out_dir / f".{name}.parquet.tmp"
        pq.write_table(pa.Table.from_pylist(recs), tmp)
        tmp.replace(target)
        written.append(target)
    return written


def write_simulation_plot(sim: SimulationResult, path: Path, title: str) -> Path:
    """A PNG with one panel per objective: mean path, 25-75% and 5-95% bands."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = range(sim.mean.shape[0])
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), sharex=True)
    for j, (ax, name) in enumerate(zip(axes, _OBJECTIVES, strict=True)):
        ax.fill_between(steps, sim.quantiles[0.05][:, j], sim.quantiles[0.95][:, j], alpha=0.2, label="5-95%")
        ax.fill_between(steps, sim.quantiles[0.25][:, j], sim.quantiles[0.75][:, j], alpha=0.35, label="25-75%")
        ax.plot(steps, sim.mean[:, j], lw=2, label="mean")
        ax.set_title(name)
        ax.set_xlabel("iteration k")
        if sim.clip != "none":
            ax.set_ylim(-0.5, 10.5)
    axes[0].set_ylabel("score")
    axes[0].legend(loc="lower right", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path
