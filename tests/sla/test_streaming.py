"""The streaming engine against a slice-by-slice reference of spec section 2 (hypothesis).

The engine evaluates one target at a time, starts each series at its first probe, cuts
the window at `now`, folds services target by target and builds incidents from BAD runs.
The reference below does none of that: it walks every slice of the whole window in
plain Python, the way the spec reads. Hour slices keep it quick (February 2026 has 672).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sla.availability import Figures, daily_figures
from sla.engine import MonthReport, evaluate_month
from sla.model import Contract, LastState, MaintenanceWindow, Plan, Policy, SeriesSlices, TargetSpec
from sla.slices import (
    BAD,
    EXCLUDED,
    GOOD,
    NO_DATA,
    covers_service,
    covers_target,
    day_starts,
    epoch_us,
    load_window,
    slice_at_or_after,
    stale_after_us,
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


# --- the reference: every slice of every series, one at a time -------------------------


def step_1(one: SeriesSlices, policy: Policy, stale_us: int, ended: int) -> list:
    """Own probes decide (BAD from ratio x probes failures on); else the latest probe's
    outcome while it is younger than stale_after; else NO_DATA. Nothing after `ended`."""
    slice_us, ratio = policy.slice_seconds * US, Fraction(policy.bad_slice_ratio)
    down = policy.rate_limited_counts_as == "down"
    carried = {LastState.OK: GOOD, LastState.RATE_LIMITED: BAD if down else GOOD}
    carried[LastState.FAILED] = BAD
    states, latest = [], None
    for i, total in enumerate(one.total.tolist()):
        age = None if latest is None else (i - latest) * slice_us - int(one.last_offset_us[latest])
        if one.first_slice + i >= ended:
            states.append(NO_DATA)
        elif total:
            failures = int(one.failed[i]) + (int(one.rate_limited[i]) if down else 0)
            states.append(BAD if failures >= total * ratio else GOOD)
        elif age is not None and age < stale_us:
            states.append(carried[LastState(int(one.last_state[latest]))])
        else:
            states.append(NO_DATA)
        latest = i if total else latest
    return states


def step_2(states: Sequence, family_policy: str) -> object:
    """One slice of one location over its families."""
    bad, good = BAD in states, GOOD in states
    if family_policy == "all":
        bad = bad and not good
    return BAD if bad else GOOD if good else NO_DATA


def step_3(states: Sequence, quorum: str | int) -> object:
    """One slice over the locations."""
    with_data = [state for state in states if state != NO_DATA]
    needed = len(with_data) // 2 + 1 if quorum == "majority" else quorum
    if not with_data:
        return NO_DATA
    return BAD if sum(state == BAD for state in with_data) >= needed else GOOD


def step_4(states: list, min_outage: int) -> list:
    out, i = list(states), 0
    while i < len(out):
        j = i
        while j < len(out) and states[j] == BAD:
            j += 1
        if 0 < j - i < min_outage:
            out[i:j] = [GOOD] * (j - i)
        i = max(j, i + 1)
    return out


def overlaps(windows: list[MaintenanceWindow], k: int, slice_us: int) -> bool:
    return any(
        epoch_us(w.start) < (k + 1) * slice_us and epoch_us(w.end) > k * slice_us for w in windows
    )


def steps_3_to_5(
    by_location: list[list], policy: Policy, windows: list, span: tuple[int, int]
) -> list:
    """Locations, blips and maintenance over the window [first, end) of `span`."""
    first, end = span
    located = [NO_DATA] * (end - first)  # a target without any series
    if by_location:
        located = [
            step_3(column, policy.location_quorum) for column in zip(*by_location, strict=True)
        ]
    kept = step_4(located, policy.min_outage_slices)
    slice_us = policy.slice_seconds * US
    return [EXCLUDED if overlaps(windows, first + i, slice_us) else s for i, s in enumerate(kept)]


def target_states(
    case, target: TargetSpec, windows: list, span: tuple[int, int], ended: int
) -> tuple[list, list[list]]:
    """Steps 1 to 5 over the window: the target's states, and each family's alone."""
    policy, stale_us = case.policy, stale_after_us(case.policy, target)
    series = {
        (one.family, one.location): step_1(one, policy, stale_us, ended)
        for one in case.series()
        if one.target == target.name
    }
    places = sorted({place for _, place in series})
    nothing = [NO_DATA] * (span[1] - span[0])
    cube = [[series.get((f, place), nothing) for place in places] for f in target.families]
    by_location = [
        [step_2(column, policy.family_policy) for column in zip(*(f[p] for f in cube), strict=True)]
        for p in range(len(places))
    ]
    return steps_3_to_5(by_location, policy, windows, span), [
        steps_3_to_5(family, policy, windows, span) for family in cube
    ]


def reference(case, agreements, maintenance, now) -> dict[str, list]:
    """What the report must say, from states of every slice of the whole loaded window."""
    policy, slice_us = case.policy, case.policy.slice_seconds * US
    first, end = load_window(case.year, case.month, case.tz, policy, case.targets)
    ended = epoch_us(now) // slice_us
    month_first = slice_at_or_after(MONTH_START, policy.slice_seconds)
    month_end = slice_at_or_after(MONTH_END, policy.slice_seconds)
    counted = range(month_first, min(max(ended, month_first), month_end))
    starts = [epoch_us(start) for start in day_starts(case.year, case.month, case.tz)]
    days = [(MONTH_START + timedelta(days=n)).date() for n in range(len(starts) - 1)]

    def figures(states: list, ks: Sequence[int]) -> tuple:
        """states[k - first] counted over the slices `ks`."""
        counts = np.zeros((len(days), 4), np.int64)
        for k in ks:
            counts[bisect_right(starts, k * slice_us) - 1, states[k - first]] += 1
        no_data = policy.no_data
        return Figures.from_counts(counts.sum(axis=0), no_data), daily_figures(
            counts, days, no_data
        )

    out: dict[str, list] = {"targets": [], "services": [], "contracts": [], "incidents": []}
    after_step_5 = {}
    for target in case.targets:
        window = [w for w in maintenance if covers_target(w, target)]
        combined, families = target_states(case, target, window, (first, end), ended)
        after_step_5[target.name] = combined
        alone = [figures(family, counted) for family in families]
        out["targets"].append((figures(combined, counted), alone))
    services = {}
    for service in dict.fromkeys(target.service for target in case.targets):
        members = [after_step_5[t.name] for t in case.targets if t.service == service]
        window = [w for w in maintenance if covers_service(w, service)]
        states = []
        for i, column in enumerate(zip(*members, strict=True)):
            if overlaps(window, first + i, slice_us) or set(column) == {EXCLUDED}:
                states.append(EXCLUDED)
            elif BAD in column:
                states.append(BAD)
            elif set(column) <= {NO_DATA, EXCLUDED}:
                states.append(NO_DATA)
            else:
                states.append(GOOD)
        services[service] = states
        out["services"].append((service, *figures(states, counted)))
    for agreement in agreements:
        start = max(MONTH_START, agreement.start)
        stop = MONTH_END if agreement.end is None else min(MONTH_END, agreement.end)
        if start < stop:
            low, high = (
                slice_at_or_after(moment, policy.slice_seconds) for moment in (start, stop)
            )
            inside = [k for k in counted if low <= k < high]
            out["contracts"].append(figures(services[agreement.service], inside)[0])
    bad_targets = [
        {t.name for t in case.targets if after_step_5[t.name][k - first] == BAD} for k in counted
    ]
    i = 0
    while i < len(bad_targets):
        j, names = i, set()
        while j < len(bad_targets) and bad_targets[j]:
            names |= bad_targets[j]
            j += 1
        if j > i:
            ordered = tuple(t.name for t in case.targets if t.name in names)
            out["incidents"].append((counted[i], counted[j - 1] + 1, ordered))
        i = max(j, i + 1)
    return out


def summary(report: MonthReport) -> dict[str, list]:
    """The report in the reference's shape."""
    seconds = report.slice_seconds
    return {
        "targets": [
            ((t.figures, t.daily), [(f.figures, f.daily) for f in t.families])
            for t in report.targets
        ],
        "services": [(s.name, s.figures, s.daily) for s in report.services],
        "contracts": [c.figures for c in report.contracts],
        "incidents": [
            (slice_at_or_after(i.start, seconds), slice_at_or_after(i.end, seconds), i.targets)
            for i in report.incidents
        ],
    }


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
