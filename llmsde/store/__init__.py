"""Store layer: the SQLite run store (``sqlite.py``), its schema, and (from other modules) panels and exports.

Only plain records cross this boundary; the store never imports the runner, providers or scoring.
"""

from __future__ import annotations

from llmsde.store.schema import SCHEMA_VERSION, STORE_FILENAME
from llmsde.store.sqlite import CONFIG_FILENAME, IterationRecord, RunManifest, RunStore, SessionRow, utc_now

__all__ = [
    "CONFIG_FILENAME",
    "SCHEMA_VERSION",
    "STORE_FILENAME",
    "IterationRecord",
    "RunManifest",
    "RunStore",
    "SessionRow",
    "utc_now",
]
