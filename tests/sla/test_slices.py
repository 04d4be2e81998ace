"""The slice rules (docs/concepts.md) and the month's slice grid: from probes to target and service slices.

Unless a test says otherwise: February 2026 in UTC (28 days = 40,320 one-minute
slices), target `api` probed every 30 s over IPv4 from one location, so a minute
holds the probes at :00 and :30 and stale_after is 2 x 30 s = 60 s.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest

from sla.errors import SlaError
from sla.model import LastState, MaintenanceWindow, Policy, TargetSpec
from sla.slices import (
    BAD,
    EXCLUDED,
    GOOD,
    NO_DATA,
    ServiceStates,
    Track,
    combine_families,
    combine_locations,
    drop_blips,
    load_window,
    month_bounds,
    month_slices,
)

FEB_2026 = 40_320
G, B, N, X = GOOD, BAD, NO_DATA, EXCLUDED
DUAL = TargetSpec("api", "public-api", 30.0, ("ipv4", "ipv6"))


def states(*values: np.int8) -> np.ndarray:
    return np.array(values, np.int8)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# --- the month's slices ---------------------------------------------------------------


def test_february_2028_has_41760_slices():
    """29 days x 1,440 minutes = 41,760."""
    first, end = month_slices(2028, 2, "UTC", 60)
    assert end - first == 41_760


def test_march_2026_in_new_york_loses_the_dst_hour():
    """31 x 1,440 - 60 = 44,580: clocks spring forward on 8 March."""
    first, end = month_slices(2026, 3, "America/New_York", 60)
    assert end - first == 44_580
    assert month_bounds(2026, 3, "America/New_York") == (utc(2026, 3, 1, 5), utc(2026, 4, 1, 4))


def test_november_2026_in_new_york_gains_the_dst_hour():
    """30 x 1,440 + 60 = 43,260: clocks fall back on 1 November."""
    first, end = month_slices(2026, 11, "America/New_York", 60)
    assert end - first == 43_260


def test_a_month_off_the_slice_grid_starts_at_the_next_slice():
    """Kolkata is UTC+05:30: Feb 2026 runs from 2026-01-31T18:30Z to 2026-02-28T18:30Z.

    With hour slices aligned to the epoch the first slice whose start lies in the month
    is 19:00Z, and the month has 28 x 24 = 672 of them.
    """
    first, end = month_slices(2026, 2, "Asia/Kolkata", 3600)
    assert first * 3600 == utc(2026, 1, 31, 19).timestamp()
    assert end - first == 672


def test_december_ends_at_the_next_january():
    assert month_bounds(2026, 12, "UTC") == (utc(2026, 12, 1), utc(2027, 1, 1))


def test_an_unknown_time_zone_or_month_is_an_sla_error():
    with pytest.raises(SlaError, match="Mars/Olympus"):
        month_bounds(2026, 2, "Mars/Olympus")
    with pytest.raises(SlaError, match="13"):
        month_bounds(2026, 13, "UTC")


def test_the_load_window_adds_blip_and_carry_margins():
    """min_outage 5, stale_after 90 s: 5 + ceil(90 / 60) + 1 = 8 slices before, 5 after."""
    policy = Policy(min_outage_slices=5, stale_after_seconds=90)
    first, end = month_slices(2026, 2, "UTC", 60)
    assert load_window(2026, 2, "UTC", policy, [DUAL]) == (first - 8, end + 5)


def test_the_load_window_uses_the_slowest_targets_default_stale_after():
    """Intervals 30 s and 300 s: stale_after 600 s = 10 slices; 1 + 10 + 1 = 12 before."""
    slow = TargetSpec("slow", "public-api", 300.0)
    first, end = month_slices(2026, 2, "UTC", 60)
    assert load_window(2026, 2, "UTC", Policy(), [DUAL, slow]) == (first - 12, end + 1)


# --- step 1: series slices -------------------------------------------------------------


def test_exactly_half_the_probes_failing_makes_a_bad_slice(month_probes):
    """Minute 10: the 10:00 probe fails, 10:30 succeeds: 1/2 >= 0.5 is BAD."""
    case = month_probes().steady().fail(10, 10.5)
    assert case.evaluate().targets[0].figures.bad == 1


def test_one_failure_in_three_probes_leaves_the_slice_good(month_probes):
    """Probes every 20 s, one failed: 1/3 < 0.5 is GOOD."""
    case = month_probes().steady(every=20).fail(10, 10.1)
    assert case.evaluate().targets[0].figures.bad == 0


def test_the_bad_slice_ratio_is_compared_exactly(month_probes):
    """Ratio 0.6, five probes a minute (every 12 s): 3/5 = 0.6 is BAD, 2/5 is GOOD."""
    case = month_probes(policy=Policy(bad_slice_ratio=Decimal("0.6"))).steady(every=12)
    case.fail(10, 10.5).fail(20, 20.3)  # minute 10: 3 failures; minute 20: 2
    assert case.evaluate().targets[0].figures.bad == 1


@pytest.mark.parametrize(
    ("digits", "bad"), [("3333333333333333333333", 1), ("3333333333333333333334", 0)]
)
def test_a_ratio_of_many_digits_is_still_compared_exactly(month_probes, digits, bad):
    """Probes every 20 s, one of three failed: 1/3 is at least 0.333...3 (22 digits) but
    below 0.333...4; a float could not tell them apart."""
    policy = Policy(bad_slice_ratio=Decimal(f"0.{digits}"))
    case = month_probes(policy=policy).steady(every=20).fail(10, 10.1)
    assert case.evaluate().targets[0].figures.bad == bad


def test_an_empty_slice_carries_a_fresh_earlier_probe(month_probes):
    """No probe in minute 10; the 9:30 probe is 30 s old at 10:00 (< 60 s) and failed.

    Minute 9 is BAD on its own (1 of 2 failed) and minute 10 carries the failure: 2 bad.
    """
    case = month_probes().steady().remove(10, 11).fail(9.5, 10)
    figures = case.evaluate().targets[0].figures
    assert (figures.bad, figures.no_data) == (2, 0)


def test_a_probe_exactly_stale_after_old_is_too_old_to_carry(month_probes):
    """Minute 10 empty and the 9:30 probe gone: the 9:00 probe is exactly 60 s old: NO_DATA."""
    case = month_probes().steady().remove(9.5, 11)
    assert case.evaluate().targets[0].figures.no_data == 1


def test_a_probe_just_under_stale_after_old_still_carries(month_probes):
    """The last probe starts at 9:00.001, 59.999 s before 10:00: it carries (GOOD)."""
    case = month_probes().steady().remove(9, 11).probe(9 + 0.001 / 60)
    figures = case.evaluate().targets[0].figures
    assert (figures.no_data, figures.eligible) == (0, FEB_2026)


def test_a_carried_state_is_the_last_probes_not_the_slices(month_probes):
    """Minute 9: 9:00 fails, 9:30 succeeds (1/2: BAD); empty minute 10 carries 9:30's OK."""
    case = month_probes().steady().fail(9, 9.5).remove(10, 11)
    assert case.evaluate().targets[0].figures.bad == 1


