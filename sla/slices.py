"""From per-slice probe rollups to target and service slice states.

Every function works on whole numpy arrays of slices (a month is ~44,640 slices per
series and there may be thousands of series), never on one slice at a time. Slice k
is [k * slice, (k + 1) * slice) seconds after the epoch, in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import IntEnum
from fractions import Fraction
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from sla.errors import SlaError
from sla.model import LastState, MaintenanceWindow, Policy, SeriesSlices, TargetSpec

US = 1_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class SliceState(IntEnum):
    """State of one slice; stored as int8 in numpy arrays."""

    GOOD = 0  # GOOD and BAD are False and True: step 1 views a bool array as states
    BAD = 1
    NO_DATA = 2
    EXCLUDED = 3


GOOD, BAD, NO_DATA, EXCLUDED = (np.int8(state) for state in SliceState)
IntOrArray = TypeVar("IntOrArray", int, np.ndarray)


# --- time ------------------------------------------------------------------------------


def epoch_us(moment: datetime) -> int:
    """Exact microseconds since the epoch (floats would blur slice and stale boundaries)."""
    if moment.utcoffset() is None:
        raise SlaError(f"time {moment.isoformat()} has no time zone")
    return (moment - EPOCH) // timedelta(microseconds=1)


def from_epoch_us(value: int) -> datetime:
    """The UTC time `value` microseconds after the epoch (the inverse of epoch_us)."""
    return EPOCH + timedelta(microseconds=value)


def slice_index(at_us: IntOrArray, slice_seconds: int) -> IntOrArray:
    """The slice holding the instant(s) `at_us` epoch microseconds: the slice grid itself.

    Slice k holds [k * slice, (k + 1) * slice); works on ints and numpy arrays alike.
    """
    return at_us // (slice_seconds * US)


def slice_at_or_after(moment: datetime, slice_seconds: int) -> int:
    """Index of the first slice that starts at or after `moment`."""
    return -slice_index(-epoch_us(moment), slice_seconds)


def slice_start(index: int, slice_seconds: int) -> datetime:
    return EPOCH + timedelta(seconds=index * slice_seconds)


def zone(tz_name: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SlaError(f"unknown time zone {tz_name!r}") from exc


def day_starts(year: int, month: int, tz_name: str) -> list[datetime]:
    """UTC starts of the month's calendar days in `tz_name`, then the next month's start."""
    if not 1 <= month <= 12:
        raise SlaError(f"month {month} is not between 1 and 12")
    tz = zone(tz_name)
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    days = (following - first).days
    # A midnight skipped by a DST jump maps to the jump itself (fold=0).
    midnights = (first + timedelta(days=n) for n in range(days + 1))
    return [datetime.combine(day, time(), tz).astimezone(UTC) for day in midnights]


def month_bounds(year: int, month: int, tz_name: str) -> tuple[datetime, datetime]:
    """[start, end) of the calendar month in `tz_name`, as UTC datetimes."""
    starts = day_starts(year, month, tz_name)
    return starts[0], starts[-1]


def month_slices(year: int, month: int, tz_name: str, slice_seconds: int) -> tuple[int, int]:
    """[first, end) slice indexes of the month: slices whose start lies in the month.

    Slices are aligned to the epoch, so when the zone's offset is not a multiple of the
    slice the first slice starts after midnight (rounded up), and so does the end.
    """
    start, end = month_bounds(year, month, tz_name)
    return slice_at_or_after(start, slice_seconds), slice_at_or_after(end, slice_seconds)


def stale_after_us(policy: Policy, target: TargetSpec) -> int:
    """How old a probe may be and still carry into an empty slice (default 2 x interval)."""
    seconds = policy.stale_after_seconds
    if seconds is None:
        seconds = 2 * target.interval_seconds
    return round(seconds * US)


def load_window(
    year: int,
    month: int,
    tz_name: str,
    policy: Policy,
    targets: Iterable[TargetSpec],
    *,
    now: datetime | None = None,
) -> tuple[int, int]:
    """[first, end) epoch slice indexes of the rollups needed to evaluate the month exactly.

    With `now`, the window stops at the first slice not ended by then: later slices are
    NO_DATA whatever is stored, so a month-to-date report need not read them.
    """
    return span_window(*month_bounds(year, month, tz_name), policy, targets, now=now)


def span_window(
    start: datetime,
    end: datetime,
    policy: Policy,
    targets: Iterable[TargetSpec],
    *,
    now: datetime | None = None,
) -> tuple[int, int]:
    """[first, end) epoch slice indexes of the rollups needed to evaluate [start, end) exactly.

    Why the margins suffice. Before the span, with M = min_outage_slices and
    C = ceil(max stale_after / slice):
    - whether the span's first BAD slices are a blip depends on the run they belong
      to; M - 1 earlier slices are enough to tell whether that run is at least M long;
    - the earliest of those slices may be empty and carry the state of a probe started
      less than stale_after before it, i.e. at most C slices earlier.
    So M - 1 + C slices are needed; we load M + C + 1. After the span, a run that
    reaches the last slice needs at most M - 1 later slices to reach length M, and
    those later slices carry from within the span or from each other: M slices.
    """
    first = slice_at_or_after(start, policy.slice_seconds)
    last = slice_at_or_after(end, policy.slice_seconds)
    slice_us = policy.slice_seconds * US
    max_stale_us = max((stale_after_us(policy, target) for target in targets), default=0)
    carry_slices = -(-max_stale_us // slice_us)
    first -= policy.min_outage_slices + carry_slices + 1
    last += policy.min_outage_slices
    if now is not None:
        last = min(max(slice_index(epoch_us(now), policy.slice_seconds), first), last)
    return first, last


# --- step 1: series slices -------------------------------------------------------------


def series_states(series: SeriesSlices, policy: Policy, stale_us: int) -> np.ndarray:
    """Step 1 for one series: `rollup_states` of its arrays."""
    return rollup_states(
        policy,
        stale_us,
        total=series.total,
        failed=series.failed,
        rate_limited=series.rate_limited,
        last_offset_us=series.last_offset_us,
        last_state=series.last_state,
    )


def rollup_states(
    policy: Policy,
    stale_us: int | np.ndarray,
    *,
    total: np.ndarray,
    failed: np.ndarray,
    rate_limited: np.ndarray,
    last_offset_us: np.ndarray,
    last_state: np.ndarray,
) -> np.ndarray:
    """Step 1: GOOD/BAD from the slice's own probes, else carried from the latest probe.

    The arrays are rollup columns, slices on the last axis: one series (1-D) or many
    (2-D, one row each, `stale_us` then one value per row), evaluated the same way.
    Every slice must have ended: the caller cuts the series at `now`, so that a
    month-to-date report never carries a probe into the future.
    """
    # The columns may be views of packed rollup records (a 21-byte stride, unaligned): a
    # pass over one costs several over a contiguous copy, and `total` is read three times.
    total = np.ascontiguousarray(total)
    failures = failed
    if policy.rate_limited_counts_as == "down":
        failures = failed + rate_limited  # at most `total`: cannot overflow
    # The fewest failures that make a slice of t probes BAD: ceil(t x ratio), computed in
    # Python integers since t x numerator can overflow int64 for a ratio of many digits.
    ratio = Fraction(policy.bad_slice_ratio)
    fewest_bad = np.array(
        [
            min(-(-probes * ratio.numerator // ratio.denominator), probes + 1)
            for probes in range(int(total.max(initial=0)) + 1)
        ],
        total.dtype,  # as narrow as the counts: this lookup runs over every slice
    )
    # np.take: a lookup costs a third less than indexing the table with the array.
    states: np.ndarray = (failures >= np.take(fewest_bad, total)).view(np.int8)  # BAD 1
    no_probes = total == 0
    if not no_probes.any():
        return states
    states[no_probes] = NO_DATA

    # An empty slice takes the state of the latest earlier probe, if recent enough.
    rows = as_rows(no_probes)  # a view: one series is one row
    index = np.arange(rows.shape[1], dtype=np.int32)
    latest = np.maximum.accumulate(np.where(rows, -1, index), axis=1)
    row, empty = np.nonzero(rows & (latest >= 0))
    source = latest[row, empty]
    age_us = (empty - source) * (policy.slice_seconds * US)
    offsets = last_offset_us.reshape(rows.shape)[row, source].astype(np.int64)
    stale = np.broadcast_to(np.asarray(stale_us, np.int64).reshape(-1), (len(rows),))[row]
    fresh = age_us - offsets < stale
    carried = probe_states(policy)[last_state.reshape(rows.shape)[row[fresh], source[fresh]]]
    states.reshape(rows.shape)[row[fresh], empty[fresh]] = carried
    return states


def as_rows(slices: np.ndarray) -> np.ndarray:
    """A 1-D array as one row, a 2-D one as it is (views: writes go to `slices`)."""
    rows: np.ndarray = slices.reshape(int(np.prod(slices.shape[:-1])), slices.shape[-1])
    return rows


def probe_states(policy: Policy) -> np.ndarray:
    """The slice state one probe stands for, indexed by its LastState (NONE: NO_DATA)."""
    probe_state = np.full(len(LastState), NO_DATA, np.int8)
    probe_state[LastState.OK] = GOOD
    probe_state[LastState.RATE_LIMITED] = BAD if policy.rate_limited_counts_as == "down" else GOOD
    probe_state[LastState.FAILED] = BAD
    return probe_state


# --- steps 2 and 3: families, locations ------------------------------------------------


def combine_families(states: np.ndarray, family_policy: str, axis: int = 0) -> np.ndarray:
    """Step 2 over `axis` (families): `any` BAD family, or `all` families with data BAD.

    As GOOD < BAD < NO_DATA, the minimum is GOOD if a family is GOOD, else BAD if one is,
    else NO_DATA: that is `all`; `any` then only has to raise the slices with a BAD family.
    """
    combined: np.ndarray = states.min(axis=axis)
    if family_policy == "any":
        combined[(states == BAD).any(axis=axis)] = BAD
    return combined


def combine_locations(states: np.ndarray, quorum: str | int, axis: int = 0) -> np.ndarray:
    """Step 3 over `axis` (locations): BAD when at least `quorum` locations say BAD.

    `majority` means more than half of the locations that have data in that slice. A
    location without any data (NO_DATA throughout) changes nothing.
    """
    if states.shape[axis] == 1 and quorum in ("majority", 1):
        alone: np.ndarray = np.take(states, 0, axis=axis)  # one location decides alone
        return alone
    bad = (states == BAD).sum(axis=axis, dtype=np.uint16)
    with_data = (states != NO_DATA).sum(axis=axis, dtype=np.uint16)
    needed = with_data // 2 + 1 if quorum == "majority" else quorum
    combined = np.where(bad >= needed, BAD, GOOD)
    combined[with_data == 0] = NO_DATA
    return combined


# --- step 4: blips ---------------------------------------------------------------------


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[start, end) indexes of the maximal runs of True in a 1-D mask."""
    edges = np.flatnonzero(np.diff(mask, prepend=False, append=False))  # starts and ends alternate
    return edges[::2], edges[1::2]


