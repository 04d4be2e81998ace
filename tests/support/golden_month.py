"""The golden month: March 2026 in UTC, built so that one month shows every rule of a
finance-grade statement, each figure computed by hand in tests/sla/golden/README.md.

One-minute slices; every series is probed at :00 and :30 of each minute from one
location (stale after 60 s), both families unless said. Five targets, one service each:

- `api`: a 4,641-minute maintenance (2nd 00:00 to 5th 05:21) leaves 39,999 eligible
  minutes; IPv4 times out 03:00-03:04 on the 18th: 4 bad, 99.98999975 % against acme's
  enterprise objective of 99.99 %, a breach that rounds to the objective.
- `search`: IPv4 answers 500 on the 12th 10:00-11:30 (90 min), IPv6 cannot connect on the
  25th 09:00-09:45 (45 min). Globex's fixed 500.00 EUR is capped at 50 % of its 400.00 EUR
  fee; initech moves from basic to pro on the 16th (a plan change).
- `edge`: IPv6 is not probed from the 5th to the 15th (an IPv6-only gap): hooli's
  contract is short of data and must not read clean.
- `ledger`: DNS fails on both families on the 8th 02:00-05:00, and both time out from the
  31st 23:30 into April (an outage past the month's end). Umbrella's 100 % entry in KWD
  is capped at 30 % of the fee.
- `portal` (IPv4 only): times out on the 5th 08:00-08:30, before wayne's contract starts
  on the 20th, and on the 22nd 14:00-15:00; not probed on the 24th 00:00-06:00, a gap in
  wayne's own period while the target's month stays above 99 %.

Soylent's contract ended in February: it is left out of March, and shows in February
(the empty month) and in ranges.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sla.engine import MonthReport
from sla.model import Contract, CreditStep, MaintenanceWindow, Plan, Provider, TargetSpec
from support.month_probes import MonthProbes

WAYNE = "Wayne Enterprises International Holdings — Finance & Procurement Department <EMEA>"
HOOLI = "=Hooli & Co"  # a spreadsheet would run it: the CSV must not let it
ISSUED = datetime(2026, 4, 2, 9, 30, tzinfo=UTC)
RUNNING = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)  # `now` of the running month

TARGETS = (
    TargetSpec("api", "public-api", 30.0),
    TargetSpec("search", "search", 30.0),
    TargetSpec("edge", "edge", 30.0),
    TargetSpec("ledger", "ledger", 30.0),
    TargetSpec("portal", "portal", 30.0, ("ipv4",)),
)
PLANS = {
    "basic": Plan("basic", Decimal("99.5")),
    "pro": Plan("pro", Decimal("99.9"), (CreditStep(Decimal("99.9"), percent=Decimal(10)),)),
    "gold": Plan(
        "gold",
        Decimal("99.9"),
        (CreditStep(Decimal("99.9"), amount=Decimal("500.00")),),
        max_credit_percent=Decimal(50),
    ),
    "kw": Plan(
        "kw",
        Decimal("99.95"),
        (CreditStep(Decimal("99.95"), percent=Decimal(100)),),
        max_credit_percent=Decimal(30),
    ),
    "enterprise": Plan("enterprise", Decimal("99.99")),
}
ENTERPRISE = (
    CreditStep(Decimal("99.99"), percent=Decimal(10)),
    CreditStep(Decimal("99.9"), percent=Decimal(25)),
)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


SINCE = utc(2025, 6, 1)
CONTRACTS = (
    Contract(
        "acme",
        "enterprise",
        "public-api",
        Decimal("12000.00"),
        "USD",
        SINCE,
        credits=ENTERPRISE,
        display_name="Acme Corp.",
    ),
    Contract("globex", "gold", "search", Decimal("400.00"), "EUR", SINCE),
    Contract("initech", "basic", "search", Decimal("0"), "USD", SINCE, utc(2026, 3, 16)),
    Contract("initech", "pro", "search", Decimal("800.00"), "USD", utc(2026, 3, 16)),
    Contract("hooli", "pro", "edge", Decimal("50000"), "JPY", SINCE, display_name=HOOLI),
    Contract("umbrella", "kw", "ledger", Decimal("1234.567"), "KWD", SINCE),
    Contract(
        "wayne", "pro", "portal", Decimal("1000.00"), "EUR", utc(2026, 3, 20), display_name=WAYNE
    ),
    Contract("soylent", "pro", "public-api", Decimal("250.00"), "USD", SINCE, utc(2026, 2, 15)),
)
MAINTENANCE = (
    MaintenanceWindow(
        utc(2026, 3, 2), utc(2026, 3, 5, 5, 21), targets=("api",), reason="data centre move"
    ),
)
PROVIDER = Provider(
    name="Outfame Ltd.",
    address="1 Example Street\n10115 Berlin\nGermany",
    contact="billing@outfame.example · +49 30 1234 5678",
    credit_terms="Credits are applied to the next invoice; ask for them within 30 days.",
)


def minute(day: int, hour: int = 0, at: int = 0) -> float:
    """Minutes from March 1st 00:00 UTC (April's first day is day 32)."""
    return (day - 1) * 1440 + hour * 60 + at


def march_probes(month: int = 3) -> MonthProbes:
    """Every probe of the golden month's story; `month` 2 puts the same window around
    February, where none of them falls: an empty month."""
    case = MonthProbes(2026, month, "UTC", targets=TARGETS)
    if month != 3:
        return case
    for target in TARGETS:
        for family in target.families:
            case.steady(target=target.name, family=family)
    case.fail(minute(18, 3), minute(18, 3, 4), target="api", family="ipv4")
    case.fail(minute(12, 10), minute(12, 11, 30), "status", target="search", family="ipv4")
    case.fail(minute(25, 9), minute(25, 9, 45), "connect", target="search", family="ipv6")
    case.remove(minute(5), minute(15), target="edge", family="ipv6")
    case.fail(minute(8, 2), minute(8, 5), "dns", target="ledger")
    case.fail(minute(31, 23, 30), minute(32, 0, 30), target="ledger")
    case.fail(minute(5, 8), minute(5, 8, 30), target="portal")
    case.fail(minute(22, 14), minute(22, 15), target="portal")
    case.remove(minute(24), minute(24, 6), target="portal")
    return case


def golden_report(
    *,
    month: int = 3,
    now: datetime = ISSUED,
    customer: str | None = None,
) -> MonthReport:
    """The month (or `customer`'s statement) as the engine reports it at `now`."""
    return march_probes(month).evaluate(
        contracts=CONTRACTS,
        maintenance=MAINTENANCE,
        now=now,
        customer=customer,
        plans=PLANS,
        min_coverage=Decimal(99),
        provider=PROVIDER,
        failures=True,
    )