def test_the_last_probe_before_the_month_carries_into_its_first_slice(month_probes):
    """The 23:59:30 probe of 31 January failed and 00:00 has no probe: the month's first
    slice carries the failure (30 s old), so the month has 1 bad slice."""
    case = month_probes().steady().fail(-0.5, 0).remove(0, 1)
    report = case.evaluate()
    assert report.targets[0].figures.bad == 1
    assert report.incidents[0].start == utc(2026, 2, 1)


def test_a_local_gap_carries_the_last_real_state_for_stale_after_then_has_no_data(month_probes):
    """IPv6 probes from 10:00 to 20:00 could not leave the monitor. Minute 10 carries the
    9:30 probe (30 s old); minutes 11-19 have none fresher than 60 s: NO_DATA, not BAD."""
    case = month_probes(targets=[DUAL]).steady(family="ipv4").steady(family="ipv6")
    case.local(10, 20, family="ipv6")
    target = case.evaluate().targets[0]
    ipv6 = next(f for f in target.families if f.family == "ipv6")
    assert (ipv6.figures.bad, ipv6.figures.no_data) == (0, 9)
    assert (target.figures.bad, target.figures.no_data) == (0, 0)  # IPv4 decides meanwhile


def test_a_local_gap_after_a_failure_carries_the_failure_not_a_verdict_of_its_own(month_probes):
    """IPv6 failed at 9:00 and 9:30, then could not leave the monitor until 20:00: minute 9
    is BAD, minute 10 carries the 9:30 failure (BAD), minutes 11-19 are NO_DATA."""
    case = month_probes(targets=[DUAL]).steady(family="ipv4").steady(family="ipv6")
    case.fail(9, 10, family="ipv6").local(10, 20, family="ipv6")
    target = case.evaluate().targets[0]
    ipv6 = next(f for f in target.families if f.family == "ipv6")
    assert (ipv6.figures.bad, ipv6.figures.no_data) == (2, 9)
    assert target.figures.bad == 2  # family_policy any: the real failure is downtime


