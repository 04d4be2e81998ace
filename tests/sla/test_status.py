"""The status page's "now": each series' latest probe and each (target, family)'s state."""

from __future__ import annotations

import numpy as np

from sla.model import LastState, Policy, SeriesBlock
from sla.slices import BAD, GOOD, NO_DATA, US
from sla.status import LastProbe, family_states, last_probes

SLICE = 60


def block(totals: list[list[int]], states: list[list[int]]) -> SeriesBlock:
    keys = (("api", "ipv4", "east"), ("api", "ipv6", "east"), ("web", "ipv4", "east"))
    shape = (len(totals), len(totals[0]))
    return SeriesBlock(
        keys[: len(totals)],
        100,
        total=np.array(totals, np.uint32),
        failed=np.zeros(shape, np.uint32),
        rate_limited=np.zeros(shape, np.uint32),
        last_offset_us=np.full(shape, 5 * US, np.uint64),
        last_state=np.array(states, np.int8),
    )


def test_the_latest_probe_of_each_series_is_its_last_slice_with_one() -> None:
    found = last_probes(block([[1, 0, 2, 0], [0, 0, 0, 0]], [[1, 0, 3, 0], [0, 0, 0, 0]]), SLICE)
    assert found == {
        ("api", "ipv4", "east"): LastProbe((102 * SLICE + 5) * US, LastState.FAILED),
        ("api", "ipv6", "east"): None,  # nothing probed in the span
    }


def test_a_family_is_its_locations_fresh_probes_decided_by_the_quorum() -> None:
    now = 1_000 * US
    latest = {
        ("api", "ipv4", "east"): LastProbe(now - 10 * US, LastState.FAILED),
        ("api", "ipv4", "west"): LastProbe(now - 10 * US, LastState.FAILED),
        ("api", "ipv6", "east"): LastProbe(now - 70 * US, LastState.FAILED),  # stale
        ("api", "ipv6", "west"): LastProbe(now - 1 * US, LastState.OK),
        ("web", "ipv4", "east"): None,
        ("web", "ipv6", "east"): LastProbe(now - 60 * US, LastState.FAILED),  # exactly stale
        ("gone", "ipv4", "east"): LastProbe(now, LastState.FAILED),  # not configured
    }
    states = family_states(latest, {"api": 60 * US, "web": 60 * US}, Policy(), now)
    assert states == {("api", "ipv4"): BAD, ("api", "ipv6"): GOOD, ("web", "ipv6"): NO_DATA}
    assert ("web", "ipv4") not in states  # no probe at all: NO_DATA to the page
    two_needed = family_states(latest, {"api": 60 * US}, Policy(location_quorum=2), now)
    assert two_needed[("api", "ipv4")] == BAD
    assert two_needed[("api", "ipv6")] == GOOD
