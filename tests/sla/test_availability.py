"""Eligible slices, availability, breach, error budget, month-to-date.

Unless a test says otherwise: February 2026 in UTC (40,320 one-minute slices), target
`api` of service `public-api`, probed every 30 s over IPv4 from one location.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction

import pytest

from sla.availability import Figures
from sla.model import MaintenanceWindow, Policy, TargetSpec

FEB_2026 = 40_320
DAY = 1440


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_twenty_bad_minutes_in_a_31_day_month(month_probes):
    """January 2026: 31 x 1,440 = 44,640 slices, 20 bad: 100 x 44,620 / 44,640 = 99.955197."""
    case = month_probes(2026, 1).steady().fail(100, 120)
    figures = case.evaluate().targets[0].figures
    assert (figures.eligible, figures.bad) == (44_640, 20)
    assert figures.availability == Fraction(100 * 44_620, 44_640)
    assert round(figures.availability, 6) == Fraction("99.955197")


@pytest.mark.parametrize(
    ("no_data", "eligible", "bad"),
    [
        ("exclude", FEB_2026 - 100, 10),  # 100 x 40,210 / 40,220 = 99.975137
        ("up", FEB_2026, 10),  # 100 x 40,310 / 40,320 = 99.975198
        ("down", FEB_2026, 110),  # 100 x 40,210 / 40,320 = 99.727183
    ],
)
def test_no_data_slices_are_dropped_or_counted_as_the_policy_says(
    month_probes, no_data, eligible, bad
):
    """Minutes 100-199 have no probe (the 99:00 probe is exactly 60 s old at 100:00, too
    old to carry): 100 NO_DATA; minutes 1000-1009 fail: 10 BAD."""
    case = month_probes(policy=Policy(no_data=no_data)).steady().remove(99.5, 200)
    case.fail(1000, 1010)
    figures = case.evaluate().targets[0].figures
    assert (figures.eligible, figures.bad, figures.no_data) == (eligible, bad, 100)
    assert figures.availability == Fraction(100 * (eligible - bad), eligible)


@pytest.mark.parametrize(("bad", "breach"), [(40, False), (41, True)])
def test_exactly_at_the_objective_is_no_breach(month_probes, make_contract, bad, breach):
    """320 NO_DATA minutes leave 40,000 eligible. Pro (99.9 %) allows 0.001 x 40,000 = 40:
    40 bad is exactly 99.9 % (no breach, no credit, budget 0); 41 bad is 99.8975 %."""
    case = month_probes().steady().remove(99.5, 420).fail(1000, 1000 + bad)
    (result,) = case.evaluate(contracts=[make_contract("pro")]).contracts
    assert result.figures.eligible == 40_000
    assert result.breach is breach
    assert result.budget_remaining == 40 - bad
    assert result.credit_amount == (Decimal("100.00") if breach else Decimal("0.00"))


@pytest.mark.parametrize(
    ("objective", "days", "allowed"),
    [
        ("99.5", 28, "201.6"),
        ("99.9", 29, "41.76"),
        ("99.95", 30, "21.6"),
        ("99.99", 31, "4.464"),
    ],
)
def test_the_error_budget_matches_the_spec_table(objective, days, allowed):
    """Allowed bad minutes = (1 - objective / 100) x days x 1,440, all slices eligible."""
    figures = Figures(eligible=days * DAY, bad=0, no_data=0, excluded=0, measured=days * DAY)
    assert figures.allowed_bad(Decimal(objective)) == Fraction(allowed)


def test_the_error_budget_goes_negative_once_spent():
    """The spec's example: 99.99 % of 40,260 eligible allows 4.026; 20 bad leaves -15.974."""
    figures = Figures(eligible=40_260, bad=20, no_data=0, excluded=60, measured=40_260)
    assert figures.budget_remaining(Decimal("99.99")) == Fraction("-15.974")


def test_the_share_of_the_budget_left_is_remaining_over_allowed():
    """What the budget gauge shows: 1 untouched, 0 spent, below 0 overspent, none without."""
    spent = Figures(eligible=40_260, bad=20, no_data=0, excluded=60, measured=40_260)
    assert spent.budget_share_left(Decimal("99.99")) == Fraction("-15.974") / Fraction("4.026")
    untouched = Figures(eligible=40_260, bad=0, no_data=0, excluded=0, measured=40_260)
    assert untouched.budget_share_left(Decimal("99.99")) == 1
    assert untouched.budget_share_left(Decimal(100)) is None
    assert Figures(0, 0, 0, 0, 0).budget_share_left(Decimal("99.9")) is None


def test_nothing_eligible_means_no_availability_and_no_breach():
    figures = Figures(eligible=0, bad=0, no_data=FEB_2026, excluded=0, measured=0)
    assert figures.availability is None
    assert figures.breach(Decimal("99.9")) is False


