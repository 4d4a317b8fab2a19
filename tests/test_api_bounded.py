"""The fit API on a run of mostly broken code: per-iteration reply shares reach fit.json and fit.md."""

from __future__ import annotations

import math
import warnings

import numpy as np

from llmsde.api._bounded import fit_working, parse_thresholds
from llmsde.dynamics import LinearSdeEstimator, SdeFit
from llmsde.errors import LlmsdeWarning
from llmsde.report.fit_markdown import render_fit_markdown
from llmsde.store.panel import panel_from_records


def _rows() -> list[dict[str, object]]:
    rng = np.random.default_rng(0)
    rows: list[dict[str, object]] = []
    for s in range(8):
        for k in range(4):
            broken = k in (1, 2) or (k == 3 and s % 2 == 0)
            reason = ("syntax error: line 1" if s % 2 else "import failed: boom") if broken else None
            sec = math.nan if broken and s % 2 else float(rng.uniform(0, 10))
            rows.append({"session": f"s{s}", "strategy": "A", "k": k, "security": sec,
                         "efficiency": math.nan if broken else float(rng.uniform(0, 10)),
                         "functionality": 0.0 if broken else 10.0, "reason": reason, "error": None})  # fmt: skip
    return rows


def test_mostly_broken_run_reports_breakage_and_reply_shares_instead_of_refusing() -> None:
    rows = _rows()
    panel = panel_from_records(rows)
    est = LinearSdeEstimator(n_bootstrap=20, folds=2, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LlmsdeWarning)
        fit = fit_working(est, panel, model="full", n_bootstrap=20, folds=2, seed=0, rows=rows)
    said = " | ".join(str(w.message) for w in caught)
    assert "no usable transition" in said and "no strategy could be fitted" in said
    assert fit.strategies == {} and "A" in fit.skipped
    br = fit.breakage["A"]
    assert br.n_breaks == 8 and br.n_working == 8
    table = np.array(br.per_iteration)
    np.testing.assert_allclose(table[:, 1], [8, 8, 8, 8])
    np.testing.assert_allclose(table[1, 2:5], [0.5, 0.0, 0.0])
    assert table[2, 5] == 0.5
    back = SdeFit.from_dict(fit.to_dict()).breakage["A"]
    np.testing.assert_allclose(np.array(back.per_iteration), table, equal_nan=True)
    md = render_fit_markdown(fit)
    assert "### Replies per iteration" in md and "| A | 2 | 8 | 50% | 0% | 0% | 50% |" in md.replace("\\|", "|")


def test_thresholds_parse_one_or_three_numbers() -> None:
    assert parse_thresholds(None) == (5.0, 5.0, 5.0)
    assert parse_thresholds("4") == (4.0, 4.0, 4.0)
    assert parse_thresholds("4, 5,7") == (4.0, 5.0, 7.0)
