"""The report's sections as plain text, built once for the Markdown and HTML renderers.

Both formats always say the same thing; each renderer escapes the text for its own
syntax. A section is a `Table` or `Lines` (sentences, such as each credit's computation).
Figures of a contract, target or month whose data is not final carry their qualifier in
the same cell (`sla.render.formatting`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sla.engine import ContractResult, MonthReport, TargetResult
from sla.ranges import RangeReport
from sla.render.formatting import (
    IN_THE_DATA,
    availability,
    breach,
    budget,
    coverage,
    credit,
    credit_terms,
    credits_owed,
    derivation,
    display_names,
    downtime,
    duration,
    incident_end,
    incident_families,
    incident_reasons,
    money,
    percent,
    period,
    slice_time,
)
from sla.slices import zone
from sla.timestamps import local_time
from sla.vocabulary import FAMILIES, FAMILY_NAMES

DASH = "—"


@dataclass(frozen=True)
class Table:
    """Plain-text cells; `numeric` columns are right-aligned. Escaping is the renderer's."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...]
    empty: str  # what to say instead of a table without rows


@dataclass(frozen=True)
class Lines:
    """Sentences shown as a list, each standing on its own; `after` closes the section."""

    items: tuple[str, ...]
    empty: str
    after: str | None = None


Section = Table | Lines


def _settled(report: MonthReport) -> bool:
    return report.complete


def plan_table(report: MonthReport) -> Table:
    """Per plan tier, in order of first appearance: contracts, breaches, credits owed."""
    plans: dict[str, list[ContractResult]] = {}
    for contract in report.contracts:
        plans.setdefault(contract.plan, []).append(contract)

    def breached(contracts: list[ContractResult]) -> str:
        count = str(sum(contract.breach for contract in contracts))
        return count if all(c.complete for c in contracts) else f"{count} {IN_THE_DATA}"

    rows = tuple(
        (plan, str(len(contracts)), breached(contracts), credits_owed(contracts))
        for plan, contracts in plans.items()
    )
    return Table(
        ("Plan", "Contracts", "Breached", "Credits owed"),
        rows,
        (False, True, True, True),
        "No contract was active this month.",
    )


_CONTRACT_HEADERS = (
    "Customer",
    "Plan",
    "Service",
    "Period",
    "Availability",
    "Objective",
    "Downtime",
    "Error budget",
    "Credit",
)
_CONTRACT_NUMERIC = (False, False, False, False, True, True, True, True, True)


def _contract_row(
    contract: ContractResult, report: MonthReport, names: dict[str, str]
) -> tuple[str, ...]:
    return (
        names[contract.customer],
        contract.plan,
        contract.service,
        period(contract, report),
        availability(contract),
        percent(contract.objective),
        downtime(contract, report),
        budget(contract, report),
        credit(contract),
    )


def breach_table(report: MonthReport) -> Table:
    names = display_names(report)
    rows = tuple(
        _contract_row(contract, report, names) for contract in report.contracts if contract.breach
    )
    empty = "No contract breached its objective."
    if not _settled(report):
        empty = f"No contract breached its objective {IN_THE_DATA}; not final."
    return Table(_CONTRACT_HEADERS, rows, _CONTRACT_NUMERIC, empty)


def contract_table(report: MonthReport) -> Table:
    """Every contract of the report with all its figures: what a customer's statement shows."""
    names = display_names(report)
    rows = tuple(
        (
            *_contract_row(contract, report, names),
            breach(contract),
            coverage(contract.coverage, report.min_coverage),
        )
        for contract in report.contracts
    )
    return Table(
        (*_CONTRACT_HEADERS, "Breach", "Data coverage"),
        rows,
        (*_CONTRACT_NUMERIC, False, True),
        "No contract was active this month.",
    )