def drop_blips(states: np.ndarray, min_outage_slices: int) -> np.ndarray:
    """Step 4: runs of BAD shorter than `min_outage_slices` become GOOD.

    Runs are taken along the last axis (one series, or one row per target) over the
    whole loaded window (see `load_window`), not the month.
    """
    if min_outage_slices <= 1:
        return states
    # One GOOD slice after each row keeps runs from reaching into the next row.
    padded = np.pad(as_rows(states), ((0, 0), (0, 1)), constant_values=GOOD)
    flat = padded.reshape(-1)
    starts, ends = runs(flat == BAD)
    short = ends - starts < min_outage_slices
    if not short.any():
        return states
    # +1 where a short run starts, -1 where it ends: the running sum marks its slices.
    marks = np.zeros(len(flat) + 1, np.int8)
    marks[starts[short]] = 1
    marks[ends[short]] = -1
    kept = np.where(np.cumsum(marks[:-1], dtype=np.int8) > 0, GOOD, flat)
    return kept.reshape(padded.shape)[:, :-1].reshape(states.shape)


# --- steps 5 and 6: maintenance, services ----------------------------------------------


def covers_target(window: MaintenanceWindow, target: TargetSpec) -> bool:
    return (
        not (window.targets or window.services)
        or target.name in window.targets
        or target.service in window.services
    )


