"""The report's tables as plain-text cells, built once for the Markdown and HTML renderers.

Both formats always say the same thing; each renderer escapes the cells for its own
syntax.
"""

from __future__ import annotations

from dataclasses import dataclass

from sla.engine import ContractResult, MonthReport, TargetResult
from sla.ranges import RangeReport
from sla.render.formatting import (
    amounts,
    coverage,
    credit,
    credits_by_currency,
    display_names,
    duration,
    minutes,
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


_CONTRACT_HEADERS = (
    "Customer",
    "Plan",
    "Service",
    "Period",
    "Availability",
    "Objective",
    "Downtime",
    "Budget left",
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
        percent(contract.figures.availability),
        percent(contract.objective),
        duration(contract.figures.bad * report.slice_seconds),
        minutes(contract.budget_remaining, report),
        credit(contract),
    )


def breach_table(report: MonthReport) -> Table:
    names = display_names(report)
    rows = tuple(
        _contract_row(contract, report, names) for contract in report.contracts if contract.breach
    )
    return Table(_CONTRACT_HEADERS, rows, _CONTRACT_NUMERIC, "No contract breached its objective.")


def contract_table(report: MonthReport) -> Table:
    """Every contract of the report with all its figures: what a customer's statement shows."""
    names = display_names(report)
    rows = tuple(
        (
            *_contract_row(contract, report, names),
            "yes" if contract.breach else "no",
            coverage(contract.coverage),
        )
        for contract in report.contracts
    )
    return Table(
        (*_CONTRACT_HEADERS, "Breach", "Data coverage"),
        rows,
        (*_CONTRACT_NUMERIC, False, True),
        "No contract was active this month.",
    )


def customer_table(report: MonthReport | RangeReport) -> Table:
    names = {
        customer: name
        for month in (report.months if isinstance(report, RangeReport) else (report,))
        for customer, name in display_names(month).items()
    }
    rows = tuple(
        (names.get(total.customer, total.customer), money(total.credit_total, total.currency))
        for total in report.customers
        if total.credit_total
    )
    return Table(("Customer", "Credit owed"), rows, (False, True), "No credits are owed.")


def incident_table(report: MonthReport) -> Table:
    rows = tuple(
        (
            str(number),
            local_time(incident.start, zone(report.timezone)),
            local_time(incident.end, zone(report.timezone)),
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


def target_table(report: MonthReport | RangeReport) -> Table:
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
        ("Target", "Service", "Availability", *(FAMILY_NAMES[f] for f in FAMILIES), "Downtime"),
        rows,
        (False, False, True, True, True, True),
        "No targets are configured.",
    )


def coverage_table(report: MonthReport | RangeReport) -> Table:
    rows = tuple(
        (
            target.name,
            coverage(target.figures.coverage),
            slice_time(target.figures.eligible, report),
            slice_time(target.figures.bad, report),
            slice_time(target.figures.no_data, report),
            slice_time(target.figures.excluded, report),
        )
        for target in report.targets
    )
    return Table(
        ("Target", "Coverage", "Eligible", "Bad", "No data", "Excluded (maintenance)"),
        rows,
        (False, True, True, True, True, True),
        "No targets are configured.",
    )


def maintenance_table(report: MonthReport) -> Table:
    rows = tuple(
        (
            local_time(window.start, zone(report.timezone)),
            local_time(window.end, zone(report.timezone)),
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
    rows = tuple(
        (
            service.name,
            percent(service.figures.availability),
            duration(service.figures.bad * report.slice_seconds),
            coverage(service.figures.coverage),
        )
        for service in report.services
    )
    return Table(
        ("Service", "Availability", "Downtime", "Coverage"),
        rows,
        (False, True, True, True),
        "No services are configured.",
    )


SECTIONS = (
    ("Summary by plan", plan_table),
    ("Breaches", breach_table),
    ("Credits owed per customer", customer_table),
    ("Incidents", incident_table),
    ("Availability per target (IPv4 and IPv6)", target_table),
    ("Maintenance", maintenance_table),
    ("Data coverage", coverage_table),
)

# A customer's statement: its contracts in full instead of the provider's summaries.
STATEMENT_SECTIONS = (
    ("Contracts", contract_table),
    ("Credits", customer_table),
    ("Incidents", incident_table),
    ("Availability per target (IPv4 and IPv6)", target_table),
    ("Maintenance", maintenance_table),
    ("Data coverage", coverage_table),
)

# What a range adds above its months: its own figures over all of its slices.
RANGE_SECTIONS = (
    ("Availability per target over the range", target_table),
    ("Availability per service over the range", service_table),
    ("Credits over the range", customer_table),
    ("Data coverage over the range", coverage_table),
)


def footnote(report: MonthReport | RangeReport) -> str:
    return (
        f"Slices of {report.slice_seconds} s. Availability = (eligible - bad) / eligible "
        "slices; exactly at the objective is no breach. Maintenance slices are excluded; "
        "slices without probe data are handled as the config's sla.no_data setting says. "
        "A contract period runs from its start up to, not including, its end. "
        f"Times, dates and days are in {report.timezone}."
    )
