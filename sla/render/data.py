"""Machine-readable renderings of a MonthReport: the JSON of docs/report-schema.md, and CSV.

The values go through `sla.render.formatting` (half-even to 6 places, money as a string),
the same helpers the reports for people use.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from sla.availability import Figures
from sla.engine import ContractResult, CustomerTotal, MonthReport, TargetResult
from sla.ranges import RangeReport
from sla.render.formatting import incomplete_line, number, percent_text
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
        "families": {
            family.family: {"availability_percent": number(family.figures.availability)}
            for family in target.families
        },
    }


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
        "breach": result.breach,
        "budget_remaining_slices": number(result.budget_remaining),
        "credit_percent": percent_text(result.credit_percent),
        "credit_amount": str(result.credit_amount),
        "currency": result.currency,
    }


def report_dict(report: MonthReport) -> dict[str, Any]:
    """The JSON report as plain Python values, keys in the order of the spec."""
    return {
        "month": report.month,
        "timezone": report.timezone,
        "slice_seconds": report.slice_seconds,
        "month_to_date": report.month_to_date,
        "complete": report.complete,
        "targets": [_target(target) for target in report.targets],
        "contracts": [_contract(contract) for contract in report.contracts],
        "customers": _customers(report.customers),
        "incidents": [
            {
                "start": rfc3339(incident.start),
                "end": rfc3339(incident.end),
                "slices": incident.slices,
                "targets": list(incident.targets),
            }
            for incident in report.incidents
        ],
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


def range_dict(report: RangeReport) -> dict[str, Any]:
    """A range: its own figures over all of its slices, then each month's full report."""
    return {
        "from": report.first.month,
        "to": report.last.month,
        "timezone": report.first.timezone,
        "slice_seconds": report.first.slice_seconds,
        "complete": report.complete,
        "targets": [_target(target) for target in report.targets],
        "services": [
            {"name": service.name, **_figures(service.figures)} for service in report.services
        ],
        "customers": _customers(report.customers),
        "months": [report_dict(month) for month in report.months],
    }


def render_json(report: MonthReport | RangeReport) -> str:
    data = range_dict(report) if isinstance(report, RangeReport) else report_dict(report)
    return json.dumps(data, indent=2) + "\n"


CSV_COLUMNS = (
    "customer",
    "display_name",
    "plan",
    "service",
    "period_start",
    "period_end",
    "availability_percent",
    "objective_percent",
    "coverage_percent",
    "breach",
    "credit_percent",
    "credit_amount",
    "currency",
)


# Text cells a spreadsheet would run as a formula (=, +, -, @) or that start with a tab or
# CR: shown with a leading apostrophe, which spreadsheets take as "this is text".
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CSV_TEXT_COLUMNS = frozenset({"customer", "display_name", "plan", "service"})


def spreadsheet_text(cell: str) -> str:
    """A text cell as a spreadsheet shows it, never runs it (`=HYPERLINK(...)` as typed)."""
    return f"'{cell}" if cell.startswith(_FORMULA_START) else cell


def render_csv(report: MonthReport | RangeReport) -> str:
    """One row per contract (and month, for a range: a `month` column first), with the
    JSON's values (empty cell for null). An incomplete report opens with a `#` line. Text
    cells never start a formula: a display name typed as `=HYPERLINK(...)` gets a leading
    apostrophe (`spreadsheet_text`)."""
    months = report.months if isinstance(report, RangeReport) else (report,)
    ranged = isinstance(report, RangeReport)
    out = io.StringIO()
    warning = incomplete_line(report)
    if warning is not None:
        out.write(f"# {warning}\r\n")  # the csv module ends rows with CRLF
    writer = csv.writer(out)
    writer.writerow((("month",) if ranged else ()) + CSV_COLUMNS)
    for month in months:
        for contract in month.contracts:
            row = _contract(contract)
            row["breach"] = "true" if row["breach"] else "false"
            cells = (
                ""
                if row[column] is None
                else spreadsheet_text(row[column])
                if column in CSV_TEXT_COLUMNS
                else row[column]
                for column in CSV_COLUMNS
            )
            writer.writerow([*((month.month,) if ranged else ()), *cells])
    return out.getvalue()