def covers_service(window: MaintenanceWindow, service: str) -> bool:
    return not (window.targets or window.services) or service in window.services


def maintenance_mask(
    windows: Iterable[MaintenanceWindow], first_slice: int, length: int, slice_seconds: int
) -> np.ndarray:
    """Slices of [first_slice, first_slice + length) that overlap any part of a window.

    Slice k overlaps [ws, we) when ws < (k + 1) * slice and we > k * slice, that is
    floor(ws / slice) <= k < ceil(we / slice).
    """
    mask = np.zeros(length, bool)
    for window in windows:
        low = slice_index(epoch_us(window.start), slice_seconds) - first_slice
        high = slice_at_or_after(window.end, slice_seconds) - first_slice
        mask[max(low, 0) : max(high, 0)] = True
    return mask


@dataclass(frozen=True)
class Track:
    """States of `lead + len(tail)` slices, of which those before `lead` are all NO_DATA.

    A target first probed an hour ago has weeks of empty slices before that in its
    month: a track stores only the tail, and counting its lead needs no array at all.
    """

    lead: int
    tail: np.ndarray  # int8 states of the slices from `lead` on

    def excluding(self, mask: np.ndarray) -> Track:
        """Step 5: EXCLUDED wherever `mask` (a bool per slice of the track) is set."""
        if not mask.any():
            return self
        lead = min(self.lead, int(mask.argmax()))  # the first excluded slice
        tail = np.concatenate((np.full(self.lead - lead, NO_DATA, np.int8), self.tail))
        tail[mask[lead:]] = EXCLUDED
        return Track(lead, tail)

    def bad_runs(self) -> tuple[np.ndarray, np.ndarray]:
        """[start, end) slice positions of the runs of BAD."""
        starts, ends = runs(self.tail == BAD)
        return starts + self.lead, ends + self.lead


