"""Status page rules (docs/status-page.md): a component's status now and the page's indicator.

Pure, like the rest of `sla`: the caller passes each series' latest probe and `now`.
The slice rules themselves (carry-forward, quorum) are the ones of `sla.slices`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from sla.model import Family, LastState, Policy, SeriesSlices
from sla.slices import BAD, NO_DATA, US, combine_locations, probe_states

ComponentStatus = Literal[
    "operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"
]
Indicator = Literal["none", "minor", "major", "critical"]


@dataclass(frozen=True)
class LastProbe:
    """The latest probe of one series that its rollups know (a `local` one never counts)."""

    started_us: int
    state: LastState


def last_probe(series: SeriesSlices, slice_seconds: int) -> LastProbe | None:
    """The series' latest probe: the last slice with a probe, and when in it it started."""
    probed = np.flatnonzero(series.total)
    if len(probed) == 0:
        return None
    index = int(probed[-1])
    start_us = (series.first_slice + index) * slice_seconds * US
    return LastProbe(
        start_us + int(series.last_offset_us[index]), LastState(int(series.last_state[index]))
    )


def family_state(
    probes: Iterable[LastProbe | None], policy: Policy, stale_us: int, now_us: int
) -> int:
    """One (target, family) now: its locations' latest fresh probes, decided by the quorum.

    GOOD, BAD or NO_DATA (every location stale or silent), as a slice would be.
    """
    mapping = probe_states(policy)
    states = [
        mapping[probe.state]
        if probe is not None and now_us - probe.started_us < stale_us
        # A probe exactly stale_after old is too old, as in step 1.
        else NO_DATA
        for probe in probes
    ]
    if not states:
        return int(NO_DATA)
    by_location = np.array(states, np.int8).reshape(-1, 1)
    return int(combine_locations(by_location, policy.location_quorum)[0])


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
    """The page's rule, from each (target, family)'s state now (`family_state`)."""
    known = {key: state for key, state in states.items() if state != NO_DATA}
    failing = {key for key, state in known.items() if state == BAD}
    order: tuple[Family, ...] = ("ipv4", "ipv6")
    failing_families = tuple(f for f in order if any(key[1] == f for key in failing))
    healthy_families = tuple(
        f for f in order if any(key[1] == f and key not in failing for key in known)
    )
    unmonitored_families = tuple(
        f
        for f in order
        if any(key[1] == f for key in states) and not any(key[1] == f for key in known)
    )
    if in_maintenance:
        status: ComponentStatus = "under_maintenance"
    elif known and len(failing) == len(known):
        status = "major_outage"
    elif failing:
        status = "partial_outage"
    elif degraded:
        status = "degraded_performance"
    else:
        status = "operational"
    return ComponentNow(
        status, bool(known), failing_families, healthy_families, unmonitored_families
    )


def indicator(statuses: Iterable[ComponentStatus], operator_incident_open: bool) -> Indicator:
    """The page's overall indicator, as Statuspage names it."""
    statuses = list(statuses)
    if statuses and all(status == "major_outage" for status in statuses):
        return "critical"
    if "major_outage" in statuses:
        return "major"
    if operator_incident_open or any(
        status in ("partial_outage", "degraded_performance") for status in statuses
    ):
        return "minor"
    return "none"


INDICATOR_TEXT: dict[Indicator, str] = {
    "none": "All Systems Operational",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major System Outage",
}
