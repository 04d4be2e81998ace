"""Properties that hold for any probes, policy and maintenance (hypothesis).

Hour slices keep the examples small: February 2026 has 28 x 24 = 672 of them. Probes
run every 30 min (two a slice; stale_after 1 h) for two targets of one service:
`dual` over IPv4 and IPv6, `single` over IPv4, each from two locations.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from support.month_probes import LATER

from sla.availability import Figures
from sla.credits import contract_credit, round_money
from sla.engine import group_states
from sla.model import CreditStep, LastState, MaintenanceWindow, Policy, TargetSpec
from sla.slices import SliceState, month_bounds

HOURS = 672
MONTH_START = datetime(2026, 2, 1, tzinfo=UTC)
TARGETS = [
    TargetSpec("dual", "public-api", 1800.0, ("ipv4", "ipv6")),
    TargetSpec("single", "public-api", 1800.0, ("ipv4",)),
]
SERIES = [
    (target.name, family, location)
    for target in TARGETS
    for family in target.families
    for location in ("east", "west")
]
ENTERPRISE = (
    CreditStep(Decimal("99.99"), percent=Decimal(10)),
    CreditStep(Decimal("99.9"), percent=Decimal(25)),
    CreditStep(Decimal("99.0"), percent=Decimal(50)),
)
PROPERTIES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

policies = st.builds(
    Policy,
    slice_seconds=st.just(3600),
    bad_slice_ratio=st.sampled_from([Decimal("0.5"), Decimal("0.75"), Decimal(1)]),
    min_outage_slices=st.integers(1, 3),
    family_policy=st.sampled_from(["any", "all"]),
    location_quorum=st.sampled_from(["majority", 1, 2]),
    no_data=st.sampled_from(["exclude", "up", "down"]),
    rate_limited_counts_as=st.sampled_from(["up", "down"]),
)
# (series, first probe, how many probes, what happens to them); probe 0 is 3 h before
# the month, so runs straddle the month start as well as its end.
events = st.lists(
    st.tuples(
        st.integers(0, len(SERIES) - 1),
        st.integers(0, 2 * HOURS + 8),
        st.integers(1, 12),
        st.sampled_from(["failed", "rate_limited", "missing"]),
    ),
    max_size=25,
)
windows = st.lists(
    st.builds(
        lambda start, minutes, names: MaintenanceWindow(
            MONTH_START + timedelta(minutes=start),
            MONTH_START + timedelta(minutes=start + minutes),
            **names,
        ),
        st.integers(-120, HOURS * 60),
        st.integers(0, 300),
        st.sampled_from([{}, {"targets": ("dual",)}, {"services": ("public-api",)}]),
    ),
    max_size=2,
)
mid_month = st.integers(1, HOURS - 1).map(lambda hour: MONTH_START + timedelta(hours=hour))


def build(month_probes, policy, happenings):
    """Every series probed steadily, then the events applied, probe by probe."""
    case = month_probes(policy=policy, targets=TARGETS)
    for target, family, location in SERIES:
        case.steady(target=target, family=family, location=location, every=1800)
    for series, first, count, what in happenings:
        target, family, location = SERIES[series]
        start, end = -180 + 30 * first, -180 + 30 * (first + count)
        names = {"target": target, "family": family, "location": location}
        if what == "missing":
            case.remove(start, end, **names)
        else:
            case.set(start, end, LastState[what.upper()], **names)
    return case


@PROPERTIES
@given(policies, events, windows, mid_month)
def test_availability_stays_within_0_and_100(
    month_probes, make_contract, policy, happenings, maintenance, start
):
    case = build(month_probes, policy, happenings)
    contracts = [make_contract("enterprise", credits=ENTERPRISE), make_contract(start=start)]
    report = case.evaluate(contracts=contracts, maintenance=maintenance)
    figures = [target.figures for target in report.targets]
    figures += [family.figures for target in report.targets for family in target.families]
    figures += [contract.figures for contract in report.contracts]
    for one in figures:
        assert one.availability is None or 0 <= one.availability <= 100


@PROPERTIES
@given(policies, events, windows)
def test_the_slices_of_a_month_add_up_to_its_length(
    month_probes, make_contract, policy, happenings, maintenance
):
    """GOOD + BAD + NO_DATA + EXCLUDED = 672, for targets, families and the service."""
    case = build(month_probes, policy, happenings)
    report = case.evaluate(contracts=[make_contract()], maintenance=maintenance)
    figures = [target.figures for target in report.targets]
    figures += [family.figures for target in report.targets for family in target.families]
    figures.append(report.contracts[0].figures)
    for one in figures:
        no_data_outside = one.no_data if policy.no_data == "exclude" else 0
        assert one.eligible + no_data_outside + one.excluded == HOURS
        assert sum(day.figures.eligible for day in report.targets[0].daily) == (
            report.targets[0].figures.eligible
        )


@PROPERTIES
@given(policies, events, windows, st.integers(0, len(SERIES) - 1), st.integers(0, 2 * HOURS + 8))
def test_one_more_failed_probe_never_raises_availability_nor_lowers_a_credit(
    month_probes, make_contract, policy, happenings, maintenance, series, probe
):
    contracts = [make_contract("enterprise", credits=ENTERPRISE), make_contract("pro")]
    before = build(month_probes, policy, happenings)
    target, family, location = SERIES[series]
    times, states = before.probes[(target, family, location)]
    minute = -180 + 30 * probe
    at = before.us_at(minute)
    assume(((times == at) & (states == LastState.OK)).any())
    after = build(month_probes, policy, happenings)
    after.set(minute, minute + 1, LastState.FAILED, target=target, family=family, location=location)
    old = before.evaluate(contracts=contracts, maintenance=maintenance)
    new = after.evaluate(contracts=contracts, maintenance=maintenance)
    pairs = [(o.figures, n.figures) for o, n in zip(old.targets, new.targets, strict=True)]
    pairs += [(o.figures, n.figures) for o, n in zip(old.contracts, new.contracts, strict=True)]
    for old_figures, new_figures in pairs:
        assert old_figures.eligible == new_figures.eligible
        assert new_figures.bad >= old_figures.bad
    for old_contract, new_contract in zip(old.contracts, new.contracts, strict=True):
        assert new_contract.credit_amount >= old_contract.credit_amount


schedules = st.lists(
    st.builds(
        CreditStep,
        below=st.decimals("90", "100", places=3),
        percent=st.one_of(st.none(), st.decimals("0", "200", places=2)),
        amount=st.none(),
    ),
    min_size=1,
    max_size=4,
).map(
    lambda steps: tuple(
        step if step.percent is not None else CreditStep(step.below, amount=Decimal(99_999))
        for step in steps
    )
)


@settings(max_examples=200)
@given(
    schedules,
    st.fractions(90, 100),
    st.decimals("0.01", "1000000", places=2),
    st.decimals("0", "100", places=1),
    st.integers(1, 28 * 86_400),
    st.sampled_from(["USD", "JPY", "KWD"]),
)
def test_a_credit_never_exceeds_the_cap(schedule, availability, fee, cap, period_s, currency):
    """Whatever the schedule (percents up to 200 %, huge fixed amounts) the credit is at
    most cap % of the prorated fee, once both are rounded."""
    month_s = 28 * 86_400
    credit = contract_credit(
        schedule=schedule,
        availability=Fraction(availability),
        monthly_fee=fee,
        currency=currency,
        max_credit_percent=cap,
        period_us=period_s * 1_000_000,
        month_us=month_s * 1_000_000,
    )
    limit = Fraction(fee) * Fraction(cap) / 100 * Fraction(period_s, month_s)
    assert credit.amount <= round_money(Decimal(limit.numerator) / limit.denominator, currency)
    assert credit.amount >= 0


@PROPERTIES
@given(policies, events, windows, st.integers(1, 3 * HOURS * 8))
def test_status_page_groups_have_the_slices_of_their_targets_and_service_in_the_report(
    month_probes, policy, happenings, maintenance, batch_cells
):
    """group_states evaluates many targets at once, as rows of arrays, and the report one
    at a time: whatever the batch, a group of one target has that target's slice counts,
    the group of both the service's, and the states do not depend on the batch."""
    case = build(month_probes, policy, happenings)
    report = case.evaluate(maintenance=maintenance)
    groups = [["dual"], ["single"], ["dual", "single"], []]

    def states(batch: int) -> list[np.ndarray]:
        found = group_states(
            *month_bounds(2026, 2, "UTC"),
            policy=policy,
            targets=TARGETS,
            groups=groups,
            maintenance=maintenance,
            series=case.block,
            now=LATER,
            batch_cells=batch,
        )
        return [group.states for group in found]

    batched, whole = states(batch_cells), states(1 << 30)
    expected = [target.figures for target in report.targets] + [report.services[0].figures]
    for group, figures in zip(batched, expected, strict=False):
        counts = np.bincount(group, minlength=len(SliceState))
        assert Figures.from_counts(counts, policy.no_data) == figures
    assert list(batched[3]) == [SliceState.NO_DATA] * HOURS  # a group of no target
    for one, other in zip(batched, whole, strict=True):
        assert np.array_equal(one, other)


