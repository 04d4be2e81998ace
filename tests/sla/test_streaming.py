"""The streaming engine against a slice-by-slice reference of the slice rules in docs/concepts.md (hypothesis).

The reference (support.sla_reference) walks every slice of the whole window in plain
Python, the way the spec reads; the engine streams. Hour slices keep it quick (February
2026 has 672).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.sla_reference import reference, summary

from sla.engine import MonthReport, evaluate_month
from sla.model import Contract, LastState, MaintenanceWindow, Plan, Policy, SeriesSlices, TargetSpec
from sla.slices import (
    load_window,
)

US = 1_000_000
HOURS = 672
MONTH_START, MONTH_END = datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)
# Services interleave in config order (front, back, front): `front` stays open a while.
TARGETS = [
    TargetSpec("a", "front", 1800.0, ("ipv4", "ipv6")),
    TargetSpec("b", "back", 1800.0, ("ipv4",)),
    TargetSpec("c", "front", 2400.0, ("ipv4",)),
]
SERIES = [
    ("a", "ipv4", "east"),
    ("a", "ipv4", "west"),
    ("a", "ipv6", "east"),
    ("b", "ipv4", "east"),
    ("c", "ipv4", "east"),
    ("c", "ipv4", "west"),
]
PLANS = {"pro": Plan("pro", Decimal("99.9"))}
EQUAL = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

policies = st.builds(
    Policy,
    slice_seconds=st.just(3600),
    bad_slice_ratio=st.sampled_from([Decimal(0), Decimal("0.5"), Decimal("0.75"), Decimal(1)]),
    stale_after_seconds=st.sampled_from([None, 3600.0, 9000.0]),
    min_outage_slices=st.integers(1, 4),
    family_policy=st.sampled_from(["any", "all"]),
    location_quorum=st.sampled_from(["majority", 1, 2]),
    no_data=st.sampled_from(["exclude", "up", "down"]),
    rate_limited_counts_as=st.sampled_from(["up", "down"]),
)
# Per series, probed every 30 min from `start` for `hours` (hours from the month start):
# most series start well into the month, as on a fresh database; some never do.
lifetimes = st.lists(
    st.tuples(st.integers(-8, HOURS + 8), st.integers(0, HOURS + 16)),
    min_size=len(SERIES),
    max_size=len(SERIES),
)
events = st.lists(
    st.tuples(
        st.integers(0, len(SERIES) - 1),
        st.integers(-8, HOURS + 8),
        st.integers(1, 12),
        st.sampled_from(["failed", "rate_limited", "missing"]),
    ),
    max_size=20,
)
windows = st.lists(
    st.builds(
        lambda start, hours, names: MaintenanceWindow(
            MONTH_START + timedelta(hours=start),
            MONTH_START + timedelta(hours=start + hours),
            **names,
        ),
        st.integers(-4, HOURS),
        st.integers(0, 30),
        st.sampled_from(
            [
                {},
                {"targets": ("a",)},
                {"targets": ("a", "c")},
                {"services": ("front",)},
                {"services": ("back",)},
            ]
        ),
    ),
    max_size=3,
)
nows = st.one_of(
    st.just(datetime(2100, 1, 1, tzinfo=UTC)),
    st.integers(-120, HOURS * 60 + 120).map(
        lambda minutes: MONTH_START + timedelta(minutes=minutes)
    ),
)
contracts = st.lists(
    st.builds(
        lambda service, start, hours: Contract(
            "acme",
            "pro",
            service,
            Decimal(100),
            "USD",
            MONTH_START + timedelta(hours=start),
            None if hours is None else MONTH_START + timedelta(hours=start + hours),
        ),
        st.sampled_from(["front", "back"]),
        st.integers(-24, HOURS),
        st.one_of(st.none(), st.integers(0, HOURS)),
    ),
    max_size=3,
)


def build(month_probes, policy, lives, happenings):
    case = month_probes(policy=policy, targets=TARGETS)
    for (target, family, location), (start, hours) in zip(SERIES, lives, strict=True):
        names = {"target": target, "family": family, "location": location}
        case.steady(start=start * 60, end=(start + hours) * 60, every=1800, **names)
    for series, start, hours, what in happenings:
        target, family, location = SERIES[series]
        names = {"target": target, "family": family, "location": location}
        if what == "missing":
            case.remove(start * 60, (start + hours) * 60, **names)
        else:
            case.set(start * 60, (start + hours) * 60, LastState[what.upper()], **names)
    return case


def evaluate(case, series, agreements, maintenance, now) -> MonthReport:
    return evaluate_month(
        case.year,
        case.month,
        case.tz,
        policy=case.policy,
        targets=case.targets,
        plans=PLANS,
        contracts=agreements,
        maintenance=maintenance,
        series=series,
        now=now,
    )


@EQUAL
@given(policies, lifetimes, events, windows, contracts, nows)
def test_the_engine_reports_what_every_slice_says(
    month_probes, policy, lives, happenings, maintenance, agreements, now
):
    case = build(month_probes, policy, lives, happenings)
    report = evaluate(case, case.series(), agreements, maintenance, now)
    assert summary(report) == reference(case, agreements, maintenance, now)


def cut(one: SeriesSlices, start: int, end: int) -> SeriesSlices:
    return replace(
        one,
        first_slice=one.first_slice + start,
        **{
            name: getattr(one, name)[start:end]
            for name in ("total", "failed", "rate_limited", "last_offset_us", "last_state")
        },
    )


@EQUAL
@given(policies, lifetimes, events, windows, contracts, nows, st.integers(0, 100))
def test_series_loaded_per_target_from_their_first_probe_up_to_now_change_nothing(
    month_probes, policy, lives, happenings, maintenance, agreements, now, early
):
    """As the store loads them: one target at a time, each series from a slice at or
    before its first probe (`early` slices before it) to the last slice ended by `now`."""
    case = build(month_probes, policy, lives, happenings)
    whole = evaluate(case, case.series(), agreements, maintenance, now)
    _, end = load_window(case.year, case.month, case.tz, policy, TARGETS, now=now)
    loaded = {}
    for one in case.series():
        probed = np.flatnonzero(one.total)
        start = max(int(probed[0]) - early, 0) if len(probed) else 0
        loaded.setdefault(one.target, []).append(cut(one, start, end - one.first_slice))
    streamed = evaluate(case, lambda name: loaded.get(name, []), agreements, maintenance, now)
    assert streamed == whole
