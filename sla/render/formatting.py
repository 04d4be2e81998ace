"""Values as people and the JSON report write them, shared by every renderer.

Exact values are rounded only here. The JSON writes percentages half-even to 6 places and
money as a string in the currency's minor unit, never a float. People read availability
truncated, never rounded up, with as many decimals as it takes for a breach never to read
as equal to its objective; money with thousands separators; and every figure of a
contract whose data is short or whose month still runs with its qualifier ("in the data
there is", "not final") in the same sentence or table cell.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Iterable, Sequence
from datetime import datetime, time
from decimal import Decimal
from fractions import Fraction

from sla.credits import round_money
from sla.engine import ContractResult, MonthReport, SliceIncident, TargetResult
from sla.ranges import RangeReport
from sla.slices import zone
from sla.timestamps import local_time
from sla.vocabulary import FAMILY_NAMES

PLACES = 6
IN_THE_DATA = "in the data there is"
NOT_FINAL = "not final"
CONTINUES = "continues"


def number(value: Fraction | Decimal | None) -> float | None:
    """An exact value as a JSON number: rounded half-even to 6 places, then a float."""
    if value is None:
        return None
    return float(round(Fraction(value), PLACES))


def percent_text(percent: Decimal | None) -> str | None:
    """A credit percent as written in a schedule: "10", "12.5", never "1E+1"."""
    return None if percent is None else format(percent.normalize(), "f")


def _decimals(value: Fraction, places: int) -> str:
    """`value` (already cut to `places`) with its decimals, trailing zeros dropped."""
    scaled = value * 10**places
    whole, part = divmod(abs(int(scaled)), 10**places)
    sign = "-" if value < 0 else ""
    digits = f"{part:0{places}d}".rstrip("0")
    return f"{sign}{whole}" + (f".{digits}" if digits else "")


def _truncated(value: Fraction, places: int) -> Fraction:
    return Fraction(math.floor(value * 10**places), 10**places)


def percent(value: Fraction | Decimal | None, against: Decimal | None = None) -> str:
    """A percentage truncated (never rounded up): 99.98999975 reads "99.989999 %", and
    99.9999999 never "100 %". Against a threshold (an objective), decimals are added
    until the figure reads on the same side of it as the exact value."""
    if value is None:
        return "n/a"
    exact = Fraction(value)
    places = PLACES
    shown = _truncated(exact, places)
    while against is not None and (shown < against) != (exact < against):
        places += 1
        shown = _truncated(exact, places)
    return _decimals(shown, places) + " %"


def coverage(value: Fraction | None, threshold: Decimal | None = None) -> str:
    """A coverage as the JSON rounds it ("35.729167 %"), unless that would read as reaching
    `threshold` while the exact value is short: then truncated with enough decimals."""
    if value is None:
        return "no slice to measure"
    rounded = Fraction(round(value, PLACES))
    if threshold is not None and (rounded < threshold) != (value < threshold):
        return percent(value, threshold)
    return _decimals(rounded, PLACES) + " %"


def money(amount: Decimal, currency: str) -> str:
    """Money as people read it: thousands grouped with commas, the minor unit kept, the
    currency after: "1,200.00 USD", "22,500 JPY", "370.370 KWD"."""
    return f"{amount:,f} {currency}"


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


def minutes(slices: Fraction | int, report: MonthReport | RangeReport) -> str:
    """A (possibly fractional) number of slices in minutes, to 3 places ("1,440 min"), or
    to the first digit that is not 0 when that is smaller: never "0 min" for a budget
    overspent by 0.0001 min."""
    exact = Fraction(slices) * report.slice_seconds / 60
    places = 3
    while exact and round(exact, places) == 0 and places < 12:
        places += 1
    value = round(exact, places)
    return f"{float(value):,.{places}f}".rstrip("0").rstrip(".") + " min"


def month_title(report: MonthReport) -> str:
    """ "February 2026" from "2026-02"; the month names do not depend on the locale."""
    year, month = report.month.split("-")
    return f"{calendar.month_name[int(month)]} {year}"


def _months(report: MonthReport | RangeReport) -> tuple[MonthReport, ...]:
    return report.months if isinstance(report, RangeReport) else (report,)


def report_title(report: MonthReport | RangeReport) -> str:
    """ "SLA report — February 2026 (UTC)", or "SLA statement for Acme Corp. (acme) — ..."."""
    if isinstance(report, RangeReport):
        first, last = report.first, report.last
        span = (
            month_title(first) if first is last else f"{month_title(first)} to {month_title(last)}"
        )
    else:
        span = month_title(report)
    kind = "SLA report"
    if report.customer is not None:
        names = {c: n for month in _months(report) for c, n in display_names(month).items()}
        kind = f"SLA statement for {names.get(report.customer, report.customer)}"
    return f"{kind} — {span} ({report.timezone})"


def issued_line(report: MonthReport | RangeReport) -> str:
    """ "Reference SLA-2026-03-acme · issued 2026-04-20 00:00 CEST": what finance files it by."""
    when = issued(report)
    return f"Reference {report.reference}" + ("" if when is None else f" · {when}")


def issued(report: MonthReport | RangeReport) -> str | None:
    """ "issued 2026-04-20 00:00 CEST", in the report's zone."""
    if report.issued_at is None:
        return None
    return f"issued {local_time(report.issued_at, zone(report.timezone))}"