# Step 6 ranks the states EXCLUDED < NO_DATA < GOOD < BAD: a service slice takes the
# highest of its targets' (any BAD: BAD; else any GOOD: GOOD; else any NO_DATA: NO_DATA;
# all EXCLUDED: EXCLUDED), so the service can be folded one target at a time.
_RANK = np.array([2, 3, 1, 0], np.int8)  # indexed by SliceState
_RANKED = np.array([EXCLUDED, NO_DATA, GOOD, BAD], np.int8)  # indexed by rank


def fold_groups(states: np.ndarray, groups: Sequence[Sequence[int]]) -> np.ndarray:
    """Step 6 over targets (rows of `states`, after step 5) for each group of row numbers:
    (groups, slices). A group of no target is NO_DATA. All groups in one operation: each
    is padded to the largest with a row of the lowest rank, which changes no maximum."""
    # np.take: a lookup costs a third less than indexing the table with the array.
    ranks = np.vstack((np.take(_RANK, states), np.full((1, states.shape[1]), _RANK[EXCLUDED])))
    width = max((len(group) for group in groups), default=0)
    padded = np.full((len(groups), max(width, 1)), len(states), np.intp)
    for number, group in enumerate(groups):
        padded[number, : len(group)] = group
    folded: np.ndarray = np.take(_RANKED, ranks[padded].max(axis=1))
    folded[[number for number, group in enumerate(groups) if not group]] = NO_DATA
    return folded


class ServiceStates:
    """Step 6, folded one target at a time: the service never holds its targets' arrays."""

    def __init__(self, length: int) -> None:
        self._lead = length
        self._ranks = np.empty(0, np.int8)  # ranks of the slices from _lead on
        self._targets = 0

    def add(self, target: Track) -> None:
        """Fold in one target's states, already through step 5."""
        if target.lead < self._lead:
            # Before the old lead every target so far was NO_DATA; with none, nothing is.
            filler = _RANK[NO_DATA] if self._targets else _RANK[EXCLUDED]
            grown = np.full(self._lead - target.lead, filler, np.int8)
            self._ranks = np.concatenate((grown, self._ranks))
            self._lead = target.lead
        split = target.lead - self._lead
        head, tail = self._ranks[:split], self._ranks[split:]
        np.maximum(head, _RANK[NO_DATA], out=head)
        np.maximum(tail, _RANK[target.tail], out=tail)
        self._targets += 1

    def track(self) -> Track:
        """The service's states so far (its own maintenance, step 5, is the caller's)."""
        return Track(self._lead, _RANKED[self._ranks])
