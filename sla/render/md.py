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
    issued_line,
    month_title,
    provider_lines,
    range_scope,
    report_title,
    scope,
)
from sla.render.tables import RANGE_SECTIONS, Section, Table, footnote, sections

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


def md_section(section: Section) -> list[str]:
    if isinstance(section, Table):
        return md_table(section)
    lines = [f"- {md_text(item)}" for item in section.items] or [f"_{section.empty}_"]
    return lines + ([] if section.after is None else ["", md_text(section.after)])


def _sections(report: MonthReport, level: str) -> list[str]:
    """A month's figures under headings of `level` ("##")."""
    lines = [
        f"**{scope(report)}**" if not report.final else scope(report),
        "",
        md_text(headline(report)),
    ]
    for title, section in sections(report):
        lines += ["", f"{level} {title}", "", *md_section(section(report))]
    return lines


def render_md(report: MonthReport | RangeReport) -> str:
    """The whole report as Markdown, ending with a newline; an incomplete one says so first,
    then who issues it, the title, and its reference."""
    warning = incomplete_line(report)
    lines = [f"**{md_text(warning)}**", ""] if warning else []
    provider = provider_lines(report)
    if provider:
        lines += [" · ".join(md_text(line) for line in provider), ""]
    lines += [f"# {md_text(report_title(report))}", "", md_text(issued_line(report)), ""]
    if isinstance(report, RangeReport):
        lines.append(range_scope(report))
        for title, table in RANGE_SECTIONS:
            lines += ["", f"## {title}", "", *md_section(table(report))]
        for month in report.months:
            lines += ["", f"## {month_title(month)}", "", *_sections(month, "###")]
    else:
        lines += _sections(report, "##")
    lines += ["", footnote(report)]
    return "\n".join(lines) + "\n"
