"""The slice rules of docs/concepts.md, slice by slice: the reference the engine's reports are held to.

The engine evaluates one target at a time, starts each series at its first probe, cuts
the window at `now`, folds services target by target and builds incidents from BAD runs.
The reference here does none of that: it walks every slice of the whole window in plain
Python, the way the spec reads. `case` is a `support.month_probes.MonthProbes`.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import timedelta
from fractions import Fraction

import numpy as np

from sla.availability import Figures, daily_figures
from sla.engine import MonthReport
from sla.model import LastState, MaintenanceWindow, Policy, SeriesSlices, TargetSpec
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
    month_bounds,
    slice_at_or_after,
    stale_after_us,
)

US = 1_000_000


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
    opens, closes = month_bounds(case.year, case.month, case.tz)
    first, end = load_window(case.year, case.month, case.tz, policy, case.targets)
    ended = epoch_us(now) // slice_us
    month_first = slice_at_or_after(opens, policy.slice_seconds)
    month_end = slice_at_or_after(closes, policy.slice_seconds)
    counted = range(month_first, min(max(ended, month_first), month_end))
    starts = [epoch_us(start) for start in day_starts(case.year, case.month, case.tz)]
    days = [(opens + timedelta(days=n)).date() for n in range(len(starts) - 1)]

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
        start = max(opens, agreement.start)
        stop = closes if agreement.end is None else min(closes, agreement.end)
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
