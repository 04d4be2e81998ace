"""Values as people and the JSON report write them, shared by every renderer.

Exact values are rounded only here: percentages half-even to 6 places, money already
rounded to the currency's minor unit and written as a string, never a float. The
Markdown and HTML reports go through the same helpers as the JSON, so what a person
reads matches the JSON to the last digit.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import datetime, time
from decimal import Decimal
from fractions import Fraction

from sla.engine import ContractResult, MonthReport
from sla.ranges import RangeReport
from sla.slices import zone
from sla.timestamps import local_time

PLACES = 6


def number(value: Fraction | Decimal | None) -> float | None:
    """An exact value as a JSON number: rounded half-even to 6 places, then a float."""
    if value is None:
        return None
    return float(round(Fraction(value), PLACES))


def percent_text(percent: Decimal | None) -> str | None:
    """A credit percent as written in a schedule: "10", "12.5", never "1E+1"."""
    return None if percent is None else format(percent.normalize(), "f")


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


def slice_time(slices: int, report: MonthReport | RangeReport) -> str:
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


def report_title(report: MonthReport | RangeReport) -> str:
    """ "SLA report — February 2026 (UTC)", or "SLA statement for Acme Corp. (acme) — ..."."""
    if isinstance(report, RangeReport):
        first, last = report.first, report.last
        span = (
            month_title(first) if first is last else f"{month_title(first)} to {month_title(last)}"
        )
        customer = first.customer
    else:
        span, customer = month_title(report), report.customer
    kind = "SLA report"
    if customer is not None:
        months = report.months if isinstance(report, RangeReport) else (report,)
        names = {c: n for month in months for c, n in display_names(month).items()}
        kind = f"SLA statement for {names.get(customer, customer)}"
    return f"{kind} — {span} ({report.timezone})"


def range_scope(report: RangeReport) -> str:
    where = zone(report.timezone)
    return (
        f"From {local_time(report.first.month_start, where)} to "
        f"{local_time(report.last.month_end, where)} ({report.timezone}). The range's "
        "figures are computed over all of its slices, not averaged from the months; each "
        "month's figures and credits follow."
    )


def scope(report: MonthReport) -> str:
    """What the figures cover, and that a month still running will change."""
    where = zone(report.timezone)
    if report.month_to_date:
        return (
            f"Month to date (until {local_time(report.evaluated_until, where)}): "
            "only slices that ended by then are counted, so these figures will still change."
        )
    return (
        f"Whole month: {local_time(report.month_start, where)} to "
        f"{local_time(report.month_end, where)} ({report.timezone})."
    )


def moment(when: datetime, report: MonthReport) -> str:
    """A date when the moment is a midnight in the report's zone, else the full local time."""
    where = zone(report.timezone)
    local = when.astimezone(where)
    return local.date().isoformat() if local.time() == time(0) else local_time(when, where)


def display_names(report: MonthReport) -> dict[str, str]:
    """Each customer of the report as people read it: "Acme Corp. (acme)", the display name
    (its first contract's that has one) beside the identifier the config uses."""
    named: dict[str, str | None] = {}
    for contract in report.contracts:
        if named.get(contract.customer) is None:
            named[contract.customer] = contract.display_name
    return {
        customer: customer if name is None else f"{name} ({customer})"
        for customer, name in named.items()
    }


def coverage(value: Fraction | None) -> str:
    """A coverage percentage, or what None means: nothing could be measured."""
    return "no slice to measure" if value is None else percent(value)


def incomplete_line(report: MonthReport | RangeReport) -> str | None:
    """What opens every human format of a report whose data is short (docs/report-schema.md):
    each short target of each month, with its coverage."""
    months = report.months if isinstance(report, RangeReport) else (report,)
    short = [
        f"{month.month} for "
        + ", ".join(f"{target.name} ({coverage(target.figures.coverage)})" for target in targets)
        for month in months
        if (targets := month.short_targets)
    ]
    if not short:
        return None
    return (
        f"INCOMPLETE REPORT: probe data covers less than {percent(months[0].min_coverage)} "
        f"of {' and of '.join(short)}; the figures below are not final."
    )


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
    """One sentence for a chat preview: how many contracts breached, what is owed.

    A month whose data is short never reads as a clean one: it says what the data so far
    gives, and that it is not final.
    """
    breached = sum(contract.breach for contract in report.contracts)
    total = len(report.contracts)
    if total == 0:
        return "No contract was active this month."
    owed = amounts(credits_by_currency(report.contracts))
    if not report.complete:
        so_far = "no credit" if owed == "none" else owed
        return (
            f"Data is incomplete: on the data there is, {breached} of {total} contracts are "
            f"below their objective and the credits come to {so_far}; not final until the "
            "missing data is in."
        )
    if report.month_to_date:
        return (
            f"So far this month {breached} of {total} contracts are below their objective; "
            f"credits owed if the month ended now: {owed}."
        )
    return f"{breached} of {total} contracts breached their objective; credits owed: {owed}."