def test_a_monitor_without_the_family_all_month_owes_nothing(month_probes, make_contract):
    """Every IPv6 probe of the month was `local`: IPv6 has no data, the month is IPv4's."""
    case = month_probes(targets=[DUAL]).steady(family="ipv4").steady(family="ipv6")
    case.local(*case.window_minutes, family="ipv6")
    report = case.evaluate(contracts=[make_contract("pro")])
    ipv6 = next(f for f in report.targets[0].families if f.family == "ipv6")
    assert (ipv6.figures.eligible, ipv6.figures.no_data) == (0, FEB_2026)
    assert report.targets[0].figures.bad == 0
    assert report.contracts[0].figures.availability == 100


@pytest.mark.parametrize(("counts_as", "bad"), [("up", 0), ("down", 2)])
def test_rate_limited_probes_count_as_the_policy_says(month_probes, counts_as, bad):
    """Minute 10: both probes got 429; minute 11 is empty and carries the 10:30 429.

    up: GOOD, GOOD; down: 2/2 rate limited is BAD, and the carried 429 is BAD too.
    """
    case = month_probes(policy=Policy(rate_limited_counts_as=counts_as)).steady()
    case.set(10, 11, LastState.RATE_LIMITED).remove(11, 12)
    assert case.evaluate().targets[0].figures.bad == bad


def test_a_target_without_any_series_has_no_data(month_probes):
    report = month_probes().evaluate()
    figures = report.targets[0].figures
    assert (figures.eligible, figures.no_data, figures.availability) == (0, FEB_2026, None)


def test_series_of_unconfigured_targets_and_families_are_ignored(month_probes):
    """`api` is IPv4 only: a failing IPv6 series of it, or of an unknown target, counts not."""
    case = month_probes().steady()
    case.steady(LastState.FAILED, family="ipv6").steady(LastState.FAILED, target="other")
    assert case.evaluate().targets[0].figures.bad == 0


def test_a_series_not_covering_the_load_window_is_refused(month_probes):
    case = month_probes().steady()
    case.end_slice -= 1
    with pytest.raises(SlaError, match="must cover"):
        case.evaluate()


# --- step 2: families ------------------------------------------------------------------


def test_families_any_is_bad_when_one_family_with_data_is_bad():
    assert list(combine_families(states(B, G, N, N, G).reshape(1, -1), "any")) == [B, G, N, N, G]
    ipv4 = states(B, G, B, N, N)
    ipv6 = states(G, G, N, B, N)
    assert list(combine_families(np.stack([ipv4, ipv6]), "any")) == [B, G, B, B, N]


def test_families_all_is_bad_only_when_every_family_with_data_is_bad():
    ipv4 = states(B, B, B, N, N, G)
    ipv6 = states(G, B, N, B, N, G)
    assert list(combine_families(np.stack([ipv4, ipv6]), "all")) == [G, B, B, B, N, G]


@pytest.mark.parametrize(("policy", "bad"), [("any", 1), ("all", 0)])
def test_an_ipv6_only_outage_is_bad_under_any_and_good_under_all(month_probes, policy, bad):
    case = month_probes(policy=Policy(family_policy=policy), targets=[DUAL])
    case.steady().steady(family="ipv6").fail(10, 11, family="ipv6")
    assert case.evaluate().targets[0].figures.bad == bad


