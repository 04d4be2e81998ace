"""The monthly SLA report for people, as Markdown that reads well raw (Slack, email) or rendered.

Every figure comes from the same exact values as the JSON report and goes through its
rounding helpers, so what a person reads here matches the JSON to the last digit.
The tables are built once as plain strings (`Table`) and shared with the HTML renderer,
so both formats always say the same thing; each renderer escapes for its own syntax.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal
from fractions import Fraction

from sla.engine import ContractResult, MonthReport, TargetResult
from sla.report import number, percent_text, timestamp
from sla.slices import zone

DASH = "—"
FAMILIES = ("ipv4", "ipv6")
FAMILY_LABELS = {"ipv4": "IPv4", "ipv6": "IPv6"}


# --- numbers and words -------------------------------------------------------------------


def percent(value: Fraction | Decimal | None) -> str:
    """An availability or objective as in the JSON (half-even, 6 places): "99.950323 %"."""
    rounded = number(value)
    if rounded is None:
        return "n/a"
    return f"{rounded:.6f}".rstrip("0").rstrip(".") + " %"


def money(amount: Decimal, currency: str) -> str:
    """Money as the JSON writes it (already rounded to the minor unit), with its currency."""
    return f"{amount} {currency}"


def amounts(totals: dict[str, Decimal]) -> str:
    """Several currencies' totals on one line; money is never summed across currencies."""
    owed = [money(amount, currency) for currency, amount in totals.items() if amount]
    return ", ".join(owed) if owed else "none"


def duration(seconds: float) -> str:
    """A length of time a person can picture: "45 s", "20 min", "1 h 30 min", "2 d 3 h 5 min"."""
    seconds = round(seconds)
    if seconds == 0:
        return "0 min"
    if seconds < 60:
        return f"{seconds} s"
    minutes, second = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    days, hour = divmod(hours, 24)
    parts = [(days, "d"), (hour, "h"), (minute, "min"), (second, "s")]
    shown = [f"{count} {unit}" for count, unit in parts if count]
    return " ".join(shown[:3])


def slice_time(slices: int, report: MonthReport) -> str:
    """A slice count with the time it stands for: "20 slices (20 min)"."""
    word = "slice" if slices == 1 else "slices"
    if slices == 0:
        return f"0 {word}"
    return f"{slices:,} {word} ({duration(slices * report.slice_seconds)})"


def minutes(slices: Fraction | int, report: MonthReport) -> str:
    """A (possibly fractional) number of slices in minutes, to 3 places: "-15.968 min"."""
    value = round(Fraction(slices) * report.slice_seconds / 60, 3)
    return f"{float(value):.3f}".rstrip("0").rstrip(".") + " min"


def month_title(report: MonthReport) -> str:
    """ "February 2026" from "2026-02"; the month names do not depend on the locale."""
    year, month = report.month.split("-")
    return f"{calendar.month_name[int(month)]} {year}"


def scope(report: MonthReport) -> str:
    """What the figures cover, and that a month still running will change."""
    if report.month_to_date:
        return (
            f"Month to date (until {timestamp(report.evaluated_until)}): only slices that "
            "ended by then are counted, so these figures will still change."
        )
    return f"Whole month: {timestamp(report.month_start)} to {timestamp(report.month_end)}."


def moment(when: datetime, report: MonthReport) -> str:
    """A date when the moment is a midnight in the report's zone, else the full UTC time."""
    local = when.astimezone(zone(report.timezone))
    return local.date().isoformat() if local.time() == time(0) else timestamp(when)


def period(contract: ContractResult, report: MonthReport) -> str:
    """A contract's part of the month: "whole month", "from 2026-02-15", "until ...", "a to b"."""
    start, end = contract.period_start, contract.period_end
    if (start, end) == (report.month_start, report.month_end):
        return "whole month"
    if end == report.month_end:
        return f"from {moment(start, report)}"
    if start == report.month_start:
        return f"until {moment(end, report)}"
    return f"{moment(start, report)} to {moment(end, report)}"


def credit(contract: ContractResult) -> str:
    """ "10 % = 1200.00 USD", or the fixed amount of a schedule entry that gives one."""
    owed = money(contract.credit_amount, contract.currency)
    if contract.credit_percent is None:
        return f"fixed {owed}"
    if not contract.credit_percent:
        return owed
    return f"{percent_text(contract.credit_percent)} % = {owed}"


