"""Status page rules (docs/status-page.md): a component's status now and the page's indicator.

Pure, like the rest of `sla`: the caller passes each series' latest probe and `now`.
The slice rules themselves (carry-forward, quorum) are the ones of `sla.slices`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from sla.model import LastState, Policy, SeriesBlock
from sla.slices import BAD, NO_DATA, US, combine_locations, probe_states
from sla.vocabulary import FAMILIES, ComponentStatus, Family, Indicator


@dataclass(frozen=True)
class LastProbe:
    """The latest probe of one series that its rollups know (a `local` one never counts)."""

    started_us: int
    state: LastState


def last_probes(
    block: SeriesBlock, slice_seconds: int
) -> dict[tuple[str, Family, str], LastProbe | None]:
    """Each series' latest probe: the last slice with a probe, and when in it it started."""
    probed = block.total > 0
    slices = probed.shape[1]
    last = slices - 1 - np.argmax(probed[:, ::-1], axis=1)
    rows = np.flatnonzero(probed.any(axis=1))
    last = last[rows]
    started = (block.first_slice + last) * (slice_seconds * US)
    started += block.last_offset_us[rows, last].astype(np.int64)
    states = block.last_state[rows, last]
    found: dict[tuple[str, Family, str], LastProbe | None] = dict.fromkeys(block.series)
    for row, at, state in zip(rows.tolist(), started.tolist(), states.tolist(), strict=True):
        found[block.series[row]] = LastProbe(at, LastState(state))
    return found


def family_states(
    latest: Mapping[tuple[str, Family, str], LastProbe | None],
    stale_us: Mapping[str, int],
    policy: Policy,
    now_us: int,
) -> dict[tuple[str, str], int]:
    """Each (target, family) now: its locations' latest fresh probes, decided by the quorum.

    `latest` is by (target, family, location), `stale_us` by target (others are left
    out). GOOD, BAD or NO_DATA (every location stale), as a slice would be; a pair
    without any probe is not in the result: NO_DATA too. One array operation for all.
    """
    pairs: dict[tuple[str, str], int] = {}
    locations: dict[str, int] = {}
    cells = []
    for (target, family, location), probe in latest.items():
        if probe is not None and target in stale_us:
            row = pairs.setdefault((target, family), len(pairs))
            column = locations.setdefault(location, len(locations))
            cells.append((row, column, probe.started_us, int(probe.state), stale_us[target]))
    grid = np.full((len(pairs), max(len(locations), 1)), NO_DATA, np.int8)
    if cells:
        row, column, started, state, stale = np.array(cells, np.int64).T
        # A probe exactly stale_after old is too old, as in step 1.
        fresh = now_us - started < stale
        grid[row, column] = np.where(fresh, probe_states(policy)[state], NO_DATA)
    combined = combine_locations(grid, policy.location_quorum, axis=1)
    return dict(zip(pairs, combined.tolist(), strict=True))


@dataclass(frozen=True)
class ComponentNow:
    status: ComponentStatus
    monitored: bool  # False: no (target, family) has fresh data; the page says so
    failing_families: tuple[Family, ...]  # families with a failing target, for the page
    healthy_families: tuple[Family, ...]  # families with a target answering
    # Configured families with no fresh probe at all (say, the monitor lost its IPv6 route
    # and every probe was `local`): not monitored from here, which is never "down".
    unmonitored_families: tuple[Family, ...] = ()


def component_now(
    states: Mapping[tuple[str, Family], int],
    *,
    in_maintenance: bool,
    degraded: bool,
) -> ComponentNow:
    """The page's rule, from each (target, family)'s state now (`family_states`)."""
    known = {key: state for key, state in states.items() if state != NO_DATA}
    failing = {key for key, state in known.items() if state == BAD}
    failing_families = tuple(f for f in FAMILIES if any(key[1] == f for key in failing))
    healthy_families = tuple(
        f for f in FAMILIES if any(key[1] == f and key not in failing for key in known)
    )
    unmonitored_families = tuple(
        f
        for f in FAMILIES
        if any(key[1] == f for key in states) and not any(key[1] == f for key in known)
    )
    if in_maintenance:
        status = ComponentStatus.UNDER_MAINTENANCE
    elif known and len(failing) == len(known):
        status = ComponentStatus.MAJOR_OUTAGE
    elif failing:
        status = ComponentStatus.PARTIAL_OUTAGE
    elif degraded:
        status = ComponentStatus.DEGRADED_PERFORMANCE
    else:
        status = ComponentStatus.OPERATIONAL
    return ComponentNow(
        status, bool(known), failing_families, healthy_families, unmonitored_families
    )


def indicator(statuses: Iterable[ComponentStatus], operator_incident_open: bool) -> Indicator:
    """The page's overall indicator, as Statuspage names it."""
    statuses = list(statuses)
    if statuses and all(status == ComponentStatus.MAJOR_OUTAGE for status in statuses):
        return Indicator.CRITICAL
    if ComponentStatus.MAJOR_OUTAGE in statuses:
        return Indicator.MAJOR
    troubled = (ComponentStatus.PARTIAL_OUTAGE, ComponentStatus.DEGRADED_PERFORMANCE)
    if operator_incident_open or any(status in troubled for status in statuses):
        return Indicator.MINOR
    return Indicator.NONE
