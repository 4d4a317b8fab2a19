"""Building the report from a fit: both formats, same numbers, self-contained HTML, escaped text."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import TYPE_CHECKING

from llmsde.report.build import ReportInput, build_document, write_report
from llmsde.report.document import Figure, ReportDoc, Section, render_html, render_markdown
from llmsde.report.run_tables import Table

if TYPE_CHECKING:
    from conftest import Fitted


def test_write_report_from_known_fit(reference_fit: Fitted, tmp_path: Path) -> None:
    inp = ReportInput(reference_fit.fit, reference_fit.x, reference_fit.labels, facts=(("run", "synthetic"),))
    files = write_report(inp, tmp_path / "rep")
    assert files.html is not None and files.markdown is not None and len(files.figures) == 4
    html = files.html.read_text(encoding="utf-8")
    md = files.markdown.read_text(encoding="utf-8")
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) == 4
    for data, path in zip(images, files.figures, strict=True):
        assert base64.b64decode(data) == path.read_bytes()
    assert "FF: security falls significantly over the refinement" in md
    assert "FF: security falls significantly over the refinement" in html
    ff_row = next(line for line in md.splitlines() if line.startswith("| FF |"))
    assert "degrades" in ff_row
    sf_rho = f"{float(reference_fit.fit.strategies['SF'].rho.value):.2f}"
    assert f"| SF | 60 | 600 | {sf_rho} [" in md
    assert "Tokens, cost and failures" not in md  # no store rows: no run tables


def test_only_requested_format_is_written(reference_fit: Fitted, tmp_path: Path) -> None:
    inp = ReportInput(reference_fit.fit, reference_fit.x, reference_fit.labels)
    files = write_report(inp, tmp_path, formats=("md",))
    assert files.html is None and not (tmp_path / "report.html").exists()
    assert (tmp_path / "report.md").is_file()


def test_renderers_escape_and_agree() -> None:
    doc = ReportDoc(
        "t <b>",
        (("model", "a|b & <c>"),),
        (
            Section(
                "S",
                paragraphs=("x < y",),
                tables=(Table("tab", ("k", "v"), (("a|b", "<1>"),), "note"),),
                figures=(Figure("figures/f.png", b"\x89PNG fake", "cap & <x>"),),
                bullets=("b1",),
            ),
        ),
    )
    html = render_html(doc)
    md = render_markdown(doc)
    assert "<b>" not in html.split("<body>", 1)[1] and "t &lt;b&gt;" in html and "&lt;1&gt;" in html
    assert 'alt="cap &amp; &lt;x&gt;"' in html
    assert "| a\\|b | <1> |" in md and "![cap & <x>](figures/f.png)" in md and "- b1" in md


def test_build_document_sections(reference_fit: Fitted) -> None:
    doc = build_document(ReportInput(reference_fit.fit, reference_fit.x, reference_fit.labels))
    assert [s.title for s in doc.sections] == [
        "Summary",
        "Trajectories",
        "Phase portraits",
        "Interference",
        "Stability",
        "Method",
    ]
