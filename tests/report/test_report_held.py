"""The report with a held (never observed) objective and a skipped strategy: figures drawn, nothing crashes."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from llmsde.dynamics import LinearSdeEstimator, reference_truth, simulate_panel
from llmsde.errors import LlmsdeWarning
from llmsde.report.build import ReportInput, write_report


def test_report_with_missing_objective_and_skipped_strategy(tmp_path: Path) -> None:
    x, labels = simulate_panel(reference_truth(8), 30, 8, np.random.default_rng(2))
    labels = list(labels)
    sec = [i for i, lab in enumerate(labels) if lab == "SF"]
    x[sec, :, 2] = np.nan  # SF sessions have no functionality score (no unit tests)
    lone = [i for i, lab in enumerate(labels) if lab == "AI"][1:]
    keep = np.setdiff1d(np.arange(len(labels)), lone)  # AI keeps one session: skipped
    x, labels = x[keep], [labels[i] for i in keep]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LlmsdeWarning)
        fit = LinearSdeEstimator(n_bootstrap=30, folds=3, random_state=0, compare_models=False).fit(x, labels)
    assert fit.strategies["SF"].held == {"functionality": None} and "AI" in fit.skipped
    files = write_report(ReportInput(fit, x, tuple(labels)), tmp_path / "rep", formats=("md",))
    md = files.markdown.read_text(encoding="utf-8") if files.markdown else ""
    assert len(files.figures) == 4 and all(p.stat().st_size > 0 for p in files.figures)
    sf_row = next(line for line in md.splitlines() if line.startswith("| SF |"))
    assert "nan" not in sf_row.lower()
    assert "AI" in md and "one session" in md


def test_report_of_a_fit_with_nothing_fitted_says_why(tmp_path: Path) -> None:
    """Issue 10 section 4: a run whose data allow no fit still gets a report (no figures, the reasons)."""
    x = np.full((3, 4, 3), np.nan)
    x[0] = 5.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LlmsdeWarning)
        fit = LinearSdeEstimator(n_bootstrap=10).fit(x, ["A", "B", "B"])
    assert fit.strategies == {}
    files = write_report(ReportInput(fit, x, ("A", "B", "B")), tmp_path / "rep", formats=("md",))
    md = files.markdown.read_text(encoding="utf-8") if files.markdown else ""
    assert "Nothing could be fitted" in md and "A: not fitted (one session" in md and not files.figures
