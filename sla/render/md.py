"""The monthly SLA report for people, as Markdown that reads well raw (Slack, email) or rendered.

The figures and tables are the shared ones (`sla.render.formatting`, `sla.render.tables`);
this module only escapes them for Markdown and lays them out.
"""

from __future__ import annotations

from collections.abc import Sequence

from sla.engine import MonthReport
from sla.ranges import RangeReport
from sla.render.formatting import (
    headline,
    incomplete_line,
    month_title,
    range_scope,
    report_title,
    scope,
)
from sla.render.tables import RANGE_SECTIONS, SECTIONS, STATEMENT_SECTIONS, Table, footnote

# Characters that would start markup; `_` is left alone since names like api_health only
# emphasise at word edges, which is rare, and backslashes there would read badly in Slack.
_MARKDOWN_SPECIAL = str.maketrans(
    {char: "\\" + char for char in "\\`*~[]<>|#"} | {"\n": " ", "\r": " "}
)


def md_text(text: str) -> str:
    """Config text (names) as literal Markdown: no markup, no raw HTML, no broken tables."""
    return text.translate(_MARKDOWN_SPECIAL)


def md_table(table: Table) -> list[str]:
    """A pipe table padded to line up in a monospace font, so it also reads well raw."""
    if not table.rows:
        return [f"_{table.empty}_"]
    cells = [list(table.headers), *([md_text(cell) for cell in row] for row in table.rows)]
    widths = [max(len(row[column]) for row in cells) for column in range(len(table.headers))]

    def line(row: Sequence[str]) -> str:
        padded = (
            cell.rjust(width) if numeric else cell.ljust(width)
            for cell, width, numeric in zip(row, widths, table.numeric, strict=True)
        )
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join(
        "-" * (width + 1) + ":" if numeric else "-" * (width + 2)
        for width, numeric in zip(widths, table.numeric, strict=True)
    )
    return [line(cells[0]), rule + "|", *(line(row) for row in cells[1:])]


def _sections(report: MonthReport, level: str) -> list[str]:
    """A month's figures under headings of `level` ("##")."""
    lines = [
        f"**{scope(report)}**" if report.month_to_date else scope(report),
        "",
        headline(report),
    ]
    for title, table in STATEMENT_SECTIONS if report.customer else SECTIONS:
        lines += ["", f"{level} {title}", "", *md_table(table(report))]
    return lines


def render_md(report: MonthReport | RangeReport) -> str:
    """The whole report as Markdown, ending with a newline; an incomplete one says so first."""
    warning = incomplete_line(report)
    lines = [f"**{md_text(warning)}**", ""] if warning else []
    lines += [f"# {md_text(report_title(report))}", ""]
    if isinstance(report, RangeReport):
        lines.append(range_scope(report))
        for title, table in RANGE_SECTIONS:
            lines += ["", f"## {title}", "", *md_table(table(report))]
        for month in report.months:
            lines += ["", f"## {month_title(month)}", "", *_sections(month, "###")]
    else:
        lines += _sections(report, "##")
    lines += ["", footnote(report)]
    return "\n".join(lines) + "\n"
