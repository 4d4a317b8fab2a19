"""Issue 12 item 11: docs/fit.md is the self-contained reference of every figure fit.json holds."""

from __future__ import annotations

import re
from pathlib import Path

from sde_data import one

from llmsde.dynamics import LinearSdeEstimator

ROOT = Path(__file__).resolve().parents[2]


def test_fit_md_defines_every_fit_json_key_and_sigma_denominator() -> None:
    x, labels = one(sessions=12, seed=1)
    doc = LinearSdeEstimator(n_bootstrap=10, random_state=0).fit(x, labels).to_dict()
    text = (ROOT / "docs" / "fit.md").read_text(encoding="utf-8")
    sf = doc["strategies"]["X"]
    keys = set(sf) | set(sf["diagnostics"]) | set(sf["interference"]) | set(sf["baselines"])
    keys |= set(doc["model_comparison"][0]) | {"skipped", "schema_version"}
    undefined = sorted(k for k in keys if f"`{k}`" not in text)
    assert not undefined, f"docs/fit.md does not define {undefined}"
    assert "Sigma = R / (n - p) / dt" in text and "m + 1" in text


def test_docs_do_not_cite_design_md() -> None:
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"DESIGN\.md\s*(s|§|section)\s*6", text), path.name