# --- step 3: locations -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("locations", "expected"),
    [
        ([[B]], B),  # one location: that one decides
        ([[B], [G]], G),  # 1 of 2 is not more than half
        ([[B], [B]], B),
        ([[B], [G], [G]], G),
        ([[B], [B], [G]], B),  # 2 of 3 is a majority
        ([[B], [G], [N]], G),  # 2 locations with data: 1 BAD is not more than half
        ([[B], [N], [N]], B),  # 1 location with data: that one decides
        ([[N], [N]], N),
    ],
)
def test_majority_counts_locations_with_data_in_that_slice(locations, expected):
    assert combine_locations(np.array(locations, np.int8), "majority")[0] == expected


@pytest.mark.parametrize(("quorum", "expected"), [(1, B), (2, G)])
def test_an_integer_quorum_needs_that_many_bad_locations(quorum, expected):
    """One of three locations is BAD: quorum 1 says BAD, quorum 2 GOOD."""
    locations = np.array([[B], [G], [G]], np.int8)
    assert combine_locations(locations, quorum)[0] == expected


def test_an_outage_seen_from_two_of_three_locations_is_bad(month_probes):
    """Minute 10 fails in east and west, minute 20 only in west: 2/3 BAD, 1/3 GOOD."""
    case = month_probes()
    for location in ("east", "west", "north"):
        case.steady(location=location)
    case.fail(10, 11, location="east").fail(10, 11, location="west").fail(20, 21, location="west")
    assert case.evaluate().targets[0].figures.bad == 1


# --- step 4: short blips ---------------------------------------------------------------


def test_bad_runs_shorter_than_min_outage_become_good():
    """min_outage 3: the run of 2 goes, the run of 3 stays; NO_DATA breaks a run."""
    before = states(B, B, G, B, B, B, G, B, N, B, B)
    after = states(G, G, G, B, B, B, G, G, N, G, G)
    assert list(drop_blips(before, 3)) == list(after)


def test_min_outage_of_one_keeps_every_bad_slice():
    before = states(B, G, B, N, B)
    assert list(drop_blips(before, 1)) == list(before)


@pytest.mark.parametrize(("minutes", "bad"), [(2, 0), (3, 3)])
def test_a_two_minute_blip_is_forgiven_a_three_minute_outage_is_not(month_probes, minutes, bad):
    case = month_probes(policy=Policy(min_outage_slices=3)).steady().fail(10, 10 + minutes)
    assert case.evaluate().targets[0].figures.bad == bad


def test_a_gap_of_no_data_splits_an_outage_into_blips(month_probes):
    """min_outage 4. Minutes 10-11 fail; 12 is empty and carries the 11:30 failure; 13 is
    empty and too far from it (NO_DATA); 14-15 fail. Runs of 3 and 2: both forgiven."""
    case = month_probes(policy=Policy(min_outage_slices=4)).steady()
    case.fail(10, 12).remove(12, 14).fail(14, 16)
    figures = case.evaluate().targets[0].figures
    assert (figures.bad, figures.no_data) == (0, 1)


@pytest.mark.parametrize(("first_failing_minute", "bad"), [(-2, 1), (-1, 0)])
def test_a_run_straddling_the_month_start_counts_its_slices_before_the_month(
    month_probes, first_failing_minute, bad
):
    """min_outage 3, failures until 00:01: from 23:58 the run is 3 long (1 slice in the
    month is BAD); from 23:59 it is 2 long and forgiven."""
    case = month_probes(policy=Policy(min_outage_slices=3)).steady()
    case.fail(first_failing_minute, 1)
    assert case.evaluate().targets[0].figures.bad == bad


@pytest.mark.parametrize(("minutes_after", "bad"), [(2, 1), (1, 0)])
def test_a_run_straddling_the_month_end_counts_its_slices_after_the_month(
    month_probes, minutes_after, bad
):
    """min_outage 3, failing from the month's last minute (40,319) on: with 2 more minutes
    in March the run is 3 long and the last February slice is BAD; with 1 it is forgiven."""
    case = month_probes(policy=Policy(min_outage_slices=3)).steady()
    case.fail(FEB_2026 - 1, FEB_2026 + minutes_after)
    assert case.evaluate().targets[0].figures.bad == bad


# --- step 5: maintenance ---------------------------------------------------------------


def window(start: datetime, end: datetime, **names: tuple[str, ...]) -> MaintenanceWindow:
    return MaintenanceWindow(start, end, **names)