def customer_table(report: MonthReport) -> Table:
    """Each customer's credits per currency; a statement shows its customer's even at 0."""
    names = display_names(report)
    rows = []
    for total in report.customers:
        contracts = [
            c
            for c in report.contracts
            if (c.customer, c.currency) == (total.customer, total.currency)
        ]
        if (
            total.credit_total
            or report.customer is not None
            or not all(c.complete for c in contracts)
        ):
            owed = credits_owed(contracts)
            if owed == "none":
                owed = money(total.credit_total, total.currency)
            rows.append((names.get(total.customer, total.customer), owed))
    empty = "No credits are owed."
    if not _settled(report):
        empty = f"No credit {IN_THE_DATA}; not final."
    return Table(("Customer", "Credit owed"), tuple(rows), (False, True), empty)


def derivation_lines(report: MonthReport) -> Lines:
    """How each credit follows from fee, period, schedule entry and cap: every contract of
    a statement; in the provider's report those with an entry applied or not final."""
    names = display_names(report)
    items = tuple(
        f"{names[contract.customer]}, {contract.plan} on {contract.service}, "
        f"{period(contract, report)}: {derivation(contract, report)}"
        for contract in report.contracts
        if report.customer is not None or contract.credit_rule is not None or not contract.complete
    )
    return Lines(items, "No credit was computed this month.", credit_terms(report))


def incident_table(report: MonthReport) -> Table:
    where = zone(report.timezone)
    rows = tuple(
        (
            str(number),
            local_time(incident.start, where),
            incident_end(incident, report),
            duration(incident.slices * report.slice_seconds),
            ", ".join(incident.targets),
            incident_families(incident),
            incident_reasons(incident),
        )
        for number, incident in enumerate(report.incidents, 1)
    )
    empty = "No incidents." if _settled(report) else f"No incidents {IN_THE_DATA}."
    return Table(
        ("#", "Start", "End", "Duration", "Targets", "Families", "Failed probes"),
        rows,
        (True, False, False, True, False, False, False),
        empty,
    )


def short_target(target: TargetResult, report: MonthReport | RangeReport) -> bool:
    """Its figures are not final: the target is short of data, or a month still runs."""
    months = report.months if isinstance(report, RangeReport) else (report,)
    return not all(month.final for month in months) or months[0].short(target.coverage)


def _family_cell(target: TargetResult, family: str, report: MonthReport | RangeReport) -> str:
    months = report.months if isinstance(report, RangeReport) else (report,)
    for result in target.families:
        if result.family == family:
            text = percent(result.figures.availability)
            share = result.figures.coverage
            short = months[0].short(share) or not months[-1].final
            return f"{text} {IN_THE_DATA}" if short and result.figures.eligible else text
    return DASH  # the target is not probed over this family


def target_table(report: MonthReport | RangeReport) -> Table:
    def qualified(text: str, target: TargetResult) -> str:
        short = short_target(target, report) and target.figures.eligible
        return f"{text} {IN_THE_DATA}" if short else text

    rows = tuple(
        (
            target.name,
            target.service,
            qualified(percent(target.figures.availability), target),
            *(_family_cell(target, family, report) for family in FAMILIES),
            qualified(duration(target.figures.bad * report.slice_seconds), target),
        )
        for target in report.targets
    )
    return Table(
        ("Target", "Service", "Availability", *(FAMILY_NAMES[f] for f in FAMILIES), "Downtime"),
        rows,
        (False, False, True, True, True, True),
        "No targets are configured.",
    )


def coverage_table(report: MonthReport | RangeReport) -> Table:
    months = report.months if isinstance(report, RangeReport) else (report,)
    threshold = months[0].min_coverage

    def family_coverage(target: TargetResult, family: str) -> str:
        for result in target.families:
            if result.family == family:
                return coverage(result.figures.coverage, threshold)
        return DASH

    rows = tuple(
        (
            target.name,
            coverage(target.coverage, threshold),
            *(family_coverage(target, family) for family in FAMILIES),
            slice_time(target.figures.eligible, report),
            slice_time(target.figures.bad, report),
            slice_time(target.figures.no_data, report),
            slice_time(target.figures.excluded, report),
        )
        for target in report.targets
    )
    return Table(
        (
            "Target",
            "Coverage",
            *(FAMILY_NAMES[f] for f in FAMILIES),
            "Eligible",
            "Bad",
            "No data",
            "Excluded (maintenance)",
        ),
        rows,
        (False, True, True, True, True, True, True, True),
        "No targets are configured.",
    )


