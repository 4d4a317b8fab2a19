"""Report sections for bounded scores and broken code, including a run where the SDE cannot be fitted."""

from __future__ import annotations

import math

import numpy as np
import pytest

from llmsde.dynamics import CensoredSdeEstimator, SdeFit, Truth, fit_breakage, reference_truth, simulate_clipped_panel
from llmsde.report.bounded_report import reply_shares, reply_table
from llmsde.report.build import ReportInput, build_document
from llmsde.report.document import render_markdown


def _rows() -> list[dict[str, object]]:
    """Two sessions of strategy A over k = 0..2 with known statuses."""
    spec = {
        ("s1", 0): (None, 10.0),
        ("s1", 1): ("syntax error: line 2: invalid syntax", 0.0),
        ("s1", 2): (None, 5.0),
        ("s2", 0): (None, 10.0),
        ("s2", 1): ("import failed: ModuleNotFoundError", 0.0),
        ("s2", 2): ("no code in reply", 0.0),
    }
    return [
        {"session": s, "strategy": "A", "k": k, "reason": reason, "functionality": f, "error": None}
        for (s, k), (reason, f) in spec.items()
    ]


def test_reply_shares_count_parse_import_pass_and_repair_per_iteration() -> None:
    shares, counts = reply_shares(_rows())["A"]
    np.testing.assert_array_equal(counts, [2, 2, 2])
    np.testing.assert_allclose(shares[0, :3], [1.0, 1.0, 1.0])
    np.testing.assert_allclose(shares[1, :3], [0.5, 0.0, 0.0])
    assert shares[1, 3] == 0.5
    np.testing.assert_allclose(shares[2, :3], [0.5, 0.5, 0.0])
    assert math.isnan(shares[2, 3])
    table = reply_table({"A": (shares, counts)})
    assert table.rows[1] == ("A", "1", "2", "50%", "0%", "0%", "50%")


def test_a_run_the_sde_cannot_fit_still_gets_breakage_tables_and_a_figure() -> None:
    rows = _rows()
    x = np.array([[[5, 5, 10], [np.nan, np.nan, 0], [5, 5, 5]], [[5, 5, 10], [np.nan, np.nan, 0], [np.nan] * 3]])
    broken = np.array([[False, True, False], [False, True, True]])
    fit = SdeFit(
        strategies={},
        meta={},
        skipped={"A": "no usable transition (every pair of states has a NaN)"},
        breakage=fit_breakage(x, broken, ["A", "A"], n_bootstrap=50, random_state=0),
    )
    doc = build_document(ReportInput(fit, x, ("A", "A"), rows))
    titles = [s.title for s in doc.sections]
    assert "Breakage" in titles and "Trajectories" not in titles
    sec = doc.sections[titles.index("Breakage")]
    assert any("could not be fitted" in p for p in sec.paragraphs)
    assert sec.figures[0].name == "figures/replies.png" and sec.figures[0].png[:4] == b"\x89PNG"
    md = render_markdown(doc)
    assert "Break and repair rates" in md and "repaired next" in md


@pytest.mark.filterwarnings("ignore::llmsde.errors.LlmsdeWarning")
def test_a_censored_fit_adds_the_bounded_section_with_first_passage_figure() -> None:
    from llmsde.dynamics import LinearSdeEstimator

    truth = Truth({"FF": reference_truth().strategies["FF"]})
    x, labels = simulate_clipped_panel(truth, 30, 6, np.random.default_rng(0))
    lin = LinearSdeEstimator(n_bootstrap=30, random_state=0, compare_models=False).fit(x, labels)
    cens = CensoredSdeEstimator(n_bootstrap=30, random_state=0).fit(x, labels).strategies
    fit = SdeFit(strategies=lin.strategies, meta=lin.meta, censored=cens)
    doc = build_document(ReportInput(fit, x, labels))
    sec = next(s for s in doc.sections if s.title.startswith("Bounded scores"))
    assert [t.title for t in sec.tables][1] == "States on the bounds: data vs censored model"
    assert sec.figures[0].name == "figures/first_passage.png"