def provider_lines(report: MonthReport | RangeReport) -> list[str]:
    """Who issues the report: name, address (its lines), contact; nothing when unset."""
    provider = report.provider
    lines = [provider.name, *(provider.address or "").splitlines(), provider.contact]
    return [line.strip() for line in lines if line and line.strip()]


def credit_terms(report: MonthReport | RangeReport) -> str | None:
    """How credits are applied, as the provider words it."""
    terms = report.provider.credit_terms
    return f"Credit terms: {' '.join(terms.split())}" if terms and terms.strip() else None


def range_scope(report: RangeReport) -> str:
    where = zone(report.timezone)
    return (
        f"From {local_time(report.first.month_start, where)} to "
        f"{local_time(report.last.month_end, where)} ({report.timezone}). The range's "
        "figures are computed over all of its slices, not averaged from the months; each "
        "month's figures and credits follow. Final credits are those of months that have "
        "ended; provisional ones may still change."
    )


def scope(report: MonthReport) -> str:
    """What the figures cover, and that a month still running will change."""
    where = zone(report.timezone)
    if report.month_to_date or not report.final:
        return (
            f"Month to date (until {local_time(report.evaluated_until, where)}): "
            "only slices that ended by then are counted, so these figures are not final."
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
        customer: customer if name is None else f"{' '.join(name.split())} ({customer})"
        for customer, name in named.items()
    }


def contract_label(contract: ContractResult, report: MonthReport) -> str:
    """ "globex pro on search from 2026-03-24": which contract, in a sentence."""
    return f"{contract.customer} {contract.plan} on {contract.service}, {period(contract, report)}"


def _short_target(target: TargetResult, month: MonthReport) -> list[str]:
    """ "search (35.729167 %)" when every family is short, else each short family alone:
    "api-health IPv6 (67.741935 %)"."""
    threshold = month.min_coverage
    short = [family for family in target.families if month.short(family.figures.coverage)]
    if len(short) == len(target.families):
        return [f"{target.name} ({coverage(target.coverage, threshold)})"]
    return [
        f"{target.name} {FAMILY_NAMES[family.family]} "
        f"({coverage(family.figures.coverage, threshold)})"
        for family in short
    ]


