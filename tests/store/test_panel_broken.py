"""The ``broken`` flag of a panel: explicit column, the scorer's reason, or the score rule."""

from __future__ import annotations

import math

import pytest

from llmsde.errors import FitInputError
from llmsde.store.panel import panel_from_records, read_panel_file

NAN = math.nan


def _row(sid: str, k: int, s: float, e: float, f: float, **extra: object) -> dict[str, object]:
    return {"session": sid, "strategy": "EF", "k": k, "security": s, "efficiency": e, "functionality": f, **extra}


def test_broken_from_the_score_rule_when_there_is_no_column_or_reason() -> None:
    panel = panel_from_records([_row("a", 0, 5, 5, 5), _row("a", 1, NAN, NAN, 0), _row("a", 2, 4, 5, 0)])
    assert panel.broken is not None
    assert panel.broken.tolist() == [[False, True, False]]


def test_broken_from_the_scorers_reason_in_run_rows() -> None:
    rows = [
        _row("a", 0, 5, 5, 5, reason=None),
        _row("a", 1, NAN, NAN, 0, reason="syntax error: line 3: invalid syntax"),
        _row("a", 2, 6, NAN, 0, reason="import failed: NameError"),
        _row("a", 3, NAN, NAN, 0, reason="no code in reply"),
        _row("a", 4, 7, NAN, 0, reason="missing entry point 'solve'"),
        _row("a", 5, 7, 3, 0, reason="efficiency: timed out"),
    ]
    assert panel_from_records(rows).broken.tolist() == [[False, True, True, True, True, False]]  # type: ignore[union-attr]


def test_an_explicit_broken_column_wins_and_bad_values_are_one_line_errors(tmp_path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(
        "session,strategy,k,security,efficiency,functionality,broken\n"
        "a,EF,0,5,5,5,\n"
        "a,EF,1,5,5,5,yes\n"
        "a,EF,2,5,,0,false\n"
    )
    assert read_panel_file(path).broken.tolist() == [[False, True, False]]  # type: ignore[union-attr]
    path.write_text("session,strategy,k,security,efficiency,functionality,broken\na,EF,0,5,5,5,maybe\n")
    with pytest.raises(FitInputError, match="column 'broken' must be true/false"):
        read_panel_file(path)
