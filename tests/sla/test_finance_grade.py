"""What makes a statement finance-grade (docs/statements.md): coverage per family and per
contract period, final and complete months, a credit that can be checked, incidents a
customer can read, and ranges with customers who join or leave.

Every month here is February 2026 in UTC (40,320 one-minute slices) unless a test says
otherwise; probes every 30 s, stale after 60 s.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

import pytest

from sla.engine import MonthReport
from sla.model import CreditStep, Plan, TargetSpec
from sla.ranges import combine_months
from sla.render.formatting import minutes, money, percent

DUAL = TargetSpec("api", "public-api", 30.0)  # both families
FEBRUARY = 28 * 1440
DAY = 1440


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def both(case):
    return case.steady().steady(family="ipv6")


# --- coverage per family and per contract period ---------------------------------------


def test_an_ipv6_gap_is_missing_data_even_where_ipv4_answered(month_probes, make_contract):
    # IPv6 unprobed for ten days: the last probe before (23:59:30) still carries into the
    # first slice of the gap, so 10 x 1440 - 1 slices have no IPv6 data.
    case = both(month_probes(targets=[DUAL])).remove(5 * DAY, 15 * DAY, family="ipv6")
    report = case.evaluate(contracts=[make_contract()])
    (target,) = report.targets
    ipv4, ipv6 = target.families
    assert ipv4.figures.coverage == 100
    assert ipv6.figures.coverage == Fraction(100 * (FEBRUARY - 14_399), FEBRUARY)
    assert target.coverage == ipv6.figures.coverage
    assert target.figures.coverage == 100  # the families combined hide the gap
    assert ipv6.figures.availability == 100  # what it has is good, but
    assert report.short_targets == (target,)  # it is short of data
    assert report.contracts[0].coverage == ipv6.figures.coverage
    assert not report.complete


def test_a_contract_is_judged_on_the_coverage_of_its_own_period(month_probes, make_contract):
    # Six hours without probes in the week a customer joined: 1.1 % of the month (the
    # target is complete) but 3.7 % of the customer's own 7 days.
    case = month_probes().steady().remove(22 * DAY, 22 * DAY + 360)
    joins = make_contract(start=utc(2026, 2, 22))
    report = case.evaluate(contracts=[joins])
    (contract,) = report.contracts
    assert report.short_targets == ()
    assert contract.coverage == Fraction(100 * (7 * DAY - 359), 7 * DAY)
    assert not contract.complete
    assert report.short_contracts == (contract,)
    assert not report.complete


def test_a_running_month_is_neither_final_nor_complete(month_probes, make_contract):
    report = month_probes().steady().evaluate(contracts=[make_contract()], now=utc(2026, 2, 20))
    assert (report.final, report.complete) == (False, False)
    assert report.contracts[0].coverage == 100
    assert not report.contracts[0].complete  # full data so far, but the month runs


def test_a_month_issued_before_it_began_is_not_final(month_probes, make_contract):
    # Synthetic history for a future month is evaluated whole, but not final until it ends.
    case = month_probes().steady()
    report = case.evaluate(contracts=[make_contract()], issued_at=utc(2026, 1, 10))
    assert (report.month_to_date, report.final, report.complete) == (False, False, False)
    assert case.evaluate(contracts=[make_contract()]).final


def test_the_report_carries_its_reference_and_when_it_was_issued(month_probes, make_contract):
    case = month_probes().steady()
    report = case.evaluate(contracts=[make_contract()], issued_at=utc(2026, 3, 2, 8))
    assert (report.reference, report.issued_at) == ("SLA-2026-02", utc(2026, 3, 2, 8))
    statement = case.evaluate(contracts=[make_contract()], customer="acme")
    assert statement.reference == "SLA-2026-02-acme"


# --- the credit, step by step -----------------------------------------------------------


def test_a_prorated_fee_is_kept_unrounded_and_the_rule_applied_named(month_probes, make_contract):
    # From the 18th: 11 of 28 days. 30 bad minutes of 15,840: 99.810606 %, below 99.9.
    case = month_probes().steady().fail(20 * DAY, 20 * DAY + 30)
    (contract,) = case.evaluate(contracts=[make_contract(start=utc(2026, 2, 18))]).contracts
    # 1,000 x 11 / 28 = 392.857142857142..., unrounded (to 60 digits).
    assert abs(Fraction(contract.prorated_fee) - Fraction(11_000, 28)) < Fraction(1, 10**50)
    assert contract.credit_rule == CreditStep(Decimal("99.9"), percent=Decimal(10))
    assert (contract.credit_amount, contract.uncapped_amount) == (Decimal("39.29"),) * 2
    assert not contract.credit_capped


CAPPED = {
    "capped": Plan(
        "capped",
        Decimal("99.9"),
        (CreditStep(Decimal("99.9"), percent=Decimal(100)),),
        max_credit_percent=Decimal(30),
    ),
    "fixed": Plan(
        "fixed",
        Decimal("99.9"),
        (CreditStep(Decimal("99.9"), amount=Decimal("500.00")),),
        max_credit_percent=Decimal(50),
    ),
}


@pytest.mark.parametrize(
    ("plan", "fee", "currency", "uncapped", "credited"),
    [
        # 100 % of 1,234.567 KWD, capped at 30 %: 370.3701, to the fils.
        ("capped", "1234.567", "KWD", "1234.567", "370.370"),
        # A fixed 500.00 EUR, capped at 50 % of a 400.00 EUR fee.
        ("fixed", "400.00", "EUR", "500.00", "200.00"),
    ],
)
def test_a_capped_credit_says_so_and_keeps_what_it_would_have_been(
    month_probes, make_contract, plan, fee, currency, uncapped, credited
):
    case = month_probes().steady().fail(100, 200)
    contract = make_contract(plan, fee=fee, currency=currency)
    (result,) = case.evaluate(contracts=[contract], plans=CAPPED).contracts
    assert result.credit_capped
    assert (str(result.uncapped_amount), str(result.credit_amount)) == (uncapped, credited)
    assert result.max_credit_percent == CAPPED[plan].max_credit_percent


# --- an incomplete contract -------------------------------------------------------------


def test_a_breach_no_missing_data_can_undo_is_certain_with_its_least_credit(
    month_probes, make_contract
):
    # Joins on the 22nd (7 days, 10,080 slices); 6 hours without data; 60 bad minutes.
    # Pro allows 0.1 % of at most 10,080 eligible slices, 10.08: 60 is a breach whatever
    # the missing hours hold. At best (all missing slices good) availability is
    # 100 x 10,020 / 10,080 = 99.404762 %, still below 99.9: at least 10 % of 1,000.00 x
    # 7 / 28 = 25.00 USD.
    case = month_probes().steady().remove(23 * DAY, 23 * DAY + 360)
    case.fail(25 * DAY, 25 * DAY + 60)
    (contract,) = case.evaluate(contracts=[make_contract(start=utc(2026, 2, 22))]).contracts
    assert not contract.complete
    assert (contract.breach, contract.breach_certain) == (True, True)
    assert contract.period_slices == 7 * DAY
    assert contract.credit_at_least == Decimal("25.00")


def test_a_breach_the_missing_data_could_undo_is_not_certain(month_probes, make_contract):
    # 20 bad minutes in 10 days of data: below 99.9 % so far, but 20 is within 0.1 % of
    # the month's 40,320 slices (40.32): good data still missing could lift it.
    case = month_probes().steady(end=10 * DAY).fail(DAY, DAY + 20)
    (contract,) = case.evaluate(contracts=[make_contract()]).contracts
    assert (contract.breach, contract.breach_certain, contract.credit_at_least) == (
        True,
        False,
        None,
    )


def test_the_least_credit_of_a_stepped_schedule_is_the_tier_the_best_case_reaches(
    month_probes, make_contract
):
    # Enterprise steps: below 99.99 10 %, below 99.9 25 %. 30 bad of 10,080 seen (99.70 %,
    # the 25 % tier) but with the missing data good, at best 100 x 40,290 / 40,320 =
    # 99.925595 %: only the 10 % tier is certain.
    steps = (
        CreditStep(Decimal("99.99"), percent=Decimal(10)),
        CreditStep(Decimal("99.9"), percent=Decimal(25)),
    )
    case = month_probes().steady(end=7 * DAY).fail(DAY, DAY + 30)
    contract = make_contract("enterprise", credits=steps)
    (result,) = case.evaluate(contracts=[contract]).contracts
    assert (result.credit_percent, result.credit_amount) == (Decimal(25), Decimal("250.00"))
    assert result.credit_at_least == Decimal("100.00")


# --- incidents --------------------------------------------------------------------------


def test_an_incident_names_the_families_and_the_reasons_that_failed(month_probes):
    case = both(month_probes(targets=[DUAL]))
    case.fail(100, 110, "connect", family="ipv6").fail(105, 110, "tls", family="ipv4")
    (incident,) = case.evaluate(failures=True).incidents
    assert (incident.slices, incident.families) == (10, ("ipv4", "ipv6"))
    assert dict(incident.reasons) == {"connect": 20, "tls": 10}  # two probes a minute
    assert not incident.ongoing


def test_an_incident_past_the_months_end_continues(month_probes):
    case = month_probes().steady().fail(FEBRUARY - 30, FEBRUARY + 30)
    (incident,) = case.evaluate(failures=True).incidents
    assert (incident.end, incident.slices, incident.ongoing) == (utc(2026, 3, 1), 30, True)
    assert dict(incident.reasons) == {"timeout": 60}  # March's probes are not February's


def test_an_incident_that_ends_with_the_month_does_not_continue(month_probes):
    case = month_probes().steady().fail(FEBRUARY - 30, FEBRUARY)
    (incident,) = case.evaluate().incidents
    assert (incident.end, incident.ongoing) == (utc(2026, 3, 1), False)


def test_an_outage_running_now_continues(month_probes):
    case = month_probes().steady().fail(DAY, 3 * DAY)
    (incident,) = case.evaluate(now=utc(2026, 2, 2, 12)).incidents
    assert (incident.end, incident.slices, incident.ongoing) == (utc(2026, 2, 2, 12), 720, True)


def test_a_statement_leaves_out_incidents_before_its_contract_and_clips_the_rest(
    month_probes, make_contract
):
    case = month_probes().steady()
    case.fail(DAY, DAY + 30)  # before the contract: left out
    case.fail(10 * DAY - 20, 10 * DAY + 40)  # across its start: its 40 minutes in it
    case.fail(20 * DAY - 10, 20 * DAY + 10)  # across its end: 10 minutes, then continues
    contract = make_contract(start=utc(2026, 2, 11), end=utc(2026, 2, 21))
    whole = case.evaluate(contracts=[contract])
    statement = case.evaluate(contracts=[contract], customer="acme")
    assert len(whole.incidents) == 3
    assert [(i.start, i.slices, i.ongoing) for i in statement.incidents] == [
        (utc(2026, 2, 11), 40, False),
        (utc(2026, 2, 20, 23, 50), 10, True),
    ]


# --- ranges -----------------------------------------------------------------------------


LATER = utc(2100, 1, 1)


def quarter(month_probes, make_contract, contracts, now=LATER):
    """Each month of Q1 2026 as `contracts`' customer's statement, probed all along."""
    months = []
    for number in (1, 2, 3):
        case = month_probes(month=number).steady().fail(100, 160)  # 60 bad minutes a month
        months.append(case.evaluate(contracts=contracts, customer="acme", now=now))
    return combine_months(tuple(months))


def test_a_customer_who_joins_in_march_has_a_quarter(month_probes, make_contract):
    joins = make_contract(start=utc(2026, 3, 1))
    report = quarter(month_probes, make_contract, [joins])
    assert [len(m.contracts) for m in report.months] == [0, 0, 1]
    assert [t.name for t in report.targets] == ["api"]
    assert report.targets[0].figures == report.months[2].targets[0].figures
    ((total),) = report.customers
    assert (total.credit_total, total.final, total.provisional) == (
        Decimal("100.00"),
        Decimal("100.00"),
        Decimal(0),
    )


def test_a_customer_who_leaves_in_february_has_a_quarter(month_probes, make_contract):
    leaves = make_contract(end=utc(2026, 2, 15))
    report = quarter(month_probes, make_contract, [leaves])
    assert [len(m.contracts) for m in report.months] == [1, 1, 0]
    assert [m.targets != () for m in report.months] == [True, True, False]
    # January whole (100.00), February's first half: 10 % of 1,000.00 x 14 / 28.
    assert report.customers[0].final == Decimal("150.00")


def test_a_ranges_credits_are_split_into_final_and_provisional_months(month_probes, make_contract):
    report = quarter(month_probes, make_contract, [make_contract()], now=utc(2026, 3, 10))
    assert [m.final for m in report.months] == [True, True, False]
    (total,) = report.customers
    assert (total.final, total.provisional, total.credit_total) == (
        Decimal("200.00"),
        Decimal("100.00"),
        Decimal("300.00"),
    )
    assert not report.final
    assert not report.complete


# --- figures people read ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("exact", "objective", "shown"),
    [
        (Fraction("99.98999975"), Decimal("99.99"), "99.989999 %"),  # a breach stays below
        (Fraction("99.9999999"), None, "99.999999 %"),  # never rounded up to 100
        (Fraction(100), Decimal("99.99"), "100 %"),
        (Fraction("99.99"), Decimal("99.99"), "99.99 %"),  # exactly at it: no breach
        # At an objective of more decimals, a figure at or above it gets as many.
        (Fraction("99.9999999994"), Decimal("99.999999999"), "99.999999999 %"),
        (Fraction("99.99999999899"), Decimal("99.999999999"), "99.999999 %"),
        (Fraction(100 * 40_240, 40_260), None, "99.950322 %"),
    ],
)
def test_availability_is_truncated_with_decimals_enough_to_show_a_breach(exact, objective, shown):
    assert percent(exact, objective) == shown
    if objective is not None:
        value = Fraction(shown.removesuffix(" %"))
        assert (value < objective) == (exact < objective)


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (Decimal("1000.00"), "EUR", "1,000.00 EUR"),
        (Decimal("1234567.891"), "KWD", "1,234,567.891 KWD"),
        (Decimal(22500), "JPY", "22,500 JPY"),
        (Decimal("0.00"), "USD", "0.00 USD"),
    ],
)
def test_money_groups_thousands_with_commas(amount, currency, text):
    assert money(amount, currency) == text


def test_a_budget_overspent_by_a_hair_is_never_zero(month_probes) -> None:
    report: MonthReport = month_probes().evaluate()
    assert minutes(Fraction(-1, 10_000), report) == "-0.0001 min"
    assert minutes(Fraction(15_974, 1000), report) == "15.974 min"
    assert minutes(1440, report) == "1,440 min"
