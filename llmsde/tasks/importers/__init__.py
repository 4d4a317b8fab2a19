"""Dataset importers: HumanEval, MBPP (full and sanitized) and security seeds (SecurityEval, SALLM) -> Task.

Use :func:`import_dataset` for the whole pipeline (read, convert, verify in the sandbox, write a task
directory atomically) or :func:`convert_file` to get the tasks in memory without verifying or writing. The
formats and the choices made for each are documented in ``docs/datasets.md``.
"""

from __future__ import annotations

from llmsde.tasks.importers.common import Converted, Skip, parse_map
from llmsde.tasks.importers.pipeline import (
    FORMATS,
    ImportReport,
    convert_file,
    default_out_dir,
    import_dataset,
)
from llmsde.tasks.importers.verify import Verdict, verify_tasks

__all__ = [
    "FORMATS",
    "Converted",
    "ImportReport",
    "Skip",
    "Verdict",
    "convert_file",
    "default_out_dir",
    "import_dataset",
    "parse_map",
    "verify_tasks",
]