def incomplete_line(report: MonthReport | RangeReport) -> str | None:
    """What opens every human format of a report that is not complete: the months that have
    not ended, and each short target, family and contract with its coverage."""
    parts = []
    for month in _months(report):
        where = zone(month.timezone)
        if not month.final:
            parts.append(
                f"{month.month} has not ended (figures until "
                f"{local_time(month.evaluated_until, where)})"
            )
        threshold = month.min_coverage
        short = [
            text for target in month.short_targets for text in _short_target(target, month)
        ]
        short += [
            f"contract {contract_label(contract, month)} ({coverage(contract.coverage, threshold)})"
            for contract in month.short_contracts
        ]
        if short:
            parts.append(
                f"probe data covers less than {percent(threshold)} of {month.month} for "
                + ", ".join(short)
            )
    if not parts:
        return None
    return f"INCOMPLETE REPORT: {'; '.join(parts)}; the figures below are not final."


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


# --- a contract's figures, each with its qualifier ------------------------------------


def availability(contract: ContractResult) -> str:
    return percent(contract.figures.availability, contract.objective)


def breach(contract: ContractResult) -> str:
    """ "yes", "no", or "not final" while data is short and no data can undo the breach."""
    if contract.complete:
        return "yes" if contract.breach else "no"
    return "yes" if contract.breach_certain else NOT_FINAL


def downtime(contract: ContractResult, report: MonthReport) -> str:
    text = minutes(contract.figures.bad, report)
    return text if contract.complete else f"{text} {IN_THE_DATA}"


def budget(contract: ContractResult, report: MonthReport) -> str:
    """ "4.026 min left" or "overspent by 15.974 min"."""
    left = contract.budget_remaining
    text = f"overspent by {minutes(-left, report)}" if left < 0 else f"{minutes(left, report)} left"
    return text if contract.complete else f"{text} {IN_THE_DATA}"


def credit(contract: ContractResult) -> str:
    """The amount owed, "at least X" when data is short but the breach is certain, or
    "not final"."""
    owed = money(contract.credit_amount, contract.currency)
    if contract.complete:
        return owed
    if contract.credit_at_least is not None:
        return f"at least {money(contract.credit_at_least, contract.currency)}, {NOT_FINAL}"
    return NOT_FINAL


def proration(contract: ContractResult, report: MonthReport) -> str | None:
    """ "11 of 31 days": the share of the month the fee is prorated by, in the unit that
    states it exactly (hours in a month with a DST change, seconds if need be); None for
    a whole month."""
    part = contract.period_seconds
    whole = round((report.month_end - report.month_start).total_seconds())
    if part == whole:
        return None
    for unit, size in (("days", 86400), ("hours", 3600)):
        if part % size == 0 and whole % size == 0:
            return f"{part // size:,} of {whole // size:,} {unit}"
    return f"{part:,} of {whole:,} seconds"


def _calculation(contract: ContractResult, report: MonthReport) -> str:
    """How the amount follows from the fee, the entry applied, the period and the cap:
    "99.950323 % is below 99.99 %: 10 % of 12,000.00 USD = 1,200.00 USD"."""
    currency = contract.currency
    owed = money(contract.credit_amount, currency)
    rule = contract.credit_rule
    if rule is None:
        if contract.figures.availability is None:
            return f"no credit: no slice could be measured ({owed})"
        if contract.breach:
            return (
                f"no credit: the schedule has no entry that {availability(contract)} is "
                f"below ({owed})"
            )
        return (
            f"no credit: {availability(contract)} is not below the objective "
            f"{percent(contract.objective)} ({owed})"
        )
    share = proration(contract, report)
    fee = money(contract.monthly_fee, currency)
    prorated = money(round_money(contract.prorated_fee, currency), currency)
    base = prorated if share is None else f"{prorated} ({fee} x {share})"
    tier = f"{availability(contract)} is below {percent(rule.below)}"
    if contract.credit_capped:
        cap = percent_text(contract.max_credit_percent)
        return (
            f"{tier}: {cap} % of {base} = {owed}, capped at {cap} % of the fee "
            f"(uncapped: {money(contract.uncapped_amount, currency)})"
        )
    if rule.amount is not None:
        fixed = money(rule.amount, currency)
        return f"{tier}: fixed {fixed}" + ("" if share is None else f" x {share}") + f" = {owed}"
    return f"{tier}: {percent_text(rule.percent)} % of {base} = {owed}"