def maintenance_table(report: MonthReport) -> Table:
    where = zone(report.timezone)
    rows = tuple(
        (
            local_time(window.start, where),
            local_time(window.end, where),
            window.reason or "Scheduled maintenance",
            ", ".join(window.targets),
            slice_time(window.excluded_slices, report),
        )
        for window in report.maintenance
    )
    return Table(
        ("Start", "End", "Reason", "Targets", "Excluded"),
        rows,
        (False, False, False, False, True),
        "No maintenance this month.",
    )


def service_table(report: RangeReport) -> Table:
    threshold = report.first.min_coverage
    rows = tuple(
        (
            service.name,
            percent(service.figures.availability),
            duration(service.figures.bad * report.slice_seconds),
            coverage(service.figures.coverage, threshold),
        )
        for service in report.services
    )
    return Table(
        ("Service", "Availability", "Downtime", "Coverage"),
        rows,
        (False, True, True, True),
        "No services are configured.",
    )


def range_customer_table(report: RangeReport) -> Table:
    """Each customer's credits over the range: final (months that have ended), provisional
    (the others, which may still change), and both together."""
    names = {c: n for month in report.months for c, n in display_names(month).items()}
    rows = tuple(
        (
            names.get(total.customer, total.customer),
            money(total.final, total.currency),
            money(total.provisional, total.currency),
            money(total.credit_total, total.currency),
        )
        for total in report.customers
    )
    return Table(
        ("Customer", "Final (months ended)", "Provisional (not ended)", "Total"),
        rows,
        (False, True, True, True),
        "No contract was active in these months.",
    )


MonthSection = Callable[[MonthReport], Section]

# What every month shows after its contracts: how credits are computed, then the targets.
_DETAILS: tuple[tuple[str, MonthSection], ...] = (
    ("How each credit is computed", derivation_lines),
    ("Incidents", incident_table),
    ("Availability per target (IPv4 and IPv6)", target_table),
    ("Maintenance", maintenance_table),
    ("Data coverage", coverage_table),
)

SECTIONS: tuple[tuple[str, MonthSection], ...] = (
    ("Summary by plan", plan_table),
    ("Breaches", breach_table),
    ("Credits owed per customer", customer_table),
    *_DETAILS,
)

# A customer's statement: its contracts in full instead of the provider's summaries.
STATEMENT_SECTIONS: tuple[tuple[str, MonthSection], ...] = (
    ("Contracts", contract_table),
    ("Credits", customer_table),
    *_DETAILS,
)

# What a range adds above its months: its own figures over all of its slices.
RANGE_SECTIONS: tuple[tuple[str, Callable[[RangeReport], Section]], ...] = (
    ("Credits over the range", range_customer_table),
    ("Availability per target over the range", target_table),
    ("Availability per service over the range", service_table),
    ("Data coverage over the range", coverage_table),
)


def sections(report: MonthReport) -> tuple[tuple[str, MonthSection], ...]:
    return STATEMENT_SECTIONS if report.customer is not None else SECTIONS


def footnote(report: MonthReport | RangeReport) -> str:
    return (
        f"Slices of {report.slice_seconds} s. Availability = (eligible - bad) / eligible "
        "slices, truncated, never rounded up; exactly at the objective is no breach. "
        "Maintenance slices are excluded; slices without probe data are handled as the "
        "config's sla.no_data setting says. A contract period runs from its start up to, "
        "not including, its end; a fee is prorated by the period's share of the month. "
        '"continues": the incident runs past the end of the period. '
        f"Times, dates and days are in {report.timezone}."
    )