@pytest.mark.parametrize(
    "names",
    [{"targets": ("api",)}, {"services": ("public-api",)}, {}],
    ids=["naming-the-target", "naming-its-service", "naming-nothing"],
)
def test_a_maintenance_hour_excludes_sixty_slices_whatever_they_were(month_probes, names):
    """10 Feb 02:00-03:00Z, the target failing throughout: 60 EXCLUDED, none BAD."""
    case = month_probes().steady().fail(9 * 1440 + 120, 9 * 1440 + 180)
    hour = window(utc(2026, 2, 10, 2), utc(2026, 2, 10, 3), **names)
    figures = case.evaluate(maintenance=[hour]).targets[0].figures
    assert (figures.excluded, figures.bad, figures.eligible) == (60, 0, FEB_2026 - 60)


@pytest.mark.parametrize(
    "names", [{"targets": ("other",)}, {"services": ("other-api",)}], ids=["target", "service"]
)
def test_a_window_naming_something_else_excludes_nothing(month_probes, names):
    case = month_probes().steady()
    hour = window(utc(2026, 2, 10, 2), utc(2026, 2, 10, 3), **names)
    assert case.evaluate(maintenance=[hour]).targets[0].figures.excluded == 0


@pytest.mark.parametrize(
    ("start", "end", "excluded"),
    [
        (utc(2026, 2, 10, 2, 0, 30), utc(2026, 2, 10, 2, 1, 30), 2),  # touches 02:00 and 02:01
        (utc(2026, 2, 10, 2), utc(2026, 2, 10, 2, 1), 1),  # ends where 02:01 starts
        (utc(2026, 2, 10, 2, 0, 59), utc(2026, 2, 10, 2, 1, 0, 1), 2),  # 1 s + 1 us
    ],
)
def test_a_slice_overlapping_any_part_of_a_window_is_excluded(month_probes, start, end, excluded):
    case = month_probes().steady()
    assert case.evaluate(maintenance=[window(start, end)]).targets[0].figures.excluded == excluded


# --- step 6: services ------------------------------------------------------------------


def service_states(*targets: Track) -> Track:
    fold = ServiceStates(targets[0].lead + len(targets[0].tail))
    for target in targets:
        fold.add(target)
    return fold.track()


def test_a_service_slice_follows_its_targets():
    """Columns: any BAD -> BAD; all NO_DATA or EXCLUDED -> NO_DATA; all EXCLUDED ->
    EXCLUDED; otherwise GOOD."""
    first = states(B, G, N, X, X, G)
    second = states(G, G, N, N, X, X)
    result = service_states(Track(0, first), Track(0, second))
    assert list(result.tail) == [B, G, N, N, X, G]


def test_a_service_folds_targets_whose_states_start_at_different_slices():
    """Before a track's lead its target is NO_DATA: [N N B X], [N G X X], [X X X X]."""
    result = service_states(
        Track(2, states(B, X)), Track(1, states(G, X, X)), Track(0, states(X, X, X, X))
    )
    assert (result.lead, list(result.tail)) == (0, [N, G, B, X])
    result = service_states(Track(3, states(X)), Track(2, states(G, X)))
    assert (result.lead, list(result.tail)) == (2, [G, X])


def test_a_window_naming_the_service_excludes_it_even_when_a_target_is_bad():
    first, second = states(B, G), states(G, G)
    result = service_states(Track(0, first), Track(0, second)).excluding(np.array([True, False]))
    assert list(result.tail) == [X, G]


def test_a_window_over_the_empty_lead_of_a_track_excludes_there_too():
    track = Track(3, states(B, G)).excluding(np.array([False, True, False, False, True]))
    assert (track.lead, list(track.tail)) == (1, [X, N, B, X])


TWO = [
    TargetSpec("api-a", "public-api", 30.0, ("ipv4",)),
    TargetSpec("api-b", "public-api", 30.0, ("ipv4",)),
]


def two_target_service(month_probes):
    case = month_probes(targets=TWO)
    return case.steady(target="api-a").steady(target="api-b")