def derivation(contract: ContractResult, report: MonthReport) -> str:
    """The credit with its computation, qualified in the same sentence when not final."""
    calculation = _calculation(contract, report)
    if contract.complete:
        return calculation
    if contract.credit_at_least is not None:
        least = money(contract.credit_at_least, contract.currency)
        return (
            f"at least {least} (if every missing slice turns out good), {NOT_FINAL}; "
            f"{IN_THE_DATA}, {calculation}"
        )
    return f"{NOT_FINAL}: {IN_THE_DATA}, {calculation}"


def credits_by_currency(contracts: Iterable[ContractResult]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for contract in contracts:
        totals[contract.currency] = (
            totals.get(contract.currency, Decimal(0)) + contract.credit_amount
        )
    return totals


def credits_owed(contracts: Sequence[ContractResult]) -> str:
    """Credits per currency of these contracts; "not final" unless every one is complete,
    with what is certain ("at least") and what the data there is gives."""
    owed = amounts(credits_by_currency(contracts))
    if all(contract.complete for contract in contracts):
        return owed
    least: dict[str, Decimal] = {}
    for contract in contracts:
        if contract.complete:
            amount = contract.credit_amount
        else:
            amount = contract.credit_at_least or Decimal(0)
        least[contract.currency] = least.get(contract.currency, Decimal(0)) + amount
    certain = amounts(least)
    floor = "" if certain == "none" else f"at least {certain}; "
    return f"{floor}{NOT_FINAL}: {'no credit' if owed == 'none' else owed} {IN_THE_DATA}"


def objectives_by_service(report: MonthReport) -> dict[str, list[tuple[Decimal, str]]]:
    """The distinct (objective, plan) pairs contracted on each service, highest first."""
    found: dict[str, set[tuple[Decimal, str]]] = {}
    for contract in report.contracts:
        found.setdefault(contract.service, set()).add((contract.objective, contract.plan))
    return {service: sorted(pairs, reverse=True) for service, pairs in found.items()}


def headline(report: MonthReport) -> str:
    """One sentence for a chat preview: how many contracts breached, what is owed.

    A month whose data is short, or that still runs, never reads as a clean one: it says
    what the data there is gives, and that it is not final.
    """
    total = len(report.contracts)
    if total == 0:
        return "No contract was active this month."
    if report.complete:
        breached = sum(contract.breach for contract in report.contracts)
        owed = amounts(credits_by_currency(report.contracts))
        return f"{breached} of {total} contracts breached their objective; credits owed: {owed}."
    below = sum(contract.breach for contract in report.contracts)
    certain = sum(contract.breach_certain for contract in report.contracts)
    why = "the month has not ended" if not report.final else "probe data is missing"
    sure = f" ({certain} of them for certain)" if certain else ""
    return (
        f"Not final, {why}: {IN_THE_DATA}, {below} of {total} contracts are below their "
        f"objective{sure}; credits: {credits_owed(report.contracts)}."
    )


# --- incidents ------------------------------------------------------------------------


def incident_end(incident: SliceIncident, report: MonthReport) -> str:
    if incident.ongoing:
        return CONTINUES
    return local_time(incident.end, zone(report.timezone))


def incident_families(incident: SliceIncident) -> str:
    return ", ".join(FAMILY_NAMES[family] for family in incident.families) or "—"


def incident_reasons(incident: SliceIncident) -> str:
    """ "timeout 37, connect 2": the failed probes behind it, most first."""
    return ", ".join(f"{reason} {count:,}" for reason, count in incident.reasons) or "—"
