"""The shipped CI material stays valid: rule snippets in docs/check.md parse, the workflow has every stage."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from llmsde.checks import parse_rules

ROOT = Path(__file__).resolve().parents[2]


def test_every_toml_block_in_docs_parses() -> None:
    text = (ROOT / "docs" / "check.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 5
    for block in blocks:
        rules = parse_rules(tomllib.loads(block), "docs/check.md")
        assert rules


def test_workflow_runs_every_stage() -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed")
    wf = yaml.safe_load((ROOT / "examples" / "github-actions.yml").read_text(encoding="utf-8"))
    triggers = wf[True] if True in wf else wf["on"]  # YAML 1.1 reads the key `on` as True
    assert "schedule" in triggers and "workflow_dispatch" in triggers
    job = wf["jobs"]["study"]
    assert job["env"]["OPENAI_API_KEY"] == "${{ secrets.LLMSDE_API_KEY }}"
    assert job["env"]["LLMSDE_BASE_URL"] == "${{ vars.LLMSDE_BASE_URL }}"
    assert job["env"]["LLMSDE_MODEL"] == "${{ vars.LLMSDE_MODEL }}"
    script = "\n".join(step.get("run", "") for step in job["steps"])
    for needle in ("llmsde run", "llmsde fit", "llmsde report", "GITHUB_STEP_SUMMARY", "llmsde check"):
        assert needle in script
    upload = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["if"].startswith("always()")
    assert script.index("llmsde report") < script.index("llmsde check")
