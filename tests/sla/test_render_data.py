"""The JSON report's shape and formats, and the CSV export."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

import pytest
from support import spec_example as example

from sla.model import CreditStep, MaintenanceWindow, TargetSpec
from sla.render.data import render_csv, render_json
from sla.render.formatting import number, percent_text

ENTERPRISE = (
    CreditStep(Decimal("99.99"), percent=Decimal(10)),
    CreditStep(Decimal("99.9"), percent=Decimal(25)),
    CreditStep(Decimal("99.0"), percent=Decimal(50)),
)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.fixture
def spec_example(month_probes, make_contract):
    """The spec's example: February 2026, 60 minutes of maintenance and 20 bad minutes.

    Eligible 40,320 - 60 = 40,260; 100 x 40,240 / 40,260 = 99.950323; enterprise
    99.99 % allows 4.026, leaving -15.974; 99.950323 is below 99.99 only: 10 % of
    12000.00 = 1200.00. IPv4 is down, IPv6 not.
    """
    dual = TargetSpec("api-health", "public-api", 30.0, ("ipv4", "ipv6"))
    case = month_probes(targets=[dual])
    case.steady(target="api-health").steady(target="api-health", family="ipv6")
    case.fail(100, 120, family="ipv4")
    hour = MaintenanceWindow(utc(2026, 2, 10, 2), utc(2026, 2, 10, 3), targets=("api-health",))
    contract = make_contract("enterprise", fee="12000.00", credits=ENTERPRISE)
    return case.evaluate(contracts=[contract], maintenance=[hour], failures=True)


def test_the_json_report_reproduces_the_spec_example(spec_example):
    assert json.loads(render_json(spec_example)) == {
        "month": "2026-02",
        "timezone": "UTC",
        "slice_seconds": 60,
        "month_to_date": False,
        "complete": True,
        "final": True,
        "reference": "SLA-2026-02",
        "issued_at": "2100-01-01T00:00:00Z",  # the builder's `now`
        "provider": {"name": None, "address": None, "contact": None, "credit_terms": None},
        "targets": [example.target_row(down="ipv4")],
        "contracts": [example.CONTRACT_ROW],
        "customers": example.CUSTOMERS,
        "incidents": [
            example.incident_row(
                "2026-02-01T01:40:00Z", "2026-02-01T02:00:00Z", "ipv4", {"timeout": 40}
            )
        ],
        "maintenance": [
            {
                "start": "2026-02-10T02:00:00Z",
                "end": "2026-02-10T03:00:00Z",
                "reason": "",
                "targets": ["api-health"],
                "excluded_slices": 60,
            }
        ],
    }


def test_json_keys_keep_the_spec_order(spec_example):
    report = json.loads(render_json(spec_example))
    assert list(report) == [
        "month",
        "timezone",
        "slice_seconds",
        "month_to_date",
        "complete",
        "final",
        "reference",
        "issued_at",
        "provider",
        "targets",
        "contracts",
        "customers",
        "incidents",
        "maintenance",
    ]
    assert list(report["targets"][0]) == list(example.target_row("ipv4"))
    assert list(report["contracts"][0]) == list(example.CONTRACT_ROW)
    assert list(report["incidents"][0]) == [
        "start",
        "end",
        "slices",
        "targets",
        "families",
        "reasons",
        "ongoing",
    ]


@pytest.mark.parametrize(
    ("exact", "shown"),
    [
        (Fraction("99.9999995"), 100.0),  # a tie: to the even 100.000000
        (Fraction("99.9999985"), 99.999998),  # a tie: to the even ...998
        (Fraction(100 * 44_620, 44_640), 99.955197),
        (Decimal("99.95"), 99.95),
        (None, None),
    ],
)
def test_percentages_are_rounded_half_even_to_six_places(exact, shown):
    assert number(exact) == shown


@pytest.mark.parametrize(
    ("percent", "text"),
    [(Decimal(10), "10"), (Decimal("10.00"), "10"), (Decimal("12.50"), "12.5"), (None, None)],
)
def test_credit_percents_are_written_without_trailing_zeros(percent, text):
    assert percent_text(percent) == text


def test_a_fixed_amount_credit_has_a_null_percent(month_probes, make_contract):
    """50 bad minutes breach pro (99.875992 %); the entry pays a fixed 75 yen."""
    fixed = (CreditStep(Decimal("99.9"), amount=Decimal(75)),)
    contract = make_contract(fee="1000", currency="JPY", credits=fixed)
    report = month_probes().steady().fail(100, 150).evaluate(contracts=[contract])
    written = json.loads(render_json(report))["contracts"][0]
    assert (written["credit_percent"], written["credit_amount"]) == (None, "75")


def test_a_contract_without_eligible_slices_has_null_availability_and_no_credit(
    month_probes, make_contract
):
    report = month_probes().evaluate(contracts=[make_contract()])
    written = json.loads(render_json(report))["contracts"][0]
    assert written["availability_percent"] is None
    assert (written["breach"], written["credit_percent"], written["credit_amount"]) == (
        False,
        "0",
        "0.00",
    )
    assert written["budget_remaining_slices"] == 0.0


def test_periods_are_written_in_utc(month_probes, make_contract):
    """March 2026 in New York starts at 05:00Z (EST) and ends at 04:00Z (EDT)."""
    case = month_probes(2026, 3, "America/New_York").steady()
    written = json.loads(render_json(case.evaluate(contracts=[make_contract()])))
    assert written["timezone"] == "America/New_York"
    period = written["contracts"][0]["period_start"], written["contracts"][0]["period_end"]
    assert period == ("2026-03-01T05:00:00Z", "2026-04-01T04:00:00Z")


def test_a_month_to_date_report_says_so(month_probes):
    report = month_probes().steady().evaluate(now=utc(2026, 2, 10))
    assert json.loads(render_json(report))["month_to_date"] is True


def test_the_csv_has_one_row_per_contract_with_the_jsons_values(spec_example):
    (row,) = csv.DictReader(io.StringIO(render_csv(spec_example)))
    assert row == {
        "month": "2026-02",
        "reference": "SLA-2026-02",
        "complete": "true",
        "final": "true",
        "customer": "acme",
        "display_name": "",
        "plan": "enterprise",
        "service": "public-api",
        "period_start": "2026-02-01T00:00:00Z",
        "period_end": "2026-03-01T00:00:00Z",
        "availability_percent": "99.950323",
        "objective_percent": "99.99",
        "coverage_percent": "100.0",
        "contract_complete": "true",
        "breach": "true",
        "budget_remaining_slices": "-15.974",
        "monthly_fee": "12000.00",
        "prorated_fee": "12000.00",
        "credit_rule_below": "99.99",
        "credit_rule_percent": "10",
        "credit_rule_amount": "",
        "credit_percent": "10",
        "uncapped_amount": "1200.00",
        "credit_capped": "false",
        "credit_amount": "1200.00",
        "currency": "USD",
        "issued_at": "2100-01-01T00:00:00Z",
    }


def test_the_csv_leaves_null_cells_empty_and_has_no_comment_line(month_probes, make_contract):
    report = month_probes().evaluate(contracts=[make_contract()])
    lines = render_csv(report).splitlines()
    assert lines[0].startswith("month,reference,complete,final,")  # no `#` line first
    (row,) = csv.DictReader(lines)
    cells = ("availability_percent", "display_name", "breach", "credit_percent", "complete")
    assert tuple(row[cell] for cell in cells) == ("", "", "false", "0", "false")


@pytest.mark.parametrize(
    "typed",
    ['=HYPERLINK("https://evil.example","Refund")', "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"],
)
def test_a_display_name_never_becomes_a_spreadsheet_formula(month_probes, make_contract, typed):
    report = month_probes().steady().evaluate(contracts=[make_contract(display_name=typed)])
    (row,) = csv.DictReader(io.StringIO(render_csv(report)))
    assert row["display_name"] == "'" + typed
    assert row["budget_remaining_slices"] == "40.32"  # numbers are never prefixed
    assert json.loads(render_json(report))["contracts"][0]["display_name"] == typed  # as typed
