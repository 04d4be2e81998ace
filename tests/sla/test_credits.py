"""Credit schedules, proration, cap, rounding, customer totals.

Engine tests use target `api` of service `public-api`, probed every 30 s over IPv4.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

import pytest

from sla.credits import applicable_step, contract_credit, round_money
from sla.errors import SlaError
from sla.model import CreditStep

DAY = 1440
ENTERPRISE = (
    CreditStep(Decimal("99.99"), percent=Decimal(10)),
    CreditStep(Decimal("99.9"), percent=Decimal(25)),
    CreditStep(Decimal("99.0"), percent=Decimal(50)),
)
MONTH_US = 28 * 86_400 * 1_000_000


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def credit(availability, schedule=ENTERPRISE, fee="1000.00", currency="USD", cap="100"):
    """The credit of a whole 28-day month."""
    return contract_credit(
        schedule=schedule,
        availability=None if availability is None else Fraction(availability),
        monthly_fee=Decimal(fee),
        currency=currency,
        max_credit_percent=Decimal(cap),
        period_us=MONTH_US,
        month_us=MONTH_US,
    )


@pytest.mark.parametrize(
    ("availability", "percent"),
    [("99.995", None), ("99.95", 10), ("99.5", 25), ("98", 50), ("99.9", 10), ("99.0", 25)],
)
def test_the_entry_with_the_lowest_threshold_below_the_availability_applies(availability, percent):
    """99.95 is below 99.99 only (10 %); 99.5 below 99.99 and 99.9 (the lower: 25 %);
    exactly 99.9 is not below 99.9 (10 %), exactly 99.0 not below 99.0 (25 %)."""
    step = applicable_step(ENTERPRISE, Fraction(availability))
    assert (step and step.percent) == (None if percent is None else Decimal(percent))


def test_no_availability_earns_no_credit():
    assert credit(None) == credit("100")
    assert (credit(None).percent, credit(None).amount) == (Decimal(0), Decimal("0.00"))


def test_exactly_at_a_threshold_earns_nothing():
    """Pro pays below 99.9: availability of exactly 99.9 is not below it."""
    pro = (CreditStep(Decimal("99.9"), percent=Decimal(10)),)
    assert credit("99.9", pro).amount == Decimal("0.00")
    assert credit(Fraction(99_899_999, 1_000_000), pro).amount == Decimal("100.00")


def test_a_fixed_amount_entry_pays_that_amount_and_has_no_percent():
    schedule = (CreditStep(Decimal("99.9"), amount=Decimal("250")),)
    result = credit("99.5", schedule)
    assert (result.percent, result.amount) == (None, Decimal("250.00"))


def test_the_credit_is_capped_at_max_credit_percent_of_the_fee():
    """50 % of 1000.00 would be 500.00; a 30 % cap makes it 300.00."""
    assert credit("98", cap="30").amount == Decimal("300.00")
    schedule = (CreditStep(Decimal("99.9"), amount=Decimal("5000")),)
    assert credit("98", schedule, cap="30").amount == Decimal("300.00")


@pytest.mark.parametrize(
    ("fee", "currency", "amount"),
    [
        ("1.25", "USD", "0.12"),  # 0.125: the tie goes to the even cent
        ("1.35", "USD", "0.14"),  # 0.135
        ("12345", "JPY", "1234"),  # 1234.5: yen have no minor unit
        ("12355", "JPY", "1236"),  # 1235.5
        ("12.345", "BHD", "1.234"),  # 1.2345: dinars have three places
    ],
)
def test_credits_round_half_even_to_the_currencys_minor_unit(fee, currency, amount):
    """10 % of the fee, rounded once."""
    schedule = (CreditStep(Decimal("99.9"), percent=Decimal(10)),)
    assert str(credit("99", schedule, fee=fee, currency=currency).amount) == amount


def test_money_is_rounded_with_the_currencys_places_even_when_zero():
    assert str(round_money(Decimal(0), "JPY")) == "0"
    assert str(round_money(Decimal(0), "KWD")) == "0.000"
    assert str(round_money(Decimal(0), "eur")) == "0.00"


def test_a_contract_from_mid_month_is_prorated_by_seconds(month_probes, make_contract):
    """April 2026 has 30 days; from 16 April the period is 15 days (21,600 slices).
    30 bad minutes break pro's 21.6 allowed: 3000.00 x 10 % x 15 / 30 = 150.00."""
    case = month_probes(2026, 4).steady().fail(20 * DAY, 20 * DAY + 30)
    contract = make_contract("pro", fee="3000.00", start=utc(2026, 4, 16))
    (result,) = case.evaluate(contracts=[contract]).contracts
    assert (result.period_start, result.period_end) == (utc(2026, 4, 16), utc(2026, 5, 1))
    assert result.figures.eligible == 21_600
    assert result.credit_amount == Decimal("150.00")


