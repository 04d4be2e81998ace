"""The monthly SLA report as one self-contained HTML page, with charts drawn as inline SVG.

One file a person can mail, archive and open anywhere, offline: inline CSS only, no
scripts, fonts, style sheets or images from elsewhere. The tables are the Markdown
shared ones (`sla.render.tables`), so both formats say the same thing. Every text that comes
from the config goes through `html.escape`, in the tables and inside the SVG alike, so
a target named like markup shows as text and never runs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from html import escape

from sla.availability import DayFigures
from sla.engine import ContractResult, MonthReport, TargetResult
from sla.ranges import RangeReport
from sla.render.formatting import (
    display_names,
    duration,
    headline,
    incomplete_line,
    minutes,
    month_title,
    objectives_by_service,
    percent,
    period,
    range_scope,
    report_title,
    scope,
)
from sla.render.tables import (
    RANGE_SECTIONS,
    SECTIONS,
    STATEMENT_SECTIONS,
    Table,
    contract_table,
    customer_table,
    footnote,
    target_table,
)
from sla.slices import day_starts
from sla.vocabulary import FAMILY_NAMES, Family

FAMILY_COLOURS: dict[Family, str] = {"ipv4": "#1c7ed6", "ipv6": "#e8590c"}
TARGET_COLOUR = "#adb5bd"  # the target over both families, drawn under them
OBJECTIVE_COLOUR = "#c92a2a"
BUDGET_LEFT_COLOUR = "#2f9e44"
BUDGET_SPENT_COLOUR = "#e03131"
MAINTENANCE_COLOUR = "#e5dbff"
NO_DATA_COLOUR = "#dee2e6"
NOT_YET_COLOUR = "#f1f3f5"

WIDTH, HEIGHT = 540, 230
LEFT, TOP, BOTTOM = 70, 44, 26
RIGHT = 14
LABELS_RIGHT = 120  # room right of the availability plot for the objective labels

CSS = """
:root { color-scheme: light; }
body { margin: 0; background: #f8f9fa; color: #212529;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 28px 40px; background: #fff; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 1px solid #dee2e6; }
h2.month { font-size: 23px; margin-top: 44px; border-bottom: 2px solid #495057; }
h3 { font-size: 17px; margin: 24px 0 8px; }
p { margin: 6px 0; }
.meta { color: #495057; }
.banner { background: #fff3bf; border-left: 4px solid #f59f00; padding: 8px 12px; }
.incomplete { background: #fff5f5; border: 2px solid #e03131; color: #a61e1e; font-weight: 600;
  padding: 10px 12px; margin: 0 0 14px; }
.headline.incomplete { border-left-color: #f59f00; background: #fff9db; }
.headline { font-size: 17px; font-weight: 600; padding: 10px 12px; border-left: 4px solid #2f9e44;
  background: #ebfbee; }
.headline.breached { border-left-color: #e03131; background: #fff5f5; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { padding: 5px 8px; border-bottom: 1px solid #e9ecef; text-align: left;
  vertical-align: top; overflow-wrap: break-word; }
th { background: #f1f3f5; font-weight: 600; }
td.num, th.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
.empty { color: #495057; font-style: italic; }
.note { color: #495057; font-size: 13px; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(420px, 100%), 1fr));
  gap: 14px; margin-top: 10px; }
.charts svg { width: 100%; height: auto; border: 1px solid #e9ecef; border-radius: 4px;
  background: #fff; }
svg text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial,
  sans-serif; font-size: 11px; fill: #495057; }
svg .chart-title { font-size: 14px; font-weight: 600; fill: #212529; }
svg .breached { fill: #c92a2a; font-weight: 600; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 18px; font-size: 13px; color: #495057;
  margin: 6px 0; padding: 0; list-style: none; }
.swatch { display: inline-block; width: 22px; height: 10px; margin-right: 6px;
  vertical-align: middle; border-radius: 2px; }
footer { margin-top: 32px; color: #495057; font-size: 13px; }
.table-wrap { overflow-x: auto; }
@media (max-width: 600px) { main { padding: 16px 12px 28px; } h1 { font-size: 21px; }
  table { font-size: 13px; } }
@page { size: A4; margin: 14mm 12mm 16mm;
  @bottom-left { content: string(title); font-size: 8pt; color: #868e96; }
  @bottom-right { content: "Page " counter(page) " of " counter(pages); font-size: 8pt;
    color: #868e96; } }
h1 { string-set: title content(); }
@media print { body { background: #fff; font-size: 11px; } main { padding: 0; max-width: none; }
  h1 { font-size: 20px; } h2 { font-size: 15px; margin-top: 20px; } h3 { font-size: 13px; }
  table { font-size: 9.5px; } th, td { padding: 3px 4px; }
  .table-wrap { overflow: visible; } thead { display: table-header-group; }
  tr, .incomplete, .headline { break-inside: avoid; } h2, h3 { break-after: avoid; }
  .charts { display: block; }
  .charts svg { display: block; width: 100%; max-width: 150mm; margin: 0 auto 8px;
    break-inside: avoid; } }
"""


# --- small pieces ------------------------------------------------------------------------


def _num(value: float) -> str:
    """An SVG coordinate: one decimal is finer than a pixel."""
    return f"{value:.1f}"


def _attributes(attributes: dict[str, object]) -> str:
    """Python-friendly names to SVG ones: class_ -> class, stroke_width -> stroke-width."""
    return "".join(
        f' {name.rstrip("_").replace("_", "-")}="{escape(str(value))}"'
        for name, value in attributes.items()
    )


def _tag(name: str, content: str = "", **attributes: object) -> str:
    """An element; `content` must already be markup (escape text before passing it)."""
    return f"<{name}{_attributes(attributes)}>{content}</{name}>"


# The page's CSS styles SVG text in browsers; WeasyPrint's SVG renderer reads only
# presentation attributes, so each text also carries them (CSS wins where it applies).
_TEXT_STYLE = {"font_family": "DejaVu Sans, Helvetica, Arial, sans-serif", "font_size": 11}
_TEXT_CLASSES = {
    "chart-title": {"font_size": 14, "font_weight": 600, "fill": "#212529"},
    "breached": {"font_weight": 600, "fill": "#c92a2a"},
}


def _text(x: float, y: float, text: str, **attributes: object) -> str:
    style = {
        "fill": "#495057",
        **_TEXT_STYLE,
        **_TEXT_CLASSES.get(str(attributes.get("class_")), {}),
    }
    return _tag("text", escape(text), x=_num(x), y=_num(y), **{**style, **attributes})


def _title(text: str) -> str:
    """A tooltip for the enclosing SVG element."""
    return _tag("title", escape(text))


def html_table(table: Table) -> str:
    if not table.rows:
        return _tag("p", escape(table.empty), class_="empty")

    def cells(tag: str, row: Sequence[str]) -> str:
        return "".join(
            _tag(tag, escape(cell), **({"class_": "num"} if numeric else {}))
            for cell, numeric in zip(row, table.numeric, strict=True)
        )

    head = _tag("thead", _tag("tr", cells("th", table.headers)))
    body = _tag("tbody", "".join(_tag("tr", cells("td", row)) for row in table.rows))
    return _tag("div", _tag("table", head + body), class_="table-wrap")


@dataclass(frozen=True)
class _Days:
    """The month's calendar days in the report's zone, and which have not begun yet."""

    days: tuple[date, ...]
    not_yet: tuple[bool, ...]

    @classmethod
    def of(cls, report: MonthReport) -> _Days:
        year, month = (int(part) for part in report.month.split("-"))
        starts = day_starts(year, month, report.timezone)[:-1]
        first = date(year, month, 1)
        days = tuple(date.fromordinal(first.toordinal() + n) for n in range(len(starts)))
        return cls(days, tuple(start >= report.evaluated_until for start in starts))

    def index(self, day: date) -> int:
        return (day - self.days[0]).days


@dataclass(frozen=True)
class _Plot:
    """Where the plot area of a chart sits, and the x position of each day."""

    days: int
    right: float = RIGHT

    @property
    def width(self) -> float:
        return WIDTH - LEFT - self.right

    @property
    def height(self) -> float:
        return HEIGHT - TOP - BOTTOM

    def band(self, index: int) -> tuple[float, float]:
        """Left edge and width of the day's column."""
        step = self.width / self.days
        return LEFT + index * step, step

    def x(self, index: int) -> float:
        left, step = self.band(index)
        return left + step / 2

    def day_labels(self, days: Sequence[date]) -> str:
        """Day numbers under the plot: the 1st, every 5th (unless too near) and the last."""
        last = len(days) - 1
        fifths = {n for n in range(last - 2) if days[n].day % 5 == 0}
        shown = {0, last} | fifths
        return "".join(
            _text(self.x(n), HEIGHT - 8, str(days[n].day), text_anchor="middle")
            for n in sorted(shown)
        )

    def frame(self) -> str:
        return _tag(
            "rect",
            x=LEFT,
            y=TOP,
            width=_num(self.width),
            height=_num(self.height),
            fill="none",
            stroke="#ced4da",
        )

    def hline(self, y: float, colour: str, **attributes: object) -> str:
        return _tag(
            "line",
            "",
            x1=LEFT,
            x2=_num(LEFT + self.width),
            y1=_num(y),
            y2=_num(y),
            stroke=colour,
            **attributes,
        )


def _svg(kind: str, title: str, content: str, **attributes: object) -> str:
    return _tag(
        "svg",
        _title(title) + content,
        class_=f"chart {kind}",
        viewBox=f"0 0 {WIDTH} {HEIGHT}",
        width=WIDTH,
        height=HEIGHT,
        role="img",
        **attributes,
    )


# --- availability per day ----------------------------------------------------------------


def nines(availability: Fraction | Decimal) -> float:
    """How many nines: 90 % is 1, 99.9 % is 3, 100 % is infinite, 0 % is 0."""
    down = 1 - Fraction(availability) / 100
    return math.inf if down <= 0 else -math.log10(down)


def _level_label(level: int) -> str:
    """The availability at a whole number of nines: 0 -> "0 %", 3 -> "99.9 %"."""
    return percent(100 - Decimal(10) ** (2 - level))


@dataclass(frozen=True)
class _NinesScale:
    """A y axis in nines, so that a 20-minute dip and a day-long outage are both visible
    and the objective lines (99.9 %, 99.99 %) stay apart. 100 % is the top edge."""

    bottom: int
    top: int

    @classmethod
    def fit(cls, levels: Iterable[float]) -> _NinesScale:
        finite = [level for level in levels if math.isfinite(level)]
        top = math.floor(max(finite, default=3.0)) + 1
        bottom = max(0, math.floor(min(finite, default=top)))
        return cls(min(bottom, max(0, top - 2)), top)

    def y(self, level: float) -> float:
        share = (self.top - min(level, self.top)) / (self.top - self.bottom)
        return TOP + share * (HEIGHT - TOP - BOTTOM)


def _day_bands(plot: _Plot, daily: Sequence[DayFigures], days: _Days) -> str:
    """Shade days that are not yet evaluated, had maintenance, or lacked probe data."""
    bands = []
    for index, (day, figures) in enumerate(zip(days.days, (d.figures for d in daily), strict=True)):
        if days.not_yet[index]:
            colour, note = NOT_YET_COLOUR, "not evaluated yet"
        elif figures.excluded:
            colour = MAINTENANCE_COLOUR
            note = f"maintenance, {figures.excluded} slices excluded"
        elif figures.no_data:
            colour = NO_DATA_COLOUR
            note = f"no probe data in {figures.no_data} slices"
        else:
            continue
        left, step = plot.band(index)
        tip = _title(f"{day.isoformat()}: {note}")
        bands.append(
            _tag(
                "rect",
                tip,
                x=_num(left),
                y=TOP,
                width=_num(step),
                height=_num(plot.height),
                fill=colour,
                shape_rendering="crispEdges",  # no seams between neighbouring days
            )
        )
    return "".join(bands)


def _step_runs(
    plot: _Plot, levels: Sequence[float | None], scale: _NinesScale
) -> list[list[tuple[float, float]]]:
    """Each day's value as a flat step across its column; a day without one breaks the line.

    Steps, not a line from day to day, so that a one-day dip looks one day wide.
    """
    found: list[list[tuple[float, float]]] = [[]]
    for index, level in enumerate(levels):
        if level is None:
            if found[-1]:
                found.append([])
            continue
        left, step = plot.band(index)
        y = scale.y(level)
        found[-1] += [(left, y), (left + step, y)]
    return [run for run in found if run]


def _series(
    plot: _Plot,
    scale: _NinesScale,
    daily: Sequence[DayFigures],
    report: MonthReport,
    *,
    label: str,
    colour: str,
    width: float,
    **attributes: object,
) -> str:
    """One series as polylines and a dot, with its figures as a tooltip, on each dip."""
    levels = [
        None if day.figures.availability is None else nines(day.figures.availability)
        for day in daily
    ]
    lines = "".join(
        _tag("polyline", points=" ".join(f"{_num(x)},{_num(y)}" for x, y in run))
        for run in _step_runs(plot, levels, scale)
    )
    dots = []
    for index, day in enumerate(daily):
        availability = day.figures.availability
        if availability is None or availability == 100:
            continue
        downtime = duration(day.figures.bad * report.slice_seconds)
        tip = _title(f"{label}, {day.day.isoformat()}: {percent(availability)}, {downtime} down")
        y = scale.y(nines(availability))
        dots.append(_tag("circle", tip, cx=_num(plot.x(index)), cy=_num(y), r=3.5, fill=colour))
    return _tag(
        "g",
        lines + "".join(dots),
        fill="none",
        stroke=colour,
        stroke_width=width,
        stroke_linejoin="round",
        stroke_linecap="round",
        **attributes,
    )


def _objective_lines(
    plot: _Plot, scale: _NinesScale, objectives: Sequence[tuple[Decimal, str]]
) -> str:
    """Dashed lines at the contracted objectives, labelled right of the plot, apart."""
    by_objective: dict[Decimal, list[str]] = {}
    for objective, plan in objectives:
        by_objective.setdefault(objective, []).append(plan)
    parts, last_label_y = [], -math.inf
    for objective, plans in sorted(by_objective.items(), reverse=True):
        y = scale.y(nines(Fraction(objective)))
        label_y = max(y + 4, last_label_y + 12)
        last_label_y = label_y
        parts.append(plot.hline(y, OBJECTIVE_COLOUR, stroke_dasharray="5 4", stroke_width=1.2))
        parts.append(
            _text(
                LEFT + plot.width + 5,
                label_y,
                f"{percent(objective)} {'/'.join(plans)}",
                fill=OBJECTIVE_COLOUR,
            )
        )
    return "".join(parts)


def availability_chart(
    target: TargetResult,
    objectives: Sequence[tuple[Decimal, str]],
    days: _Days,
    report: MonthReport,
) -> str:
    """A target's daily availability: one line per family over the target's own line."""
    plot = _Plot(len(days.days), LABELS_RIGHT)
    levels = [nines(objective) for objective, _ in objectives]
    for daily in (target.daily, *(family.daily for family in target.families)):
        levels += [
            nines(d.figures.availability) for d in daily if d.figures.availability is not None
        ]
    scale = _NinesScale.fit(levels)
    grid = []
    for level in range(scale.bottom, scale.top + 1):
        y = scale.y(level)
        grid.append(plot.hline(y, "#e9ecef"))
        label = "100 %" if level == scale.top else _level_label(level)
        grid.append(_text(LEFT - 6, y + 4, label, text_anchor="end"))
    contracted = "" if objectives else " · no contract on this service"
    heading = _text(LEFT, 17, target.name, class_="chart-title") + _text(
        LEFT,
        34,
        f"service {target.service} · {percent(target.figures.availability)} this month"
        + contracted,
    )
    series = _series(
        plot,
        scale,
        target.daily,
        report,
        label=f"{target.name} (both families)",
        colour=TARGET_COLOUR,
        width=6,
        class_="series-target",
    )
    for family in target.families:
        series += _series(
            plot,
            scale,
            family.daily,
            report,
            label=f"{target.name} {FAMILY_NAMES.get(family.family, family.family)}",
            colour=FAMILY_COLOURS.get(family.family, "#495057"),
            width=2,
            class_="series",
            data_family=family.family,
        )
    content = (
        heading
        + _day_bands(plot, target.daily, days)
        + "".join(grid)
        + _objective_lines(plot, scale, objectives)
        + series
        + plot.frame()
        + plot.day_labels(days.days)
    )
    return _svg(
        "availability", f"Daily availability of {target.name}", content, data_target=target.name
    )


# --- error budget burn -------------------------------------------------------------------


def _plain_minutes(value: Fraction) -> str:
    """An axis label in minutes, to 2 places, without the unit: "-15.97"."""
    return f"{float(round(value, 2)):.2f}".rstrip("0").rstrip(".")


def burn_chart(contract: ContractResult, days: _Days, report: MonthReport) -> str:
    """Budget left at the end of each day of the contract's period, in minutes."""
    plot = _Plot(len(days.days))
    minute = Fraction(report.slice_seconds, 60)
    allowed_slices = contract.budget_remaining + contract.figures.bad
    allowed = allowed_slices * minute
    shown = [burn for burn in contract.burn if not days.not_yet[days.index(burn.day)]]
    values = [burn.budget_remaining * minute for burn in shown]
    low = min([Fraction(0), *values])
    high = max([allowed, Fraction(0), *values])
    if high == low:
        high = low + 1
    span = high - low
    # Room above the budget line for its label, and a little below the lowest bar.
    low, high = low - span / 20, high + span / 7

    def y(value: Fraction) -> float:
        return TOP + float((high - value) / (high - low)) * plot.height

    zero = y(Fraction(0))
    bars = []
    for burn, value in zip(shown, values, strict=True):
        left, step = plot.band(days.index(burn.day))
        top, bottom = sorted((y(value), zero))
        tip = _title(
            f"{burn.day.isoformat()}: {minutes(burn.bad_slices, report)} down so far, "
            f"{minutes(burn.budget_remaining, report)} of budget left"
        )
        bars.append(
            _tag(
                "rect",
                tip,
                x=_num(left + step * 0.15),
                y=_num(top),
                width=_num(step * 0.7),
                height=_num(max(bottom - top, 0.8)),
                fill=BUDGET_LEFT_COLOUR if value >= 0 else BUDGET_SPENT_COLOUR,
            )
        )
    marks = (
        plot.hline(y(allowed), "#868e96", stroke_dasharray="5 4")
        + _text(
            LEFT + plot.width - 4,
            y(allowed) - 5,
            f"budget {'so far' if report.month_to_date else 'for the period'}: "
            f"{minutes(allowed_slices, report)}",
            text_anchor="end",
        )
        + plot.hline(zero, "#495057")
        + _text(LEFT - 6, zero + 4, "0 min", text_anchor="end")
    )
    if zero - y(allowed) >= 12:  # else the two axis labels would overlap
        marks += _text(LEFT - 6, y(allowed) + 4, _plain_minutes(allowed), text_anchor="end")
    if values and min(values) < 0:
        marks += _text(LEFT - 6, y(min(values)) + 4, _plain_minutes(min(values)), text_anchor="end")
    status = _text(
        LEFT + plot.width,
        17,
        f"{'breached' if contract.breach else 'within objective'} · "
        f"{minutes(contract.budget_remaining, report)} left",
        text_anchor="end",
        **({"class_": "breached"} if contract.breach else {}),
    )
    name = display_names(report)[contract.customer]
    heading = _text(LEFT, 17, name, class_="chart-title") + _text(
        LEFT,
        34,
        f"{contract.plan} · {contract.service} · {period(contract, report)} · "
        f"availability {percent(contract.figures.availability)} "
        f"(objective {percent(contract.objective)})",
    )
    not_yet = "".join(
        _tag(
            "rect",
            _title(f"{day.isoformat()}: not evaluated yet"),
            x=_num(plot.band(index)[0]),
            y=TOP,
            width=_num(plot.band(index)[1]),
            height=_num(plot.height),
            fill=NOT_YET_COLOUR,
            shape_rendering="crispEdges",
        )
        for index, day in enumerate(days.days)
        if days.not_yet[index]
    )
    content = (
        heading
        + status
        + not_yet
        + "".join(bars)
        + marks
        + plot.frame()
        + plot.day_labels(days.days)
    )
    title = f"Error budget of {name} ({contract.plan}, {contract.service})"
    return _svg("burn", title, content, data_customer=contract.customer)


# --- the page ----------------------------------------------------------------------------


def _legend(items: Iterable[tuple[str, str]]) -> str:
    return _tag(
        "ul",
        "".join(
            _tag("li", _tag("span", "", class_="swatch", style=style) + escape(label))
            for style, label in items
        ),
        class_="legend",
    )


def _availability_section(report: MonthReport, days: _Days, level: str) -> str:
    objectives = objectives_by_service(report)
    charts = "".join(
        availability_chart(target, objectives.get(target.service, []), days, report)
        for target in report.targets
    )
    legend = _legend(
        [
            *(
                (f"background:{colour}", FAMILY_NAMES[family])
                for family, colour in FAMILY_COLOURS.items()
            ),
            (f"background:{TARGET_COLOUR}", "target (both families)"),
            (f"border-top:2px dashed {OBJECTIVE_COLOUR};height:0", "contracted objective"),
            (f"background:{MAINTENANCE_COLOUR}", "maintenance"),
            (f"background:{NO_DATA_COLOUR}", "no probe data"),
            *(
                [(f"background:{NOT_YET_COLOUR};border:1px solid #dee2e6", "not evaluated yet")]
                if report.month_to_date
                else []
            ),
        ]
    )
    note = _tag(
        "p",
        "Daily availability on a scale of nines (90 %, 99 %, 99.9 %, …) so that short dips "
        "and long outages both show; hover a dot for the day's figures.",
        class_="note",
    )
    return (
        _tag(level, "Daily availability per target")
        + note
        + legend
        + _tag("div", charts, class_="charts")
    )


def _burn_section(report: MonthReport, days: _Days, level: str) -> str:
    if not report.contracts:
        return _tag(level, "Error budget burn per contract") + _tag(
            "p", "No contract was active this month.", class_="empty"
        )
    charts = "".join(burn_chart(contract, days, report) for contract in report.contracts)
    note = _tag(
        "p",
        "Error budget left at the end of each day: the bad minutes the objective allows over "
        "the contract's period, minus the bad minutes so far. Red bars: the budget is spent.",
        class_="note",
    )
    return (
        _tag(level, "Error budget burn per contract") + note + _tag("div", charts, class_="charts")
    )


def _month_body(report: MonthReport, level: str) -> list[str]:
    """A month's scope, headline, tables and charts, under headings of `level` ("h2")."""
    days = _Days.of(report)
    breached = any(contract.breach for contract in report.contracts)
    body = [
        _tag("p", escape(scope(report)), class_="banner" if report.month_to_date else "meta"),
        _tag("p", escape(headline(report)), class_=_headline_class(report, breached)),
    ]
    # The charts follow the tables they illustrate: a statement's burn charts its contracts.
    charts = {
        contract_table if report.customer else customer_table: _burn_section,
        target_table: _availability_section,
    }
    for heading, table in STATEMENT_SECTIONS if report.customer else SECTIONS:
        body.append(_tag("section", _tag(level, escape(heading)) + html_table(table(report))))
        chart = charts.get(table)
        if chart is not None and report.targets:
            body.append(_tag("section", chart(report, days, level)))
    return body


def _headline_class(report: MonthReport, breached: bool) -> str:
    if not report.complete:
        return "headline incomplete"
    return "headline breached" if breached else "headline"


def render_html(report: MonthReport | RangeReport) -> str:
    """The whole report as one HTML document, ending with a newline.

    An incomplete report opens with a line saying so, before the title and every figure.
    """
    title = report_title(report)
    warning = incomplete_line(report)
    body = [_tag("p", escape(warning), class_="incomplete", role="alert")] if warning else []
    body += [
        _tag("h1", escape(title)),
        _tag(
            "p",
            escape(f"{report.slice_seconds} s slices · times and days in {report.timezone}"),
            class_="meta",
        ),
    ]
    if isinstance(report, RangeReport):
        body.append(_tag("p", escape(range_scope(report)), class_="meta"))
        for heading, table in RANGE_SECTIONS:
            body.append(_tag("section", _tag("h2", escape(heading)) + html_table(table(report))))
        for month in report.months:
            body.append(_tag("h2", escape(month_title(month)), class_="month"))
            body += _month_body(month, "h3")
    else:
        body += _month_body(report, "h2")
    body.append(_tag("footer", escape(footnote(report))))
    return (
        "<!DOCTYPE html>\n"
        + _tag(
            "html",
            _tag(
                "head",
                '<meta charset="utf-8">'
                '<meta name="viewport" content="width=device-width, initial-scale=1">'
                + _tag("title", escape(title))
                + _tag("style", CSS),
            )
            + _tag("body", _tag("main", "\n".join(body))),
            lang="en",
        )
        + "\n"
    )
