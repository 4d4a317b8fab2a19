"""Security score: bandit findings through its Python API, in process, weighted by severity and confidence.

Static analysis only parses the code, so it runs in the trusted scorer (never in the sandbox), guarded by a
source size cap and an exception guard. ``# nosec`` comments are ignored: otherwise a candidate could silence
findings simply by annotating them.
"""

from __future__ import annotations

import io
import logging
import math
import threading
from typing import Any

from llmsde.config import ScoringConfig

__all__ = ["BanditRunner", "security_score"]


def security_score(findings: list[dict[str, Any]], config: ScoringConfig) -> float:
    """``10 * exp(-w / security_scale)`` with ``w = sum(severity_weight * confidence_weight)`` over
    findings."""
    w = sum(
        config.severity_weights.get(str(f["severity"]), 0.0) * config.confidence_weights.get(str(f["confidence"]), 0.0)
        for f in findings
    )
    return 10.0 * math.exp(-w / config.security_scale)


class BanditRunner:
    """Loads bandit's config once (about 100 ms) and scans sources in memory (a few ms each); thread-safe."""

    def __init__(self) -> None:
        from bandit.core import config as b_config
        from bandit.core import manager as b_manager

        logging.getLogger("bandit").setLevel(logging.CRITICAL)
        self._manager_cls = b_manager.BanditManager
        self._config = b_config.BanditConfig()
        self._lock = threading.Lock()

    def scan(self, source: str) -> list[dict[str, Any]]:
        """Findings as JSON-safe dicts; raises ValueError when bandit cannot parse the source."""
        name = "candidate.py"
        with self._lock:
            mgr = self._manager_cls(self._config, "file", quiet=True, ignore_nosec=True)
            mgr.files_list = [name]
            try:
                # Private API (pinned bandit>=1.7.9,<2): scans bytes without writing a temp file.
                mgr._parse_file(name, io.BytesIO(source.encode("utf-8", "surrogatepass")), mgr.files_list)
            except (Exception, RecursionError) as err:  # hostile sources raise MemoryError/RecursionError
                raise ValueError(f"bandit failed: {type(err).__name__}") from None
            if mgr.skipped:
                raise ValueError(f"bandit could not scan the code: {mgr.skipped[0][1]}")
            issues = mgr.get_issue_list()
        return [
            {
                "test_id": i.test_id,
                "cwe": f"CWE-{i.cwe.id}" if getattr(i, "cwe", None) is not None and i.cwe.id else None,
                "severity": str(i.severity),
                "confidence": str(i.confidence),
                "line": int(i.lineno),
                "text": str(i.text),
            }
            for i in issues
        ]
