"""One report document, rendered two ways: self-contained HTML and GitHub-flavoured Markdown.

The report is built once as plain :class:`Section` objects, then rendered; so the HTML a researcher opens and
the Markdown a CI job writes to ``$GITHUB_STEP_SUMMARY`` can never show different numbers. The HTML embeds
every figure as a base64 PNG and uses no script, font or stylesheet from the network, so it opens from disk,
offline, in any browser. The Markdown links the PNG files next to it (a step summary cannot show local
images, but the tables carry the findings).
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field

from llmsde.report.run_tables import Table

__all__ = ["Figure", "ReportDoc", "Section", "render_html", "render_markdown"]


@dataclass(frozen=True, slots=True)
class Figure:
    """A PNG figure with the file name it is written under and a caption."""

    name: str
    """File name relative to the report directory, e.g. ``figures/trajectories.png``."""
    png: bytes
    caption: str


@dataclass(frozen=True, slots=True)
class Section:
    """A titled part of the report: paragraphs, then tables, then figures."""

    title: str
    paragraphs: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()
    figures: tuple[Figure, ...] = ()
    bullets: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ReportDoc:
    """The whole report."""

    title: str
    facts: tuple[tuple[str, str], ...]
    """Key/value lines under the title (run id, model, sessions ...)."""
    sections: tuple[Section, ...] = field(default_factory=tuple)


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 1180px; margin: 2em auto;
       padding: 0 1em; color: #1a1a1a; line-height: 1.45; }
h1 { border-bottom: 2px solid #333; padding-bottom: .2em; }
h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 1em 0; font-size: .9em; }
th, td { border: 1px solid #ccc; padding: .3em .6em; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: .9em; } .note { color: #555; font-size: .85em; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: .2em 1em; }
dl.facts dt { font-weight: bold; } dl.facts dd { margin: 0; }
"""


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(table: Table) -> list[str]:
    lines = [f"**{table.title}**", "", "| " + " | ".join(_md_cell(c) for c in table.columns) + " |"]
    lines.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(table.columns))) + "|")
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in table.rows]
    if table.note:
        lines += ["", f"_{table.note}_"]
    return [*lines, ""]


def render_markdown(doc: ReportDoc) -> str:
    """GitHub-flavoured Markdown; figures are linked by their relative file names."""
    lines = [f"# {doc.title}", ""]
    lines += [f"- **{k}**: {v}" for k, v in doc.facts]
    for sec in doc.sections:
        lines += ["", f"## {sec.title}", ""]
        for par in sec.paragraphs:
            lines += [par, ""]
        lines += [f"- {b}" for b in sec.bullets]
        if sec.bullets:
            lines.append("")
        for table in sec.tables:
            lines += _md_table(table)
        for fig in sec.figures:
            lines += [f"![{fig.caption}]({fig.name})", "", f"_{fig.caption}_", ""]
    return "\n".join(lines).rstrip() + "\n"


def _html_table(table: Table) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in table.rows)
    note = f'<p class="note">{html.escape(table.note)}</p>' if table.note else ""
    return (
        f"<h3>{html.escape(table.title)}</h3><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"
    )


def _html_figure(fig: Figure) -> str:
    data = base64.b64encode(fig.png).decode("ascii")
    alt = html.escape(fig.caption, quote=True)
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{alt}">'
        f"<figcaption>{html.escape(fig.caption)}</figcaption></figure>"
    )


def render_html(doc: ReportDoc) -> str:
    """One self-contained HTML page (inline CSS, base64 PNGs, no script, no network)."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(doc.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(doc.title)}</h1>",
        '<dl class="facts">'
        + "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in doc.facts)
        + "</dl>",
    ]
    for sec in doc.sections:
        parts.append(f"<section><h2>{html.escape(sec.title)}</h2>")
        parts += [f"<p>{html.escape(p)}</p>" for p in sec.paragraphs]
        if sec.bullets:
            parts.append("<ul>" + "".join(f"<li>{html.escape(b)}</li>" for b in sec.bullets) + "</ul>")
        parts += [_html_table(t) for t in sec.tables]
        parts += [_html_figure(f) for f in sec.figures]
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
