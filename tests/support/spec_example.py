"""The report's own example month, as the JSON rows it must produce: one place for the
rows the engine tests (tests/sla/test_render_data.py) and the command-line test
(tests/e2e/test_report_cli.py) hold their reports to.

February 2026 (UTC, 40,320 one-minute slices): `api-health` (service public-api, both
families) has a 60-minute maintenance on the 10th and one family down for 20 minutes.
Eligible 40,320 - 60 = 40,260; 100 x 40,240 / 40,260 = 99.950323 %. Acme's enterprise
99.99 % allows (1 - 0.9999) x 40,260 = 4.026 bad slices, leaving -15.974; 99.950323 is
below 99.99 but not 99.9: 10 % of 12,000.00 USD = 1,200.00 USD, the whole month.
"""

from __future__ import annotations

from typing import Any

AVAILABILITY = 99.950323


def target_row(down: str) -> dict[str, Any]:
    """The target's row; `down` is the family that failed for 20 minutes."""
    return {
        "name": "api-health",
        "service": "public-api",
        "availability_percent": AVAILABILITY,
        "eligible_slices": 40260,
        "bad_slices": 20,
        "no_data_slices": 0,
        "excluded_slices": 60,
        "coverage_percent": 100.0,
        "families": {
            family: {
                "availability_percent": AVAILABILITY if family == down else 100.0,
                "coverage_percent": 100.0,
            }
            for family in ("ipv4", "ipv6")
        },
    }


CONTRACT_ROW: dict[str, Any] = {
    "customer": "acme",
    "display_name": None,
    "plan": "enterprise",
    "service": "public-api",
    "period_start": "2026-02-01T00:00:00Z",
    "period_end": "2026-03-01T00:00:00Z",
    "availability_percent": AVAILABILITY,
    "objective_percent": 99.99,
    "eligible_slices": 40260,
    "bad_slices": 20,
    "coverage_percent": 100.0,
    "complete": True,
    "breach": True,
    "budget_remaining_slices": -15.974,
    "monthly_fee": "12000.00",
    "prorated_fee": "12000.00",
    "credit_rule": {"below": "99.99", "percent": "10"},
    "credit_percent": "10",
    "uncapped_amount": "1200.00",
    "credit_capped": False,
    "credit_amount": "1200.00",
    "currency": "USD",
}

CUSTOMERS = [{"customer": "acme", "credit_total": "1200.00", "currency": "USD"}]


def incident_row(start: str, end: str, family: str, reasons: dict[str, int]) -> dict[str, Any]:
    """The month's one incident: 20 slices of api-health, one family down, not ongoing."""
    return {
        "start": start,
        "end": end,
        "slices": 20,
        "targets": ["api-health"],
        "families": [family],
        "reasons": reasons,
        "ongoing": False,
    }
