"""Status page rules (docs/status-page.md): what a component shows and the page's indicator.

Pure, like the rest of `sla`: the caller passes slice arrays and times.

A component's status comes from its (target, family) pairs, slice by slice: each pair's
slice state after locations are combined (section 2 steps 1 and 3, without blips or
maintenance), with one rule of the page's own: a pair held back by a 429's Retry-After
stays answering for `stale_after` + `max_retry_after` (`rate_limited_held`). A slice of a
component is summed up in a **scope code**, four bits: which families have a failing pair
and which have an answering one. The code says the status (no bit: not monitored;
failing and none answering: major outage; failing and answering: partial outage; only
answering: operational) and the families the page names. A status is shown once its code
has held for `hold_slices` slices (`held_codes`), so the banner does not flap.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from sla.model import LastState, Policy
from sla.slices import BAD, GOOD, US
from sla.vocabulary import (
    COMPONENT_SEVERITY,
    FAMILIES,
    INDICATOR_SEVERITY,
    ComponentStatus,
    Family,
    Impact,
    Indicator,
)

FAILING: dict[Family, int] = {"ipv4": 1, "ipv6": 2}  # a pair of this family is BAD
ANSWERING: dict[Family, int] = {"ipv4": 4, "ipv6": 8}  # a pair of this family is GOOD
SCOPE_CODES = 16
NOT_MONITORED = 0  # the code of a slice in which no pair has data


@dataclass(frozen=True)
class Scope:
    """What one scope code says."""

    status: ComponentStatus  # operational, partial_outage or major_outage
    monitored: bool  # False: no pair had data; the JSON says operational, the page "not monitored"
    failing_families: tuple[Family, ...]
    healthy_families: tuple[Family, ...]  # families with a pair answering

    @property
    def major(self) -> bool:
        return self.status == ComponentStatus.MAJOR_OUTAGE


def scope(code: int) -> Scope:
    failing = tuple(f for f in FAMILIES if code & FAILING[f])
    healthy = tuple(f for f in FAMILIES if code & ANSWERING[f])
    if failing and not healthy:
        status = ComponentStatus.MAJOR_OUTAGE
    elif failing:
        status = ComponentStatus.PARTIAL_OUTAGE
    else:
        status = ComponentStatus.OPERATIONAL
    return Scope(status, code != NOT_MONITORED, failing, healthy)


SCOPES: tuple[Scope, ...] = tuple(scope(code) for code in range(SCOPE_CODES))
# Each code's status, as the index in COMPONENT_SEVERITY, not monitored apart: a code's
# rank says whether two codes show the same status (held runs are compared by it).
_RANK = np.array(
    [COMPONENT_SEVERITY.index(s.status) if s.monitored else -1 for s in SCOPES], np.int8
)
MAJOR_CODES = np.array([s.major for s in SCOPES], bool)


def rate_limited_held(
    policy: Policy,
    stale_us: np.ndarray,
    grace_us: np.ndarray,
    *,
    total: np.ndarray,
    last_offset_us: np.ndarray,
    last_state: np.ndarray,
) -> np.ndarray:
    """Empty slices of each row (series) held by a 429: answering, for the page alone.

    A slice without a probe whose latest earlier probe was `rate_limited` and started at
    least `stale_after` (row's `stale_us`) but less than `stale_after + max_retry_after`
    (plus the row's `grace_us`) before the slice: the monitor is waiting out the API's
    Retry-After, the API answered. Rows (2-D rollup columns) as `rollup_states` takes
    them; only rows with a rate-limited probe are searched. Under
    `rate_limited_counts_as: down` a 429 is a failure and nothing is held.
    """
    held = np.zeros(total.shape, bool)
    if policy.rate_limited_counts_as == "down":
        return held
    rows = np.flatnonzero((last_state == LastState.RATE_LIMITED).any(axis=1))
    if len(rows) == 0:
        return held
    probed = total[rows] > 0
    index = np.arange(probed.shape[1], dtype=np.int32)
    latest = np.maximum.accumulate(np.where(probed, index, -1), axis=1)
    row, empty = np.nonzero(~probed & (latest >= 0))
    source = latest[row, empty]
    limited = last_state[rows[row], source] == LastState.RATE_LIMITED
    age_us = (empty - source) * (policy.slice_seconds * US) - last_offset_us[
        rows[row], source
    ].astype(np.int64)
    stale = stale_us[rows[row]]
    keep = limited & (age_us >= stale) & (age_us < stale + grace_us[rows[row]])
    held[rows[row[keep]], empty[keep]] = True
    return held


def pair_codes(pairs: np.ndarray, families: np.ndarray) -> np.ndarray:
    """Scope bits of each target's slices from its pairs' states.

    `pairs` is (targets, family slots, slices) of GOOD/BAD/NO_DATA after locations;
    `families` (targets, family slots) the FAMILIES index of each slot (-1: none).
    """
    failing = np.array([FAILING[f] for f in FAMILIES] + [0], np.uint8)[families]
    answering = np.array([ANSWERING[f] for f in FAMILIES] + [0], np.uint8)[families]
    codes = np.zeros((pairs.shape[0], pairs.shape[2]), np.uint8)
    # A slot at a time, in bytes: a cold build's 90 days make (targets, slots, slices)
    # temporaries of np.where ten times as costly as these few passes.
    for slot in range(pairs.shape[1]):
        states = pairs[:, slot]
        codes |= (states == BAD).view(np.uint8) * failing[:, slot, None]
        codes |= (states == GOOD).view(np.uint8) * answering[:, slot, None]
    return codes


def fold_codes(codes: np.ndarray, groups: Sequence[Sequence[int]]) -> np.ndarray:
    """Each group's scope codes (groups, slices): its targets' bits together."""
    rows = np.vstack((codes, np.zeros((1, codes.shape[1]), codes.dtype)))
    width = max((len(group) for group in groups), default=0)
    padded = np.full((len(groups), max(width, 1)), len(codes), np.intp)
    for number, group in enumerate(groups):
        padded[number, : len(group)] = group
    folded: np.ndarray = np.bitwise_or.reduce(rows[padded], axis=1).astype(np.int8)
    return folded


@dataclass(frozen=True)
class Held:
    """A component's held status: the code shown and when its status began, as slices."""

    code: int
    since: int  # epoch slice where the status shown began (the first held run showing it)


def held_codes(
    starts: Sequence[np.ndarray], codes: Sequence[np.ndarray], ends: Sequence[int], hold: int
) -> list[Held]:
    """For each component (its scope codes as runs: run i is codes[i] from starts[i] to
    the next start, the last to `end`), the code of its latest run that lasted at least
    `hold` slices, and where the status it shows began: the earliest of the held runs
    since the last held run that showed another status (runs too short to hold in
    between change nothing). With no held run, its last run (or NOT_MONITORED) shows.

    Derived from the slices alone, so a page built at any moment shows the same as one
    refreshed since long before. All components at once: one array operation each step.
    """
    sizes = np.array([len(s) for s in starts], np.int64)
    if not sizes.any():
        return [Held(NOT_MONITORED, int(end)) for end in ends]
    begins = np.cumsum(sizes) - sizes
    joined = np.concatenate([np.empty(0, np.int64), *starts])
    states = np.concatenate([np.empty(0, np.int8), *codes])
    owner = np.repeat(np.arange(len(sizes)), sizes)
    following = np.append(joined[1:], 0)
    lasts = begins + sizes - 1
    filled = sizes > 0
    following[lasts[filled]] = np.asarray(ends, np.int64)[filled]
    held = following - joined >= hold
    rank = _RANK[states]
    # Per component: the last held run, and the last held run whose rank differs from the
    # one held after it (the status changed there). Positions via maximum.accumulate
    # within each component, read at its last run.
    position = np.arange(len(joined))
    last_held = np.where(held, position, -1)
    previous = np.full(len(joined), -1, np.int64)  # the previous held run of the same owner
    held_at = np.flatnonzero(held)
    if len(held_at) > 1:
        same_owner = owner[held_at[1:]] == owner[held_at[:-1]]
        previous[held_at[1:][same_owner]] = held_at[:-1][same_owner]
    changed = held & ((previous < 0) | (rank[np.maximum(previous, 0)] != rank))
    last_change = np.where(changed, position, -1)
    # Runs after a component's last held one are not held, so neither is a change: the
    # maxima over each component's runs are its last held run and its last change.
    shown = np.full(len(sizes), -1, np.int64)
    began = np.full(len(sizes), -1, np.int64)
    if filled.any():
        shown[filled] = np.maximum.reduceat(last_held, begins[filled])
        began[filled] = np.maximum.reduceat(last_change, begins[filled])
    fallback = lasts  # no held run: the last run shows, since its start
    code = np.where(shown >= 0, states[np.maximum(shown, 0)], states[np.maximum(fallback, 0)])
    since = np.where(began >= 0, joined[np.maximum(began, 0)], joined[np.maximum(fallback, 0)])
    return [
        Held(int(c), int(s)) if full else Held(NOT_MONITORED, int(end))
        for c, s, full, end in zip(
            code.tolist(), since.tolist(), filled.tolist(), list(ends), strict=True
        )
    ]


def worst(statuses: Iterable[ComponentStatus]) -> ComponentStatus:
    """The worst of some statuses (operational for none)."""
    return max(statuses, key=COMPONENT_SEVERITY.index, default=ComponentStatus.OPERATIONAL)


_IMPACT_INDICATOR = {
    Impact.NONE: Indicator.NONE,
    Impact.MAINTENANCE: Indicator.MAINTENANCE,
    Impact.MINOR: Indicator.MINOR,
    Impact.MAJOR: Indicator.MAJOR,
    Impact.CRITICAL: Indicator.CRITICAL,
}


def indicator(
    statuses: Iterable[ComponentStatus],
    open_impacts: Iterable[Impact] = (),
    *,
    maintenance: bool = False,
) -> Indicator:
    """The page's overall indicator, as Statuspage names it: the worst of the components'
    statuses (`critical` when every one is in major outage, `major` when any is, `minor`
    when any is partial or degraded), every open incident's impact, and `maintenance`
    while a public window is in progress (or a component is under maintenance)."""
    statuses = list(statuses)
    found = [_IMPACT_INDICATOR[impact] for impact in open_impacts]
    if statuses and all(status == ComponentStatus.MAJOR_OUTAGE for status in statuses):
        found.append(Indicator.CRITICAL)
    elif ComponentStatus.MAJOR_OUTAGE in statuses:
        found.append(Indicator.MAJOR)
    troubled = (ComponentStatus.PARTIAL_OUTAGE, ComponentStatus.DEGRADED_PERFORMANCE)
    if any(status in troubled for status in statuses):
        found.append(Indicator.MINOR)
    if maintenance or ComponentStatus.UNDER_MAINTENANCE in statuses:
        found.append(Indicator.MAINTENANCE)
    return max(found, key=INDICATOR_SEVERITY.index, default=Indicator.NONE)