def test_a_month_to_date_report_counts_only_ended_slices(month_probes, make_contract):
    """At 10 Feb 00:00:30 the ended slices are 1-9 Feb: 9 x 1,440 = 12,960 (the 00:00
    slice in progress is not one). 20 bad on 5 Feb count, 30 on 12 Feb do not yet:
    100 x 12,940 / 12,960. Pro allows 12.96: breached, and the credit still uses the
    full month (period / month = 1): 10 % of 1000.00 = 100.00."""
    case = month_probes().steady().fail(4 * DAY, 4 * DAY + 20).fail(11 * DAY, 11 * DAY + 30)
    now = utc(2026, 2, 10, 0, 0, 30)
    report = case.evaluate(contracts=[make_contract("pro")], now=now)
    assert (report.month_to_date, report.evaluated_until) == (True, now)
    figures = report.targets[0].figures
    assert (figures.eligible, figures.bad) == (12_960, 20)
    assert report.contracts[0].credit_amount == Decimal("100.00")
    assert report.contracts[0].period_end == utc(2026, 3, 1)


def test_a_month_to_date_report_does_not_carry_probes_into_the_future(month_probes):
    """Probes stop at 00:05 on 1 Feb (the last at 00:04:30) and `now` is 00:10: slices
    00:00-00:09 have ended. 00:05 carries the 00:04:30 probe (30 s old), 00:06-00:09 are
    NO_DATA, and no later slice is counted at all: 6 eligible, 4 NO_DATA."""
    case = month_probes().steady(end=5)
    figures = case.evaluate(now=utc(2026, 2, 1, 0, 10)).targets[0].figures
    assert (figures.eligible, figures.no_data) == (6, 4)


def test_a_report_after_the_month_is_not_month_to_date(month_probes):
    report = month_probes().steady().evaluate(now=utc(2026, 3, 1))
    assert (report.month_to_date, report.evaluated_until) == (False, utc(2026, 3, 1))


def test_each_family_is_also_evaluated_alone(month_probes):
    """IPv4 fails for 10 minutes, IPv6 never: the target (any family) has 10 bad;
    IPv4 alone 100 x 40,310 / 40,320; IPv6 alone 100 %."""
    dual = TargetSpec("api", "public-api", 30.0, ("ipv4", "ipv6"))
    case = month_probes(targets=[dual]).steady().steady(family="ipv6").fail(10, 20, family="ipv4")
    target = case.evaluate().targets[0]
    assert target.figures.bad == 10
    assert [(f.family, f.figures.availability) for f in target.families] == [
        ("ipv4", Fraction(100 * 40_310, FEB_2026)),
        ("ipv6", 100),
    ]


def test_a_target_is_evaluated_over_the_whole_month_whatever_its_contracts(
    month_probes, make_contract
):
    """A contract from 15 Feb sees 14 x 1,440 = 20,160 slices; the target all 40,320."""
    report = month_probes().steady().evaluate(contracts=[make_contract(start=utc(2026, 2, 15))])
    assert report.targets[0].figures.eligible == FEB_2026
    assert report.contracts[0].figures.eligible == 20_160


def test_daily_figures_follow_calendar_days_in_the_report_zone(month_probes):
    """March 2026 in New York: 8 March loses an hour (1,380 slices); 5 bad minutes on
    3 March show on that day only."""
    case = month_probes(2026, 3, "America/New_York").steady().fail(2 * DAY, 2 * DAY + 5)
    daily = case.evaluate().targets[0].daily
    assert len(daily) == 31
    assert daily[7].day == date(2026, 3, 8)
    assert daily[7].figures.eligible == 1380
    assert [day.figures.bad for day in daily if day.figures.bad] == [5]
    assert daily[2].figures.bad == 5


def test_the_budget_burn_accumulates_bad_slices_day_by_day(month_probes, make_contract):
    """Pro over February allows 0.001 x 40,320 = 40.32 bad minutes; 10 bad on 3 Feb and
    10 on 10 Feb leave 30.32 after the 3rd and 20.32 from the 10th on."""
    case = month_probes().steady().fail(2 * DAY, 2 * DAY + 10).fail(9 * DAY, 9 * DAY + 10)
    (result,) = case.evaluate(contracts=[make_contract("pro")]).contracts
    burn = {day.day.day: (day.bad_slices, day.budget_remaining) for day in result.burn}
    assert len(burn) == 28
    assert burn[2] == (0, Fraction("40.32"))
    assert burn[3] == (10, Fraction("30.32"))
    assert burn[28] == (20, Fraction("20.32")) == (20, result.budget_remaining)


def test_the_budget_burn_covers_only_the_days_of_the_period(month_probes, make_contract):
    start, end = utc(2026, 2, 15, 12), utc(2026, 2, 20)
    report = month_probes().steady().evaluate(contracts=[make_contract(start=start, end=end)])
    (result,) = report.contracts
    assert [day.day.day for day in result.burn] == [15, 16, 17, 18, 19]


def test_maintenance_excludes_the_same_slices_from_each_family(month_probes):
    dual = TargetSpec("api", "public-api", 30.0, ("ipv4", "ipv6"))
    case = month_probes(targets=[dual]).steady().steady(family="ipv6")
    hour = MaintenanceWindow(utc(2026, 2, 3), utc(2026, 2, 3, 1))
    target = case.evaluate(maintenance=[hour]).targets[0]
    assert [f.figures.excluded for f in target.families] == [60, 60]
    assert target.daily[2].figures.excluded == 60
