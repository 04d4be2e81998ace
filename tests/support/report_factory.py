"""A small, hand-picked month for the renderer tests, evaluated by the real engine.

February 2026 in UTC, one-minute slices, each series probed at :00 and :30 of every minute
from one location. Chosen so that every part of a report has something to show:

- `api-health` (service public-api): IPv6 fails for 20 minutes on the 12th; maintenance
  on the 10th excludes 60 minutes. So 40,260 eligible minutes, 20 bad: 99.950323 %.
- `<script>alert(1)</script>` (service search): IPv4 fails 90 minutes on the 3rd, IPv6
  30 minutes on the 20th, and both families go silent for 2 hours on the 5th.
- `billing-api` (service billing, IPv4 only): never fails.
- `status-page` (IPv6 only): not probed yet, so it has no data at all.

Contracts: acme (enterprise, public-api) breaches and is owed 10 % of 12000.00 USD;
`Smith & Sons <ltd>` (turbo, search) breaches and is owed 25 % of 90000 JPY; initech
moves from basic to pro on the 15th and breaches pro only (the 30 minutes on the 20th):
10 % of 800.00 USD for half the month; globex and umbrella stay within their objectives.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np

from sla.engine import MonthReport, evaluate_month
from sla.model import (
    Contract,
    CreditStep,
    LastState,
    MaintenanceWindow,
    Plan,
    Policy,
    SeriesSlices,
    TargetSpec,
)
from sla.slices import load_window

SCRIPT = "<script>alert(1)</script>"
SMITH = "Smith & Sons <ltd>"
POLICY = Policy()
AFTER_THE_MONTH = datetime(2026, 3, 2, tzinfo=UTC)
MID_MONTH = datetime(2026, 2, 20, 12, 0, tzinfo=UTC)


def at(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, 2, day, hour, minute, tzinfo=UTC)


TARGETS = (
    TargetSpec("api-health", "public-api", 30.0),
    TargetSpec(SCRIPT, "search", 30.0),
    TargetSpec("billing-api", "billing", 30.0, ("ipv4",)),
    TargetSpec("status-page", "status-page", 30.0, ("ipv6",)),
)
UNPROBED = {"status-page"}
# (target, family, first minute, minutes)
FAILURES = (
    ("api-health", "ipv6", at(12, 14), 20),
    (SCRIPT, "ipv4", at(3, 9), 90),
    (SCRIPT, "ipv6", at(20, 10), 30),
)
SILENT = ((SCRIPT, "ipv4", at(5), 120), (SCRIPT, "ipv6", at(5), 120))
MAINTENANCE = (
    MaintenanceWindow(at(10, 2), at(10, 3), targets=("api-health",), reason="database upgrade"),
)

PLANS = {
    "basic": Plan("basic", Decimal("99.5")),
    "pro": Plan("pro", Decimal("99.9"), (CreditStep(Decimal("99.9"), percent=Decimal(10)),)),
    "turbo": Plan("turbo", Decimal("99.95"), (CreditStep(Decimal("99.95"), percent=Decimal(25)),)),
    "enterprise": Plan("enterprise", Decimal("99.99")),
}
ENTERPRISE_CREDITS = tuple(
    CreditStep(Decimal(below), percent=Decimal(credit))
    for below, credit in (("99.99", 10), ("99.9", 25), ("99.0", 50))
)
SINCE_2025 = datetime(2025, 1, 1, tzinfo=UTC)
CONTRACTS = (
    Contract(
        "acme",
        "enterprise",
        "public-api",
        Decimal("12000.00"),
        "USD",
        SINCE_2025,
        credits=ENTERPRISE_CREDITS,
    ),
    Contract("globex", "pro", "public-api", Decimal("500.00"), "EUR", SINCE_2025),
    Contract(SMITH, "turbo", "search", Decimal(90000), "JPY", SINCE_2025),
    Contract("initech", "basic", "search", Decimal(0), "USD", SINCE_2025, at(15)),
    Contract("initech", "pro", "search", Decimal("800.00"), "USD", at(15)),
    Contract("umbrella", "pro", "billing", Decimal("300.00"), "GBP", SINCE_2025),
)


def _series(target: TargetSpec, family: str, first: int, length: int) -> SeriesSlices:
    """Two probes a minute, the last at :30, then this series' failures and silences."""
    slice_us = POLICY.slice_seconds * 1_000_000

    def index(moment: datetime) -> int:
        return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=slice_us)

    total = np.full(length, 2, np.int64)
    failed = np.zeros(length, np.int64)
    last_state = np.full(length, LastState.OK, np.int8)
    for name, fam, start, count in FAILURES:
        if (name, fam) == (target.name, family):
            low = index(start) - first
            failed[low : low + count] = 2
            last_state[low : low + count] = LastState.FAILED
    for name, fam, start, count in SILENT:
        if (name, fam) == (target.name, family):
            low = index(start) - first
            total[low : low + count] = 0
            failed[low : low + count] = 0
            last_state[low : low + count] = LastState.NONE
    return SeriesSlices(
        target=target.name,
        family=family,  # type: ignore[arg-type]
        location="us-west-2",
        first_slice=first,
        total=total,
        failed=failed,
        rate_limited=np.zeros(length, np.int64),
        last_offset_us=np.where(total > 0, 30_000_000, 0),
        last_state=last_state,
    )


def sample_report(
    now: datetime = AFTER_THE_MONTH, min_coverage: Decimal = Decimal(0), customer: str | None = None
) -> MonthReport:
    """The month above as the engine reports it at `now` (month to date before March).

    With the default threshold of 0 % the unprobed target does not make it incomplete;
    pass the usual 99 to see the month as the report of a month with missing data.
    """
    first, end = load_window(2026, 2, "UTC", POLICY, TARGETS)
    series = [
        _series(target, family, first, end - first)
        for target in TARGETS
        if target.name not in UNPROBED
        for family in target.families
    ]
    return evaluate_month(
        2026,
        2,
        "UTC",
        policy=POLICY,
        targets=TARGETS,
        plans=PLANS,
        contracts=CONTRACTS,
        maintenance=MAINTENANCE,
        series=series,
        now=now,
        min_coverage=min_coverage,
        customer=customer,
    )


def quiet_report() -> MonthReport:
    """A month with one always-up target and no contracts: nothing to report but figures."""
    target = TargetSpec("quiet", "quiet", 30.0, ("ipv4",))
    first, end = load_window(2026, 2, "UTC", POLICY, (target,))
    return evaluate_month(
        2026,
        2,
        "UTC",
        policy=POLICY,
        targets=(target,),
        plans=PLANS,
        contracts=(),
        maintenance=(),
        series=[_series(target, "ipv4", first, end - first)],
        now=AFTER_THE_MONTH,
    )