def credits_by_currency(contracts: Iterable[ContractResult]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for contract in contracts:
        totals[contract.currency] = (
            totals.get(contract.currency, Decimal(0)) + contract.credit_amount
        )
    return totals


def objectives_by_service(report: MonthReport) -> dict[str, list[tuple[Decimal, str]]]:
    """The distinct (objective, plan) pairs contracted on each service, highest first."""
    found: dict[str, set[tuple[Decimal, str]]] = {}
    for contract in report.contracts:
        found.setdefault(contract.service, set()).add((contract.objective, contract.plan))
    return {service: sorted(pairs, reverse=True) for service, pairs in found.items()}


def headline(report: MonthReport) -> str:
    """One sentence for a chat preview: how many contracts breached, what is owed."""
    breached = sum(contract.breach for contract in report.contracts)
    total = len(report.contracts)
    if total == 0:
        return "No contract was active this month."
    owed = amounts(credits_by_currency(report.contracts))
    if report.month_to_date:
        return (
            f"So far this month {breached} of {total} contracts are below their objective; "
            f"credits owed if the month ended now: {owed}."
        )
    return f"{breached} of {total} contracts breached their objective; credits owed: {owed}."


# --- tables shared with the HTML renderer ------------------------------------------------


@dataclass(frozen=True)
class Table:
    """Plain-text cells; `numeric` columns are right-aligned. Escaping is the renderer's."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...]
    empty: str  # what to say instead of a table without rows


def plan_table(report: MonthReport) -> Table:
    """Per plan tier, in order of first appearance: contracts, breaches, credits owed."""
    plans: dict[str, list[ContractResult]] = {}
    for contract in report.contracts:
        plans.setdefault(contract.plan, []).append(contract)
    rows = tuple(
        (
            plan,
            str(len(contracts)),
            str(sum(contract.breach for contract in contracts)),
            amounts(credits_by_currency(contracts)),
        )
        for plan, contracts in plans.items()
    )
    return Table(
        ("Plan", "Contracts", "Breached", "Credits owed"),
        rows,
        (False, True, True, True),
        "No contract was active this month.",
    )


def breach_table(report: MonthReport) -> Table:
    rows = tuple(
        (
            contract.customer,
            contract.plan,
            contract.service,
            period(contract, report),
            percent(contract.figures.availability),
            percent(contract.objective),
            duration(contract.figures.bad * report.slice_seconds),
            minutes(contract.budget_remaining, report),
            credit(contract),
        )
        for contract in report.contracts
        if contract.breach
    )
    return Table(
        (
            "Customer",
            "Plan",
            "Service",
            "Period",
            "Availability",
            "Objective",
            "Downtime",
            "Budget left",
            "Credit",
        ),
        rows,
        (False, False, False, False, True, True, True, True, True),
        "No contract breached its objective.",
    )


def customer_table(report: MonthReport) -> Table:
    rows = tuple(
        (total.customer, money(total.credit_total, total.currency))
        for total in report.customers
        if total.credit_total
    )
    return Table(("Customer", "Credit owed"), rows, (False, True), "No credits are owed.")


def incident_table(report: MonthReport) -> Table:
    rows = tuple(
        (
            str(number),
            timestamp(incident.start),
            timestamp(incident.end),
            duration(incident.slices * report.slice_seconds),
            ", ".join(incident.targets),
        )
        for number, incident in enumerate(report.incidents, 1)
    )
    return Table(
        ("#", "Start", "End", "Duration", "Targets"),
        rows,
        (True, False, False, True, False),
        "No incidents.",
    )


def family_percent(target: TargetResult, family: str) -> str:
    for result in target.families:
        if result.family == family:
            return percent(result.figures.availability)
    return DASH  # the target is not probed over this family


def target_table(report: MonthReport) -> Table:
    rows = tuple(
        (
            target.name,
            target.service,
            percent(target.figures.availability),
            *(family_percent(target, family) for family in FAMILIES),
            duration(target.figures.bad * report.slice_seconds),
        )
        for target in report.targets
    )
    return Table(
        ("Target", "Service", "Availability", *(FAMILY_LABELS[f] for f in FAMILIES), "Downtime"),
        rows,
        (False, False, True, True, True, True),
        "No targets are configured.",
    )


def coverage_table(report: MonthReport) -> Table:
    rows = tuple(
        (
            target.name,
            slice_time(target.figures.eligible, report),
            slice_time(target.figures.no_data, report),
            slice_time(target.figures.excluded, report),
        )
        for target in report.targets
    )
    return Table(
        ("Target", "Eligible", "No data", "Excluded (maintenance)"),
        rows,
        (False, True, True, True),
        "No targets are configured.",
    )


SECTIONS = (
    ("Summary by plan", plan_table),
    ("Breaches", breach_table),
    ("Credits owed per customer", customer_table),
    ("Incidents", incident_table),
    ("Availability per target (IPv4 and IPv6)", target_table),
    ("Data coverage", coverage_table),
)


def footnote(report: MonthReport) -> str:
    return (
        f"Slices of {report.slice_seconds} s. Availability = (eligible - bad) / eligible "
        "slices; exactly at the objective is no breach. Maintenance slices are excluded; "
        "slices without probe data are handled as the config's sla.no_data setting says. "
        "A contract period runs from its start up to, not including, its end. "
        f"Times are UTC; dates and days are calendar days in {report.timezone}."
    )


# --- Markdown ----------------------------------------------------------------------------

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


def render_md(report: MonthReport) -> str:
    """The whole report as Markdown, ending with a newline."""
    lines = [
        f"# SLA report {DASH} {month_title(report)} ({md_text(report.timezone)})",
        "",
        f"**{scope(report)}**" if report.month_to_date else scope(report),
        "",
        headline(report),
    ]
    for title, table in SECTIONS:
        lines += ["", f"## {title}", "", *md_table(table(report))]
    lines += ["", footnote(report)]
    return "\n".join(lines) + "\n"