def test_a_service_is_bad_when_any_of_its_targets_is(month_probes, make_contract):
    """api-a fails in minutes 10-11, api-b in 11-12: the service is BAD in 10, 11, 12."""
    case = two_target_service(month_probes).fail(10, 12, target="api-a")
    case.fail(11, 13, target="api-b")
    assert case.evaluate(contracts=[make_contract()]).contracts[0].figures.bad == 3


def test_maintenance_of_one_target_leaves_the_service_to_the_others(month_probes, make_contract):
    """api-a in maintenance 02:00-03:00 while api-b fails 02:10-02:20: the service is BAD
    for those 10 slices and nothing is excluded."""
    case = two_target_service(month_probes).fail(130, 140, target="api-b")
    hour = window(utc(2026, 2, 1, 2), utc(2026, 2, 1, 3), targets=("api-a",))
    figures = case.evaluate(contracts=[make_contract()], maintenance=[hour]).contracts[0].figures
    assert (figures.bad, figures.excluded) == (10, 0)


def test_a_service_is_excluded_when_all_its_targets_are(month_probes, make_contract):
    hour = window(utc(2026, 2, 1, 2), utc(2026, 2, 1, 3), targets=("api-a", "api-b"))
    case = two_target_service(month_probes)
    figures = case.evaluate(contracts=[make_contract()], maintenance=[hour]).contracts[0].figures
    assert figures.excluded == 60


def test_a_service_has_no_data_when_its_only_unexcluded_target_has_none(
    month_probes, make_contract
):
    """api-a in maintenance 02:00-03:00 and api-b silent 02:00-03:00 (its 01:59:30 probe
    carries into 02:00, 30 s old): 59 NO_DATA service slices, 02:01 to 02:59."""
    case = two_target_service(month_probes).remove(120, 180, target="api-b")
    hour = window(utc(2026, 2, 1, 2), utc(2026, 2, 1, 3), targets=("api-a",))
    figures = case.evaluate(contracts=[make_contract()], maintenance=[hour]).contracts[0].figures
    assert (figures.no_data, figures.excluded) == (59, 0)


# --- step 7: incidents -----------------------------------------------------------------


def test_overlapping_outages_form_one_incident_listing_targets_in_config_order(month_probes):
    """api-b fails 10-13, api-a 12-15: one incident 00:10-00:15, 5 slices, [api-a, api-b]."""
    case = two_target_service(month_probes).fail(10, 13, target="api-b")
    case.fail(12, 15, target="api-a")
    (incident,) = case.evaluate().incidents
    assert (incident.start, incident.end, incident.slices) == (
        utc(2026, 2, 1, 0, 10),
        utc(2026, 2, 1, 0, 15),
        5,
    )
    assert incident.targets == ("api-a", "api-b")


def test_a_good_slice_between_outages_separates_incidents(month_probes):
    case = two_target_service(month_probes).fail(10, 12, target="api-a")
    case.fail(13, 14, target="api-b")
    incidents = case.evaluate().incidents
    assert [(i.slices, i.targets) for i in incidents] == [(2, ("api-a",)), (1, ("api-b",))]


def test_outages_of_two_targets_that_touch_form_one_incident(month_probes):
    """api-a fails in minutes 10-11, api-b in 12-13: no slice between, one incident."""
    case = two_target_service(month_probes).fail(10, 12, target="api-a")
    case.fail(12, 14, target="api-b")
    (incident,) = case.evaluate().incidents
    assert (incident.slices, incident.targets) == (4, ("api-a", "api-b"))


def test_an_incident_straddling_the_month_start_is_clipped_to_the_month(month_probes):
    """Failing 23:55 on 31 January to 00:03: the incident is 00:00-00:03, 3 slices."""
    (incident,) = month_probes().steady().fail(-5, 3).evaluate().incidents
    assert (incident.start, incident.slices) == (utc(2026, 2, 1), 3)


def test_blips_and_maintenance_make_no_incident(month_probes):
    """min_outage 3: a 2-minute blip at 00:10 and a failure inside maintenance at 02:00."""
    case = month_probes(policy=Policy(min_outage_slices=3)).steady().fail(10, 12)
    case.fail(120, 130)
    hour = window(utc(2026, 2, 1, 2), utc(2026, 2, 1, 3))
    assert case.evaluate(maintenance=[hour]).incidents == ()