plain_policies = st.builds(
    Policy,
    slice_seconds=st.just(3600),
    bad_slice_ratio=st.sampled_from([Decimal("0.5"), Decimal(1)]),
    family_policy=st.sampled_from(["any", "all"]),
    location_quorum=st.sampled_from(["majority", 1, 2]),
    rate_limited_counts_as=st.just("down"),  # no 429 held: each family as the report's
)


@PROPERTIES
@given(plain_policies, events, st.integers(1, 3 * HOURS * 8))
def test_status_page_scope_codes_are_each_familys_own_slices(
    month_probes, policy, happenings, batch_cells
):
    """A group's scope codes say, slice by slice, which families failed and answered: for
    a group of one target, a family's failing slices are the BAD slices of that family
    evaluated alone (the report's `families`, without blips or maintenance here), its
    answering ones the GOOD; and the codes do not depend on the batch."""
    from sla.status import ANSWERING, FAILING

    case = build(month_probes, policy, happenings)
    report = case.evaluate()
    groups = [["dual"], ["single"], ["dual", "single"]]

    def codes(batch: int) -> list[np.ndarray]:
        found = group_states(
            *month_bounds(2026, 2, "UTC"),
            policy=policy,
            targets=TARGETS,
            groups=groups,
            maintenance=(),
            series=case.block,
            now=LATER,
            batch_cells=batch,
        )
        return [group.scope for group in found]

    batched, whole = codes(batch_cells), codes(1 << 30)
    for one, other in zip(batched, whole, strict=True):
        assert np.array_equal(one, other)
    for group, target in zip(batched, report.targets, strict=False):
        for family in target.families:
            assert np.count_nonzero(group & FAILING[family.family]) == family.figures.bad
            good = family.figures.eligible - family.figures.bad
            assert np.count_nonzero(group & ANSWERING[family.family]) == good
    assert not (batched[1] & (FAILING["ipv6"] | ANSWERING["ipv6"])).any()  # IPv4 only
    assert np.array_equal(batched[2], batched[0] | batched[1])