def test_a_plan_change_sums_the_credit_of_each_period(month_probes, make_contract):
    """February 2026 (28 days), pro until 15 Feb then turbo, fee 3000.00 each, 30 bad
    minutes in each half (pro allows 20.16 of 20,160; turbo 10.08):
    pro 3000 x 10 % x 14 / 28 = 150.00, turbo 3000 x 25 % x 14 / 28 = 375.00; 525.00."""
    case = month_probes().steady().fail(DAY, DAY + 30).fail(20 * DAY, 20 * DAY + 30)
    mid = utc(2026, 2, 15)
    contracts = [
        make_contract("pro", fee="3000.00", end=mid),
        make_contract("turbo", fee="3000.00", start=mid),
    ]
    report = case.evaluate(contracts=contracts)
    assert [c.credit_amount for c in report.contracts] == [Decimal("150.00"), Decimal("375.00")]
    assert [(c.customer, c.credit_total, c.currency) for c in report.customers] == [
        ("acme", Decimal("525.00"), "USD")
    ]


def test_an_enterprise_contract_uses_its_own_schedule(month_probes, make_contract):
    """50 bad minutes of 40,320: 100 x 40,270 / 40,320 = 99.875992, below 99.99 and 99.9
    but not 99.0: 25 % of 12000.00 = 3000.00."""
    case = month_probes().steady().fail(100, 150)
    contract = make_contract("enterprise", fee="12000.00", credits=ENTERPRISE)
    (result,) = case.evaluate(contracts=[contract]).contracts
    assert (result.credit_percent, result.credit_amount) == (Decimal(25), Decimal("3000.00"))


def test_a_contracts_schedule_replaces_its_plans(month_probes, make_contract):
    """50 bad minutes: 99.875992 %, a pro breach; the contract's own schedule pays from
    below 99.5 only, so nothing."""
    case = month_probes().steady().fail(100, 150)
    own = (CreditStep(Decimal("99.5"), percent=Decimal(50)),)
    (result,) = case.evaluate(contracts=[make_contract("pro", credits=own)]).contracts
    assert result.breach
    assert (result.credit_percent, result.credit_amount) == (Decimal(0), Decimal("0.00"))


def test_contracts_outside_the_month_are_left_out(month_probes, make_contract):
    contracts = [
        make_contract(customer="gone", end=utc(2026, 2, 1)),
        make_contract(customer="later", start=utc(2026, 3, 1)),
        make_contract(customer="acme"),
    ]
    report = month_probes().steady().evaluate(contracts=contracts)
    assert [c.customer for c in report.contracts] == ["acme"]


def test_customer_totals_are_per_currency_in_order_of_first_appearance(month_probes, make_contract):
    """50 bad minutes (99.875992 %) breach pro: each contract gets 10 % of its fee."""
    case = month_probes().steady().fail(100, 150)
    contracts = [
        make_contract(customer="zeta", fee="100.00"),
        make_contract(customer="acme", fee="1000.00"),
        make_contract(customer="zeta", fee="5000", currency="JPY"),
        make_contract(customer="zeta", fee="300.00"),
    ]
    totals = case.evaluate(contracts=contracts).customers
    assert [(t.customer, str(t.credit_total), t.currency) for t in totals] == [
        ("zeta", "40.00", "USD"),
        ("zeta", "500", "JPY"),
        ("acme", "100.00", "USD"),
    ]


def test_a_contract_naming_an_unknown_plan_or_service_is_an_sla_error(month_probes, make_contract):
    case = month_probes().steady()
    with pytest.raises(SlaError, match="platinum"):
        case.evaluate(contracts=[make_contract("platinum")])
    with pytest.raises(SlaError, match="billing"):
        case.evaluate(contracts=[make_contract(service="billing")])
