"""Machine-readable renderings of a MonthReport: the JSON of spec section 7, and CSV.

The values go through `sla.formatting` (half-even to 6 places, money as a string),
the same helpers the reports for people use.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from sla.engine import ContractResult, MonthReport
from sla.formatting import number, percent_text, timestamp


def _contract(result: ContractResult) -> dict[str, Any]:
    return {
        "customer": result.customer,
        "plan": result.plan,
        "service": result.service,
        "period_start": timestamp(result.period_start),
        "period_end": timestamp(result.period_end),
        "availability_percent": number(result.figures.availability),
        "objective_percent": number(result.objective),
        "eligible_slices": result.figures.eligible,
        "bad_slices": result.figures.bad,
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
        "targets": [
            {
                "name": target.name,
                "service": target.service,
                "availability_percent": number(target.figures.availability),
                "eligible_slices": target.figures.eligible,
                "bad_slices": target.figures.bad,
                "no_data_slices": target.figures.no_data,
                "excluded_slices": target.figures.excluded,
                "families": {
                    family.family: {"availability_percent": number(family.figures.availability)}
                    for family in target.families
                },
            }
            for target in report.targets
        ],
        "contracts": [_contract(contract) for contract in report.contracts],
        "customers": [
            {
                "customer": total.customer,
                "credit_total": str(total.credit_total),
                "currency": total.currency,
            }
            for total in report.customers
        ],
        "incidents": [
            {
                "start": timestamp(incident.start),
                "end": timestamp(incident.end),
                "slices": incident.slices,
                "targets": list(incident.targets),
            }
            for incident in report.incidents
        ],
    }


def render_json(report: MonthReport) -> str:
    return json.dumps(report_dict(report), indent=2) + "\n"


CSV_COLUMNS = (
    "customer",
    "plan",
    "service",
    "period_start",
    "period_end",
    "availability_percent",
    "objective_percent",
    "breach",
    "credit_percent",
    "credit_amount",
    "currency",
)


def render_csv(report: MonthReport) -> str:
    """One row per contract, with the JSON's values (empty cell for null)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for contract in report.contracts:
        row = _contract(contract)
        row["breach"] = "true" if row["breach"] else "false"
        writer.writerow("" if row[column] is None else row[column] for column in CSV_COLUMNS)
    return out.getvalue()
