"""The monthly SLA report as one self-contained HTML page, with charts drawn as inline SVG.

One file a person can mail, archive and open anywhere, offline: inline CSS only, no
scripts, fonts, style sheets or images from elsewhere. The page is the Jinja2 templates
of `sla/render/templates` (autoescaped: every text from the config shows as text, in the
tables and inside the SVG alike); this module only computes what they show: the shared
sections (`sla.render.tables`, so the page says what the Markdown says) and the charts'
geometry. Chart titles and captions are HTML around the SVG, so long names wrap instead
of running into the plot.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from jinja2 import Environment, PackageLoader, StrictUndefined

from sla.availability import DayFigures
from sla.engine import ContractResult, MonthReport, TargetResult
from sla.ranges import RangeReport
from sla.render.formatting import (
    IN_THE_DATA,
    NOT_FINAL,
    availability,
    budget,
    credit_terms,
    display_names,
    duration,
    headline,
    incomplete_line,
    issued,
    minutes,
    month_title,
    objectives_by_service,
    percent,
    period,
    provider_lines,
    range_scope,
    report_title,
    scope,
)
from sla.render.tables import (
    RANGE_SECTIONS,
    Section,
    Table,
    contract_table,
    customer_table,
    footnote,
    sections,
    short_target,
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

WIDTH, HEIGHT = 540, 200
LEFT, TOP, BOTTOM = 70, 14, 26
RIGHT = 14
LABELS_RIGHT = 64  # room right of the availability plot for the objective labels


@functools.cache
def _templates() -> Environment:
    """The report's templates, compiled once per process."""
    environment = Environment(
        loader=PackageLoader("sla.render", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.tests["table"] = lambda value: isinstance(value, Table)
    return environment


def _num(value: float) -> str:
    """An SVG coordinate: one decimal is finer than a pixel."""
    return f"{value:.1f}"


# --- what the charts draw ---------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    """A rectangle, with the tooltip browsers show over it."""

    x: str
    y: str
    width: str
    height: str
    colour: str
    note: str


@dataclass(frozen=True)
class Label:
    """A text in the chart; `anchor` is SVG's text-anchor."""

    x: str
    y: str
    text: str
    anchor: str = "start"
    colour: str = "#495057"


@dataclass(frozen=True)
class Rule:
    """A horizontal line across the plot."""

    y: str
    colour: str
    dashed: bool = False


@dataclass(frozen=True)
class Dot:
    x: str
    y: str
    note: str


@dataclass(frozen=True)
class Series:
    """One line of a chart: polylines (a day without data breaks it) and dots on dips."""

    css: str
    family: str | None
    colour: str
    width: int
    lines: tuple[str, ...]  # each a polyline's points
    dots: tuple[Dot, ...]


@dataclass(frozen=True)
class Plot:
    """Where the plot area of a chart sits, and the x position of each day."""

    days: int
    right: float = RIGHT

    @property
    def width(self) -> float:
        return WIDTH - LEFT - self.right

    @property
    def height(self) -> float:
        return HEIGHT - TOP - BOTTOM

    @property
    def frame(self) -> Box:
        """The plot's outline."""
        return Box(str(LEFT), str(TOP), _num(self.width), _num(self.height), "none", "")

    @property
    def x1(self) -> str:
        return str(LEFT)

    @property
    def x2(self) -> str:
        return _num(LEFT + self.width)

    def band(self, index: int) -> tuple[float, float]:
        """Left edge and width of the day's column."""
        step = self.width / self.days
        return LEFT + index * step, step

    def x(self, index: int) -> float:
        left, step = self.band(index)
        return left + step / 2

    def day_box(self, index: int, colour: str, note: str) -> Box:
        left, step = self.band(index)
        return Box(_num(left), str(TOP), _num(step), _num(self.height), colour, note)

    def day_labels(self, days: Sequence[date]) -> tuple[Label, ...]:
        """Day numbers under the plot: the 1st, every 5th (unless too near) and the last."""
        last = len(days) - 1
        fifths = {n for n in range(last - 2) if days[n].day % 5 == 0}
        return tuple(
            Label(_num(self.x(n)), str(HEIGHT - 8), str(days[n].day), "middle")
            for n in sorted({0, last} | fifths)
        )


@dataclass(frozen=True)
class AvailabilityChart:
    target: str
    service: str
    caption: str
    objectives: str  # "Objectives: 99.99 % (enterprise), 99.9 % (pro)", or ""
    plot: Plot
    bands: tuple[Box, ...]
    grid: tuple[Rule, ...]
    labels: tuple[Label, ...]
    objective_lines: tuple[Rule, ...]
    series: tuple[Series, ...]


@dataclass(frozen=True)
class BurnChart:
    customer: str
    name: str
    caption: str
    status: str
    breached: bool
    plot: Plot
    not_yet: tuple[Box, ...]
    bars: tuple[Box, ...]
    rules: tuple[Rule, ...]
    labels: tuple[Label, ...]


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


def _day_bands(plot: Plot, daily: Sequence[DayFigures], days: _Days) -> tuple[Box, ...]:
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
        bands.append(plot.day_box(index, colour, f"{day.isoformat()}: {note}"))
    return tuple(bands)


def _step_runs(
    plot: Plot, levels: Sequence[float | None], scale: _NinesScale
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
    plot: Plot,
    scale: _NinesScale,
    daily: Sequence[DayFigures],
    report: MonthReport,
    *,
    label: str,
    colour: str,
    width: int,
    css: str,
    family: str | None = None,
) -> Series:
    """One series as polylines and a dot, with its figures as a tooltip, on each dip."""
    levels = [
        None if day.figures.availability is None else nines(day.figures.availability)
        for day in daily
    ]
    lines = tuple(
        " ".join(f"{_num(x)},{_num(y)}" for x, y in run) for run in _step_runs(plot, levels, scale)
    )
    dots = []
    for index, day in enumerate(daily):
        value = day.figures.availability
        if value is None or value == 100:
            continue
        downtime = duration(day.figures.bad * report.slice_seconds)
        note = f"{label}, {day.day.isoformat()}: {percent(value)}, {downtime} down"
        dots.append(Dot(_num(plot.x(index)), _num(scale.y(nines(value))), note))
    return Series(css, family, colour, width, lines, tuple(dots))


def availability_chart(
    target: TargetResult,
    objectives: Sequence[tuple[Decimal, str]],
    days: _Days,
    report: MonthReport,
) -> AvailabilityChart:
    """A target's daily availability: one line per family over the target's own line."""
    plot = Plot(len(days.days), LABELS_RIGHT)
    levels = [nines(objective) for objective, _ in objectives]
    for daily in (target.daily, *(family.daily for family in target.families)):
        levels += [
            nines(d.figures.availability) for d in daily if d.figures.availability is not None
        ]
    scale = _NinesScale.fit(levels)
    grid, labels = [], []
    for level in range(scale.bottom, scale.top + 1):
        y = scale.y(level)
        grid.append(Rule(_num(y), "#e9ecef"))
        text = "100 %" if level == scale.top else _level_label(level)
        labels.append(Label(str(LEFT - 6), _num(y + 4), text, "end"))
    by_objective: dict[Decimal, list[str]] = {}
    for objective, plan in objectives:
        by_objective.setdefault(objective, []).append(plan)
    lines, last_y = [], -math.inf
    for objective in sorted(by_objective, reverse=True):
        y = scale.y(nines(Fraction(objective)))
        label_y = max(y + 4, last_y + 12)  # labels kept apart when objectives are near
        last_y = label_y
        lines.append(Rule(_num(y), OBJECTIVE_COLOUR, dashed=True))
        labels.append(
            Label(
                _num(LEFT + plot.width + 5),
                _num(label_y),
                percent(objective),
                colour=OBJECTIVE_COLOUR,
            )
        )
    series = [
        _series(
            plot,
            scale,
            target.daily,
            report,
            label=f"{target.name} (both families)",
            colour=TARGET_COLOUR,
            width=6,
            css="series-target",
        )
    ]
    series += [
        _series(
            plot,
            scale,
            family.daily,
            report,
            label=f"{target.name} {FAMILY_NAMES.get(family.family, family.family)}",
            colour=FAMILY_COLOURS.get(family.family, "#495057"),
            width=2,
            css="series",
            family=family.family,
        )
        for family in target.families
    ]
    shown = ", ".join(
        f"{percent(o)} ({'/'.join(p)})" for o, p in sorted(by_objective.items(), reverse=True)
    )
    month_figure = percent(target.figures.availability)
    if short_target(target, report) and target.figures.eligible:
        month_figure = f"{month_figure} {IN_THE_DATA}"
    return AvailabilityChart(
        target=target.name,
        service=target.service,
        caption=f"service {target.service} · this month {month_figure}",
        objectives=f"Objectives: {shown}" if shown else "No contract on this service.",
        plot=plot,
        bands=_day_bands(plot, target.daily, days),
        grid=tuple(grid),
        labels=(*labels, *plot.day_labels(days.days)),
        objective_lines=tuple(lines),
        series=tuple(series),
    )


# --- error budget burn -------------------------------------------------------------------


def _plain_minutes(value: Fraction) -> str:
    """An axis label in minutes, to 2 places, without the unit: "-15.97"."""
    return f"{float(round(value, 2)):.2f}".rstrip("0").rstrip(".")


def _burn_status(contract: ContractResult, report: MonthReport) -> tuple[str, bool]:
    """ "breached · overspent by 15.974 min", never "within objective" while not final."""
    left = budget(contract, report)
    if contract.complete:
        word = "breached" if contract.breach else "within objective"
        return f"{word} · {left}", contract.breach
    if contract.breach_certain:
        return f"breached · {left}", True
    return f"{NOT_FINAL} · {left}", False


def burn_chart(contract: ContractResult, days: _Days, report: MonthReport) -> BurnChart:
    """Budget left at the end of each day of the contract's period, in minutes."""
    plot = Plot(len(days.days))
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
    low, high = low - span / 20, high + span / 6

    def y(value: Fraction) -> float:
        return TOP + float((high - value) / (high - low)) * plot.height

    zero = y(Fraction(0))
    bars = []
    for burn, value in zip(shown, values, strict=True):
        left, step = plot.band(days.index(burn.day))
        top, bottom = sorted((y(value), zero))
        note = (
            f"{burn.day.isoformat()}: {minutes(burn.bad_slices, report)} down so far, "
            f"{minutes(burn.budget_remaining, report)} of budget left"
        )
        colour = BUDGET_LEFT_COLOUR if value >= 0 else BUDGET_SPENT_COLOUR
        bars.append(
            Box(
                _num(left + step * 0.15),
                _num(top),
                _num(step * 0.7),
                _num(max(bottom - top, 0.8)),
                colour,
                note,
            )
        )
    so_far = "so far" if not report.final else "for the period"
    labels = [
        Label(
            _num(LEFT + plot.width - 4),
            _num(y(allowed) - 5),
            f"budget {so_far}: {minutes(allowed_slices, report)}",
            "end",
        ),
        Label(str(LEFT - 6), _num(zero + 4), "0 min", "end"),
    ]
    if zero - y(allowed) >= 12:  # else the two axis labels would overlap
        labels.append(Label(str(LEFT - 6), _num(y(allowed) + 4), _plain_minutes(allowed), "end"))
    if values and min(values) < 0 and y(min(values)) - zero >= 12:
        labels.append(
            Label(str(LEFT - 6), _num(y(min(values)) + 4), _plain_minutes(min(values)), "end")
        )
    status, breached = _burn_status(contract, report)
    name = display_names(report)[contract.customer]
    return BurnChart(
        customer=contract.customer,
        name=name,
        caption=(
            f"{contract.plan} · {contract.service} · {period(contract, report)} · "
            f"availability {availability(contract)}"
            + ("" if contract.complete else f" {IN_THE_DATA}")
            + f" (objective {percent(contract.objective)})"
        ),
        status=status,
        breached=breached,
        plot=plot,
        not_yet=tuple(
            plot.day_box(index, NOT_YET_COLOUR, f"{day.isoformat()}: not evaluated yet")
            for index, day in enumerate(days.days)
            if days.not_yet[index]
        ),
        bars=tuple(bars),
        rules=(Rule(_num(y(allowed)), "#868e96", dashed=True), Rule(_num(zero), "#495057")),
        labels=(*labels, *plot.day_labels(days.days)),
    )


# --- the page ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """One section of the page: a heading and a table or sentences, or charts."""

    heading: str
    section: Section | None = None
    charts: str | None = None  # "availability" or "burn"
    availability: tuple[AvailabilityChart, ...] = ()
    burn: tuple[BurnChart, ...] = ()
    empty: str = ""


@dataclass(frozen=True)
class MonthView:
    title: str | None  # a range's month heading
    scope: str
    scope_class: str
    headline: str
    headline_class: str
    blocks: tuple[Block, ...]


def _headline_class(report: MonthReport) -> str:
    if not report.complete:
        return "headline provisional"
    return "headline breached" if any(c.breach for c in report.contracts) else "headline"


def _month_view(report: MonthReport, title: str | None = None) -> MonthView:
    """A month's scope, headline, sections and charts; the charts follow the table they
    illustrate (a statement's burn charts its contracts)."""
    days = _Days.of(report)
    blocks = []
    burn_after = contract_table if report.customer else customer_table
    for heading, section in sections(report):
        blocks.append(Block(heading, section(report)))
        if not report.targets:
            continue
        if section is burn_after:
            blocks.append(
                Block(
                    "Error budget burn per contract",
                    charts="burn",
                    burn=tuple(burn_chart(c, days, report) for c in report.contracts),
                    empty="No contract was active this month.",
                )
            )
        elif section is target_table:
            objectives = objectives_by_service(report)
            blocks.append(
                Block(
                    "Daily availability per target",
                    charts="availability",
                    availability=tuple(
                        availability_chart(t, objectives.get(t.service, []), days, report)
                        for t in report.targets
                    ),
                )
            )
    return MonthView(
        title=title,
        scope=scope(report),
        scope_class="banner" if not report.final else "meta",
        headline=headline(report),
        headline_class=_headline_class(report),
        blocks=tuple(blocks),
    )


def render_html(report: MonthReport | RangeReport) -> str:
    """The whole report as one HTML document, ending with a newline.

    An incomplete report opens with a line saying so, before who issues it, the title
    and every figure.
    """
    if isinstance(report, RangeReport):
        range_blocks = tuple(Block(heading, table(report)) for heading, table in RANGE_SECTIONS)
        months = tuple(_month_view(month, month_title(month)) for month in report.months)
        where = range_scope(report)
    else:
        range_blocks, months, where = (), (_month_view(report),), None
    return (
        _templates()
        .get_template("report.html.j2")
        .render(
            title=report_title(report),
            warning=incomplete_line(report),
            provider=_provider(report),
            reference=report.reference,
        issued=issued(report),
            terms=credit_terms(report),
            slices=f"{report.slice_seconds} s slices · times and days in {report.timezone}",
            range_scope=where,
            range_blocks=range_blocks,
            months=months,
            month_level="h3" if isinstance(report, RangeReport) else "h2",
            footnote=footnote(report),
            legend=_legend(any(not month.final for month in _months_of(report))),
            FONT="DejaVu Sans, Helvetica, Arial, sans-serif",
        )
    )


@dataclass(frozen=True)
class _Issuer:
    name: str | None
    lines: tuple[str, ...]  # address lines, then the contact


def _provider(report: MonthReport | RangeReport) -> _Issuer | None:
    """Who issues the report, for its header: the name apart from the lines under it."""
    lines = provider_lines(report)
    if not lines:
        return None
    name = report.provider.name
    if name and name.strip():
        return _Issuer(lines[0], tuple(lines[1:]))
    return _Issuer(None, tuple(lines))


def _months_of(report: MonthReport | RangeReport) -> tuple[MonthReport, ...]:
    return report.months if isinstance(report, RangeReport) else (report,)


def _legend(running: bool) -> tuple[tuple[str, str], ...]:
    """The availability charts' legend: (CSS of the swatch, what it means)."""
    items = [
        *(
            (f"background:{colour}", FAMILY_NAMES[family])
            for family, colour in FAMILY_COLOURS.items()
        ),
        (f"background:{TARGET_COLOUR}", "target (both families)"),
        (f"border-top:2px dashed {OBJECTIVE_COLOUR};height:0", "contracted objective"),
        (f"background:{MAINTENANCE_COLOUR}", "maintenance"),
        (f"background:{NO_DATA_COLOUR}", "no probe data"),
    ]
    if running:
        items.append((f"background:{NOT_YET_COLOUR};border:1px solid #dee2e6", "not evaluated yet"))
    return tuple(items)
