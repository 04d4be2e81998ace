"""Machine-readable renderings of a MonthReport: the JSON of docs/report-schema.md, and CSV.

The values go through `sla.render.formatting` (half-even to 6 places, money as a string),
the same helpers the reports for people use.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from sla.availability import Figures
from sla.engine import ContractResult, CustomerTotal, MonthReport, SliceIncident, TargetResult
from sla.model import CreditStep
from sla.ranges import RangeReport, RangeTotal
from sla.render.formatting import number, percent_text
from sla.timestamps import rfc3339


def _figures(figures: Figures) -> dict[str, Any]:
    return {
        "availability_percent": number(figures.availability),
        "eligible_slices": figures.eligible,
        "bad_slices": figures.bad,
        "no_data_slices": figures.no_data,
        "excluded_slices": figures.excluded,
        "coverage_percent": number(figures.coverage),
    }


def _target(target: TargetResult) -> dict[str, Any]:
    return {
        "name": target.name,
        "service": target.service,
        **_figures(target.figures),
        "coverage_percent": number(target.coverage),
        "families": {
            family.family: {
                "availability_percent": number(family.figures.availability),
                "coverage_percent": number(family.figures.coverage),
            }
            for family in target.families
        },
    }


def _rule(step: CreditStep | None) -> dict[str, str] | None:
    """The schedule entry applied: {below, percent} or {below, amount}, as decimal strings."""
    if step is None:
        return None
    rule = {"below": format(step.below.normalize(), "f")}
    if step.percent is not None:
        rule["percent"] = format(step.percent.normalize(), "f")
    if step.amount is not None:
        rule["amount"] = str(step.amount)
    return rule


def _contract(result: ContractResult) -> dict[str, Any]:
    return {
        "customer": result.customer,
        "display_name": result.display_name,
        "plan": result.plan,
        "service": result.service,
        "period_start": rfc3339(result.period_start),
        "period_end": rfc3339(result.period_end),
        "availability_percent": number(result.figures.availability),
        "objective_percent": number(result.objective),
        "eligible_slices": result.figures.eligible,
        "bad_slices": result.figures.bad,
        "coverage_percent": number(result.coverage),
        "complete": result.complete,
        "breach": result.breach,
        "budget_remaining_slices": number(result.budget_remaining),
        "monthly_fee": str(result.monthly_fee),
        "prorated_fee": str(result.prorated_fee),
        "credit_rule": _rule(result.credit_rule),
        "credit_percent": percent_text(result.credit_percent),
        "uncapped_amount": str(result.uncapped_amount),
        "credit_capped": result.credit_capped,
        "credit_amount": str(result.credit_amount),
        "currency": result.currency,
    }


def _incident(incident: SliceIncident) -> dict[str, Any]:
    return {
        "start": rfc3339(incident.start),
        "end": rfc3339(incident.end),
        "slices": incident.slices,
        "targets": list(incident.targets),
        "families": list(incident.families),
        "reasons": dict(incident.reasons),
        "ongoing": incident.ongoing,
    }


def _document(report: MonthReport | RangeReport) -> dict[str, Any]:
    """What makes it a document: completeness, its reference, when and by whom it is issued."""
    return {
        "complete": report.complete,
        "final": report.final,
        "reference": report.reference,
        "issued_at": None if report.issued_at is None else rfc3339(report.issued_at, "seconds"),
        "provider": asdict(report.provider),
    }


def report_dict(report: MonthReport) -> dict[str, Any]:
    """The JSON report as plain Python values, keys in the order of the spec."""
    return {
        "month": report.month,
        "timezone": report.timezone,
        "slice_seconds": report.slice_seconds,
        "month_to_date": report.month_to_date,
        **_document(report),
        "targets": [_target(target) for target in report.targets],
        "contracts": [_contract(contract) for contract in report.contracts],
        "customers": _customers(report.customers),
        "incidents": [_incident(incident) for incident in report.incidents],
        "maintenance": [
            {
                "start": rfc3339(window.start),
                "end": rfc3339(window.end),
                "reason": window.reason,
                "targets": list(window.targets),
                "excluded_slices": window.excluded_slices,
            }
            for window in report.maintenance
        ],
    }


def _customers(totals: Iterable[CustomerTotal]) -> list[dict[str, str]]:
    return [
        {
            "customer": total.customer,
            "credit_total": str(total.credit_total),
            "currency": total.currency,
        }
        for total in totals
    ]


def _range_customers(totals: Iterable[RangeTotal]) -> list[dict[str, str]]:
    return [
        {
            "customer": total.customer,
            "credit_total": str(total.credit_total),
            "final": str(total.final),
            "provisional": str(total.provisional),
            "currency": total.currency,
        }
        for total in totals
    ]


def range_dict(report: RangeReport) -> dict[str, Any]:
    """A range: its own figures over all of its slices, then each month's full report."""
    return {
        "from": report.first.month,
        "to": report.last.month,
        "timezone": report.first.timezone,
        "slice_seconds": report.first.slice_seconds,
        **_document(report),
        "targets": [_target(target) for target in report.targets],
        "services": [
            {"name": service.name, **_figures(service.figures)} for service in report.services
        ],
        "customers": _range_customers(report.customers),
        "months": [report_dict(month) for month in report.months],
    }


