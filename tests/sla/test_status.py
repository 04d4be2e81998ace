"""The status page's pure rules: scope codes, the 429 hold, the anti-flap hold, the indicator."""

from __future__ import annotations

import numpy as np

from sla.model import LastState, Policy
from sla.slices import BAD, GOOD, NO_DATA, US
from sla.status import (
    ANSWERING,
    FAILING,
    NOT_MONITORED,
    Held,
    fold_codes,
    held_codes,
    indicator,
    pair_codes,
    rate_limited_held,
    scope,
)
from sla.vocabulary import ComponentStatus, Impact, Indicator

SLICE = 60
V4_DOWN, V6_DOWN, V4_UP, V6_UP = (
    FAILING["ipv4"],
    FAILING["ipv6"],
    ANSWERING["ipv4"],
    ANSWERING["ipv6"],
)
OPERATIONAL = V4_UP | V6_UP
PARTIAL = V6_DOWN | V4_UP
MAJOR = V4_DOWN | V6_DOWN


def test_a_scope_code_says_the_status_and_the_families_the_page_names() -> None:
    assert scope(NOT_MONITORED).monitored is False
    assert scope(NOT_MONITORED).status == ComponentStatus.OPERATIONAL
    assert scope(OPERATIONAL).status == ComponentStatus.OPERATIONAL
    partial = scope(PARTIAL)
    assert (partial.status, partial.failing_families, partial.healthy_families) == (
        ComponentStatus.PARTIAL_OUTAGE, ("ipv6",), ("ipv4",),
    )  # fmt: skip
    assert scope(MAJOR).major
    assert scope(V6_DOWN).major
    assert scope(V4_DOWN | V4_UP).status == ComponentStatus.PARTIAL_OUTAGE  # two targets


def test_pairs_make_codes_and_a_group_joins_its_targets_bits() -> None:
    # Two targets x two family slots x three slices; the second target has IPv6 only.
    pairs = np.array(
        [
            [[GOOD, BAD, NO_DATA], [GOOD, BAD, BAD]],
            [[BAD, GOOD, NO_DATA], [NO_DATA, NO_DATA, NO_DATA]],
        ],
        np.int8,
    )
    families = np.array([[0, 1], [1, -1]])
    codes = pair_codes(pairs, families)
    assert codes.tolist() == [[OPERATIONAL, MAJOR, V6_DOWN], [V6_DOWN, V6_UP, NOT_MONITORED]]
    assert fold_codes(codes, [[0, 1], [1], []]).tolist() == [
        [OPERATIONAL | V6_DOWN, MAJOR | V6_UP, V6_DOWN],
        [V6_DOWN, V6_UP, NOT_MONITORED],
        [NOT_MONITORED] * 3,
    ]


def test_a_rate_limited_series_is_held_answering_for_stale_after_plus_max_retry_after() -> None:
    """One row: a 429 in slice 0 (at +10 s), then nothing; stale 120 s, grace 180 s."""
    total = np.array([[1, 0, 0, 0, 0, 0, 0]], np.uint32)
    state = np.zeros_like(total, np.int8)
    state[0, 0] = LastState.RATE_LIMITED
    offsets = np.full(total.shape, 10 * US, np.uint64)
    held = rate_limited_held(
        Policy(), np.array([120 * US]), np.array([180 * US]),
        total=total, last_offset_us=offsets, last_state=state,
    )  # fmt: skip
    # Slices 1 and 2 carry by stale_after (50 s, 110 s old): not held, plain GOOD.
    # Slices 3-5 start 170, 230, 290 s after the probe: under 300 s. Slice 6 (350 s): no.
    assert held.tolist() == [[False, False, False, True, True, True, False]]
    down = rate_limited_held(
        Policy(rate_limited_counts_as="down"), np.array([120 * US]), np.array([180 * US]),
        total=total, last_offset_us=offsets, last_state=state,
    )  # fmt: skip
    assert not down.any()  # a 429 is a failure then: nothing to hold
    state[0, 0] = LastState.OK
    ok = rate_limited_held(
        Policy(), np.array([120 * US]), np.array([180 * US]),
        total=total, last_offset_us=offsets, last_state=state,
    )  # fmt: skip
    assert not ok.any()


def runs(*pairs: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(start, code) pairs as Runs' arrays."""
    return np.array([s for s, _ in pairs], np.int64), np.array([c for _, c in pairs], np.int8)


def test_the_status_shown_is_the_latest_that_held_and_since_when_it_shows() -> None:
    components = [
        runs((0, OPERATIONAL), (10, PARTIAL), (11, OPERATIONAL), (12, PARTIAL)),  # blips
        runs((0, OPERATIONAL), (10, PARTIAL), (13, OPERATIONAL), (14, MAJOR), (15, PARTIAL)),
        runs((0, PARTIAL), (5, V4_DOWN | V6_UP), (9, OPERATIONAL)),  # 9..13 held
        runs((0, NOT_MONITORED), (12, OPERATIONAL)),  # one slice of data: not held yet
        runs(),
    ]
    ends = [13, 17, 13, 13, 13]
    found = held_codes([s for s, _ in components], [c for _, c in components], ends, 2)
    assert found == [
        Held(OPERATIONAL, 0),  # the blips of one slice never held
        Held(PARTIAL, 10),  # partial since 10 (held twice); a blip of major between: not
        Held(OPERATIONAL, 9),
        Held(NOT_MONITORED, 0),
        Held(NOT_MONITORED, 13),
    ]
    # Two partial runs (IPv6 then IPv4) are one status: shown since the first.
    starts, codes = runs((0, OPERATIONAL), (4, PARTIAL), (8, V4_DOWN | V6_UP))
    assert held_codes([starts], [codes], [20], 3) == [Held(V4_DOWN | V6_UP, 4)]


def test_the_indicator_is_the_worst_of_components_open_incidents_and_maintenance() -> None:
    ok, partial, major = (
        ComponentStatus.OPERATIONAL, ComponentStatus.PARTIAL_OUTAGE, ComponentStatus.MAJOR_OUTAGE,
    )  # fmt: skip
    assert indicator([ok, ok]) == Indicator.NONE
    assert indicator([ok, ok], maintenance=True) == Indicator.MAINTENANCE
    assert indicator([ok, ComponentStatus.UNDER_MAINTENANCE]) == Indicator.MAINTENANCE
    assert indicator([ok, partial], maintenance=True) == Indicator.MINOR
    assert indicator([ok, major]) == Indicator.MAJOR
    assert indicator([major, major]) == Indicator.CRITICAL
    assert indicator([ok], [Impact.CRITICAL]) == Indicator.CRITICAL
    assert indicator([major], [Impact.MINOR]) == Indicator.CRITICAL  # every component
    assert indicator([ok, partial], [Impact.MAJOR, Impact.MINOR]) == Indicator.MAJOR