def render_json(report: MonthReport | RangeReport) -> str:
    data = range_dict(report) if isinstance(report, RangeReport) else report_dict(report)
    return json.dumps(data, indent=2) + "\n"


# One row per contract and month, the same columns for every month, complete or not.
CSV_COLUMNS = (
    "month",
    "reference",
    "complete",
    "final",
    "customer",
    "display_name",
    "plan",
    "service",
    "period_start",
    "period_end",
    "availability_percent",
    "objective_percent",
    "coverage_percent",
    "contract_complete",
    "breach",
    "budget_remaining_slices",
    "monthly_fee",
    "prorated_fee",
    "credit_rule_below",
    "credit_rule_percent",
    "credit_rule_amount",
    "credit_percent",
    "uncapped_amount",
    "credit_capped",
    "credit_amount",
    "currency",
    "issued_at",
)
# Text cells a spreadsheet would run as a formula (=, +, -, @) or that start with a tab or
# CR: shown with a leading apostrophe, which spreadsheets take as "this is text".
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CSV_TEXT_COLUMNS = frozenset({"customer", "display_name", "plan", "service", "currency"})


def spreadsheet_text(cell: str) -> str:
    """A text cell as a spreadsheet shows it, never runs it (`=HYPERLINK(...)` as typed)."""
    return f"'{cell}" if cell.startswith(_FORMULA_START) else cell


def _cell(column: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return spreadsheet_text(text) if column in CSV_TEXT_COLUMNS else text


def _csv_row(month: MonthReport, contract: ContractResult) -> list[str]:
    data = _contract(contract)
    rule = data.pop("credit_rule") or {}
    row = {
        "month": month.month,
        **_document(month),
        **data,
        "contract_complete": data["complete"],
        "complete": month.complete,
        "credit_rule_below": rule.get("below"),
        "credit_rule_percent": rule.get("percent"),
        "credit_rule_amount": rule.get("amount"),
        "budget_remaining_slices": data["budget_remaining_slices"],
    }
    return [_cell(column, row[column]) for column in CSV_COLUMNS]


def render_csv(report: MonthReport | RangeReport) -> str:
    """One row per contract and month with the JSON's values (an empty cell for null),
    and the month's `complete` and `final` on every row: nothing but rows, so any CSV
    reader takes every month alike."""
    months = report.months if isinstance(report, RangeReport) else (report,)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for month in months:
        for contract in month.contracts:
            writer.writerow(_csv_row(month, contract))
    return out.getvalue()
