"""The page tells the truth: each rule of docs/status-page.md on imported history.

One probe a minute per (target, family) (`support.status_page`), so each minute's slice
is decided by its own probe; NOW is 30 s into a slice.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from xml.etree import ElementTree

import feedparser
import pytest
from support.history import Outage
from support.status_page import MINUTE, NOW, START, Page, history, minutes_ago

from monitor.status.incidents import open_incident, update_incident
from monitor.status.site import SiteRenderer
from monitor.store import Store
from sla.timestamps import duration_text
from sla.vocabulary import ComponentStatus, Impact, IncidentStatus, Indicator


@pytest.fixture
def pages(tmp_path: Path) -> Iterator[list[Page]]:
    made: list[Page] = []
    yield made
    for page in made:
        page.close()


@pytest.fixture
def page_of(tmp_path: Path, pages: list[Page]):
    def make(
        rows, extra: str = "", page: str = "", defaults: str = "", history_days: int = 3
    ) -> Page:
        folder = tmp_path / f"page{len(pages)}"
        folder.mkdir()
        made = Page(folder, rows, extra, page, defaults, history_days)
        pages.append(made)
        return made

    return make


# --- rate limited is answering ---------------------------------------------------------


def test_a_family_held_back_by_retry_after_answers_and_keeps_an_outage_partial(page_of):
    """IPv6 down for 10 minutes; IPv4's last probe 5 minutes ago was a 429 and the monitor
    has waited since (Retry-After): IPv4 answered, so REST API is a partial outage."""
    rows = history(
        [
            Outage("api", "ipv6", minutes_ago(10), NOW),
            Outage("api", "ipv4", minutes_ago(6), minutes_ago(5), "rate_limited"),
        ],
        skip=[("api", "ipv4", minutes_ago(5), NOW)],
    )
    api = page_of(rows).component("REST API")
    assert (api.status, api.monitored) == ("partial_outage", True)
    assert (api.failing_families, api.healthy_families) == (("ipv6",), ("ipv4",))


def test_a_held_series_is_fresh_for_stale_after_plus_max_retry_after_then_not_monitored(page_of):
    """stale_after is 2 minutes (twice the interval) and max_retry_after 5: the 429's
    answer counts for 7 minutes, then the family has no data like any other."""
    rows = history(
        [
            Outage("api", f, minutes_ago(31), minutes_ago(30), "rate_limited")
            for f in ("ipv4", "ipv6")
        ],
        skip=[("api", f, minutes_ago(30), NOW) for f in ("ipv4", "ipv6")],
    )
    page = page_of(rows)
    held = page.component("REST API", minutes_ago(30) + 6 * MINUTE + timedelta(seconds=30))
    assert (held.status, held.monitored) == ("operational", True)
    gone = page.component("REST API")
    assert (gone.status, gone.monitored) == ("operational", False)  # "not monitored"
    # Without the 429, the same silence is "not monitored" after stale_after alone.
    plain = page_of(history(skip=[("api", f, minutes_ago(30), NOW) for f in ("ipv4", "ipv6")]))
    assert not plain.component("REST API", minutes_ago(30) + 6 * MINUTE).monitored


def test_a_series_without_a_429_going_silent_leaves_the_other_familys_outage_major(page_of):
    rows = history(
        [Outage("api", "ipv6", minutes_ago(10), NOW)],
        skip=[("api", "ipv4", minutes_ago(5), NOW)],
    )
    api = page_of(rows).component("REST API")
    assert api.status == "major_outage"  # IPv4 unknown: every pair with data fails
    assert api.unmonitored_families == ("ipv4",)


# --- public incidents, not blips --------------------------------------------------------


def test_a_blip_shorter_than_incident_after_is_no_incident_but_counts_in_the_bars(page_of):
    rows = history([Outage("api", "ipv6", minutes_ago(40), minutes_ago(38))])
    snapshot = page_of(rows).at()
    assert snapshot.incidents == ()
    api = snapshot.components[0]
    assert api.bars[-1].figures.bad == 2
    assert api.bars[-1].downtime_minutes == 2
    assert api.uptime[0].figures.bad == 2


def test_an_outage_lasting_incident_after_is_a_public_incident(page_of):
    rows = history([Outage("api", "ipv6", minutes_ago(40), minutes_ago(37))])
    (incident,) = page_of(rows).at().incidents
    assert incident.automatic
    assert incident.components == ("rest-api",)
    assert incident.started_at == minutes_ago(40)
    assert incident.ended_at == minutes_ago(37)
    assert incident.id == f"auto-rest-api-{int(minutes_ago(40).timestamp())}"


def test_incident_after_is_a_setting(page_of):
    rows = history([Outage("api", "ipv6", minutes_ago(40), minutes_ago(38))])
    assert len(page_of(rows, page="incident_after: 2m\n").at().incidents) == 1
    assert page_of(rows, page="incident_after: 5m\n").at().incidents == ()


def test_outages_fewer_than_incident_merge_apart_are_one_incident(page_of):
    near = history(
        [
            Outage("api", "ipv6", minutes_ago(60), minutes_ago(56)),
            Outage("api", "ipv6", minutes_ago(47), minutes_ago(46)),  # 9 GOOD minutes later
        ]
    )
    (incident,) = page_of(near).at().incidents
    assert (incident.started_at, incident.ended_at) == (minutes_ago(60), minutes_ago(46))
    assert [u.status for u in incident.updates] == [
        "investigating",
        "monitoring",
        "investigating",  # failing again
        "monitoring",
        "resolved",
    ]
    far = history(
        [
            Outage("api", "ipv6", minutes_ago(60), minutes_ago(56)),
            Outage("api", "ipv6", minutes_ago(46), minutes_ago(42)),  # 10 GOOD minutes later
        ]
    )
    assert len(page_of(far).at().incidents) == 2


def test_an_automatic_incident_is_resolved_after_incident_merge_of_good_slices(page_of):
    rows = history([Outage("api", "ipv6", minutes_ago(20), minutes_ago(12))])
    page = page_of(rows)
    (monitoring,) = page.at(minutes_ago(5)).incidents
    assert monitoring.status == IncidentStatus.MONITORING
    assert monitoring.monitoring_at == minutes_ago(12)
    assert not monitoring.resolved
    (resolved,) = page.at().incidents
    assert resolved.resolved_at == minutes_ago(2)  # the 10th GOOD slice ended then
    assert resolved.ended_at == minutes_ago(12)
    assert duration_text(resolved.duration(NOW).total_seconds()) == "8 minutes"


def test_no_data_after_an_outage_keeps_its_incident_open(page_of):
    rows = history(
        [Outage("api", f, minutes_ago(30), minutes_ago(20)) for f in ("ipv4", "ipv6")],
        skip=[("api", f, minutes_ago(20), NOW) for f in ("ipv4", "ipv6")],
    )
    (incident,) = page_of(rows).at().incidents
    assert incident.status == IncidentStatus.INVESTIGATING
    assert incident.ended_at is None


def test_one_family_failing_is_a_minor_incident_naming_the_family(page_of):
    rows = history([Outage("api", "ipv6", minutes_ago(30), minutes_ago(20))])
    (incident,) = page_of(rows).at().incidents
    assert incident.impact == Impact.MINOR
    assert incident.families == ("ipv6",)
    assert incident.name == "REST API: IPv6 requests failing"
    assert "IPv6 requests to REST API failing" in incident.updates[0].body
    assert "after 10 minutes" in incident.updates[1].body


def test_every_pair_failing_is_a_major_incident(page_of):
    rows = history(
        [
            Outage("api", "ipv6", minutes_ago(30), minutes_ago(20)),
            Outage("api", "ipv4", minutes_ago(25), minutes_ago(24)),  # both at once, a minute
        ]
    )
    (incident,) = page_of(rows).at().incidents
    assert incident.impact == Impact.MAJOR
    assert incident.families == ("ipv4", "ipv6")
    assert incident.name == "REST API: requests failing"


def test_one_cause_failing_several_components_is_one_incident_listing_them_all(page_of):
    rows = history(
        [
            Outage("api", "ipv6", minutes_ago(30), minutes_ago(20)),
            Outage("search", "ipv6", minutes_ago(25), minutes_ago(15)),
        ]
    )
    (incident,) = page_of(rows).at().incidents
    assert incident.components == ("rest-api", "search")
    assert incident.name == "REST API and Search: IPv6 requests failing"
    assert incident.id == f"auto-rest-api-{int(minutes_ago(30).timestamp())}"
    assert (incident.started_at, incident.ended_at) == (minutes_ago(30), minutes_ago(15))


def test_an_incident_has_a_page_and_a_shortlink(page_of):
    rows = history([Outage("api", "ipv6", minutes_ago(30), minutes_ago(20))])
    (incident,) = page_of(rows, page="url: https://status.example.com\n").at().incidents
    assert incident.path == f"incidents/{incident.id}.html"
    assert incident.shortlink == f"https://status.example.com/incidents/{incident.id}.html"


# --- one indicator ------------------------------------------------------------------------


def test_an_open_critical_operator_incident_makes_the_indicator_critical(page_of):
    page = page_of(history())
    open_incident(page.config, page.store, title="Data centre fire", impact="critical",
                  components=["REST API"], message="All hands.", now=minutes_ago(10))  # fmt: skip
    snapshot = page.at()
    assert snapshot.indicator == Indicator.CRITICAL
    assert snapshot.description == "Major System Outage"
    assert snapshot.components[0].status == "operational"  # no status set: measured


def test_an_operator_sets_component_statuses_until_the_incident_is_resolved(page_of):
    page = page_of(history())
    opened = open_incident(
        page.config, page.store, title="Slow search", impact="minor",
        components=["REST API=partial_outage", "Search=major_outage"], message="Looking.",
        now=minutes_ago(10),
    )  # fmt: skip
    during = page.at()
    api, search = during.components
    assert (api.status, api.measured_status, api.operator_status) == (
        "partial_outage", "operational", "partial_outage",
    )  # fmt: skip
    assert search.status == "major_outage"
    assert search.updated_at == minutes_ago(10)
    assert during.indicator == Indicator.MAJOR
    (incident,) = during.unresolved
    assert incident.component_statuses == (
        ("rest-api", ComponentStatus.PARTIAL_OUTAGE),
        ("search", ComponentStatus.MAJOR_OUTAGE),
    )
    update_incident(page.store, opened, status="resolved", message="Fine.", now=minutes_ago(4))
    after = page.at()
    assert [c.status for c in after.components] == ["operational", "operational"]
    assert after.components[1].updated_at == minutes_ago(4)
    assert after.indicator == Indicator.NONE


def test_a_component_shows_the_worse_of_measured_and_operator_status(page_of):
    page = page_of(history([Outage("api", f, minutes_ago(30), NOW) for f in ("ipv4", "ipv6")]))
    open_incident(page.config, page.store, title="Known", impact="minor",
                  components=["REST API=degraded_performance"], message="We know.",
                  now=minutes_ago(5))  # fmt: skip
    api = page.component("REST API")
    assert (api.status, api.operator_status) == ("major_outage", "degraded_performance")
    assert api.updated_at == minutes_ago(30)  # the operator's setting changed nothing shown


def test_an_open_automatic_incident_raises_the_indicator_by_its_impact(page_of):
    rows = history([Outage("api", "ipv6", minutes_ago(20), minutes_ago(12))])
    snapshot = page_of(rows).at(minutes_ago(5))
    assert [c.status for c in snapshot.components] == ["operational", "operational"]
    assert snapshot.indicator == Indicator.MINOR  # still monitoring its incident


def test_maintenance_in_progress_is_the_indicator_when_nothing_is_worse(page_of):
    window = f"""\
        maintenance:
          - {{start: "{minutes_ago(30).isoformat()}", end: "{(NOW + 30 * MINUTE).isoformat()}",
              targets: [search], reason: Index rebuild}}
        """
    page = page_of(history(), extra=window)
    snapshot = page.at()
    assert snapshot.indicator == Indicator.MAINTENANCE
    assert snapshot.description == "Service Under Maintenance"
    assert snapshot.components[1].status == "under_maintenance"
    failing = page_of(history([Outage("api", "ipv6", minutes_ago(30), NOW)]), extra=window)
    assert failing.at().indicator == Indicator.MINOR


# --- no flapping ---------------------------------------------------------------------------


def test_a_status_shows_once_it_held_for_two_slices(page_of):
    page = page_of(history([Outage("api", f, minutes_ago(2), NOW) for f in ("ipv4", "ipv6")]))
    assert page.component("REST API", minutes_ago(1) + 30 * timedelta(seconds=1)).status == (
        "operational"  # one BAD slice ended: not held yet
    )
    assert page.component("REST API").status == "major_outage"


def test_a_component_failing_every_other_minute_does_not_flap(page_of):
    flapping = [Outage("api", "ipv4", minutes_ago(n), minutes_ago(n - 1)) for n in range(20, 0, -2)]
    page = page_of(history([Outage("api", "ipv6", minutes_ago(40), NOW), *flapping]))
    seen = {page.component("REST API", NOW - n * timedelta(seconds=20)).status for n in range(30)}
    assert seen == {"partial_outage"}  # IPv6 down throughout; IPv4 too, one minute in two


def test_the_hold_is_two_refreshes_when_they_are_longer_than_two_slices(page_of):
    rows = history([Outage("api", f, minutes_ago(4), NOW) for f in ("ipv4", "ipv6")])
    slow = page_of(rows, page="refresh: 3m\n")  # 2 refreshes: 6 slices
    assert slow.component("REST API").status == "operational"
    assert slow.component("REST API", NOW + 2 * MINUTE).status == "major_outage"


def test_slow_answers_are_degraded_performance_once_they_held(page_of):
    """The median of the last 5 answered probes above degraded_latency (2 s), judged at the
    end of each slice and held for two slices."""
    slow = [
        dataclasses.replace(row, latency_ms=3000.0)
        if row.target == "api" and row.time >= minutes_ago(20)
        else row
        for row in history()
    ]
    page = page_of(slow, defaults=", degraded_latency: 2s")
    api = page.component("REST API")
    assert (api.status, api.measured_status) == ("degraded_performance", "degraded_performance")
    # Both families' probes count: the 4th of 5 was slow by 11:42, and it held.
    assert api.updated_at == minutes_ago(18)
    assert page.component("Search").status == "operational"
    early = page.component("REST API", minutes_ago(18) + timedelta(seconds=30))
    assert early.status == "operational"  # slow for one slice's end only: not held yet


# --- timestamps ----------------------------------------------------------------------------


def test_a_components_updated_at_is_when_its_status_last_changed(page_of):
    page = page_of(history([Outage("api", "ipv6", minutes_ago(30), minutes_ago(20))]))
    api = page.component("REST API")
    assert api.updated_at == minutes_ago(20)  # operational again since then
    assert api.created_at <= START


def test_the_pages_updated_at_stays_while_nothing_changes(page_of):
    page = page_of(history([Outage("api", "ipv6", minutes_ago(40), minutes_ago(30))]))
    builder = page.builder()
    first = builder.snapshot(NOW)
    later = builder.snapshot(NOW + timedelta(seconds=45))
    assert first.updated_at == later.updated_at == minutes_ago(20)  # resolved then


def test_maintenance_is_scheduled_never_in_the_future_then_starts_and_completes(page_of):
    start, end = NOW + timedelta(days=2), NOW + timedelta(days=2, hours=1)
    window = f"""\
        maintenance:
          - {{start: "{start.isoformat()}", end: "{end.isoformat()}", reason: Upgrade}}
        """
    page = page_of(history(), extra=window)
    (scheduled,) = page.at().maintenances
    assert scheduled.created_at == START <= NOW  # the config was written by then
    assert [(u.status, u.created_at) for u in scheduled.updates] == [("scheduled", START)]
    (done,) = page.at(end + MINUTE).maintenances
    assert [(u.status, u.created_at) for u in done.updates] == [
        ("scheduled", START),
        ("in_progress", start),
        ("completed", end),
    ]
    assert done.updated_at == end


def test_operator_component_statuses_survive_the_database(tmp_path: Path, database_url: str):
    """Stored with the incident in SQLite and PostgreSQL alike, read back by another store."""
    from support.status_page import page_config

    config = page_config(tmp_path)
    writer, reader = Store(database_url), Store(database_url)
    try:
        open_incident(config, writer, title="t", impact="major",
                      components=["Search=under_maintenance", "REST API"], message="m",
                      now=NOW)  # fmt: skip
        (stored,) = reader.operator_incidents()
    finally:
        writer.close()
        reader.close()
    assert stored.components == ("Search", "REST API")
    assert stored.component_statuses == (("Search", "under_maintenance"),)


# --- pages ----------------------------------------------------------------------------------

URL = "https://status.example.com"


def hrefs(html: bytes) -> set[str]:
    return set(re.findall(r'href="([^"]+)"', html.decode()))


def test_imported_history_gets_incident_pages_month_pages_and_badges_naming_components(page_of):
    """45 days of history on March 20: a page per month it touches (February, March), and
    a one-minute outage (incident_after: 1m) with its own page, said in correct English."""
    rows = history([Outage("search", "ipv6", minutes_ago(30), minutes_ago(29))])
    page = page_of(rows, page=f"url: {URL}\nincident_after: 1m\n", history_days=45)
    snapshot = page.at()
    files = SiteRenderer().files(snapshot)
    (incident,) = snapshot.incidents
    own = f"incidents/{incident.id}.html"
    text = files[own].decode()
    assert "Search: IPv6 requests failing" in text
    assert "<dt>Duration</dt><dd>1 minute</dd>" in text  # never "1 minutes"
    assert "<dt>Failing</dt><dd>IPv6 requests</dd>" in text
    assert own in hrefs(files["history.html"])
    assert f"../{own}" in hrefs(files["history/2026-03.html"])
    assert f"{URL}/{own}" in {e.link for e in feedparser.parse(files["history.atom"]).entries}
    assert json.loads(files["api/v2/incidents.json"])["incidents"][0]["shortlink"] == (
        f"{URL}/{own}"
    )
    assert sorted(n for n in files if n.startswith("history/")) == [
        "history/2026-02.html",
        "history/2026-03.html",
    ]
    assert {"history/2026-02.html", "history/2026-03.html"} <= hrefs(files["history.html"])
    svg = "{http://www.w3.org/2000/svg}"
    badge = ElementTree.fromstring(files["badges/search.svg"])
    assert [t.text for t in badge.iter(f"{svg}text")] == ["Search", "operational"]


def test_a_starting_maintenance_moves_up_the_feed_dated_when_it_started(page_of):
    """Scheduled when the config was written (START, 06:00), it is an old entry below the
    incident's; at its start it gets an entry of its own, dated then, on top."""
    start, end = NOW - 10 * MINUTE, NOW + 50 * MINUTE
    window = f"""\
        maintenance:
          - {{start: "{start.isoformat()}", end: "{end.isoformat()}", reason: Index rebuild}}
        """
    page = page_of(history([Outage("api", "ipv6", minutes_ago(60), minutes_ago(50))]),
                   page=f"url: {URL}\n", extra=window)  # fmt: skip
    before = feedparser.parse(SiteRenderer().files(page.at(start - MINUTE))["history.atom"])
    during = feedparser.parse(SiteRenderer().files(page.at())["history.atom"])
    maintenance = [(e.title, e.updated) for e in before.entries if "Index rebuild" in e.title]
    assert maintenance == [("Maintenance: Index rebuild (scheduled)", "2026-03-20T06:00:30Z")]
    assert "Index rebuild" not in before.entries[0].title  # behind the incident's updates
    assert (during.entries[0].title, during.entries[0].updated) == (
        "Maintenance: Index rebuild (in progress)",
        start.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )  # the newest entry from the moment it started
    assert len(during.entries) == len(before.entries) + 1


# --- notifications follow what the page publishes ---------------------------------------

SLACK = """\
notifications:
  slack: [{name: status, webhook_url: "http://127.0.0.1:9/hook", events: [incident]}]
"""


def test_notifications_announce_automatic_incidents_once_the_page_publishes_them(page_of):
    from monitor.notify.events import incident_events

    rows = history(
        [
            Outage("api", "ipv6", minutes_ago(90), minutes_ago(88)),  # a blip: never announced
            Outage("api", "ipv6", minutes_ago(40), minutes_ago(36)),
        ]
    )
    page = page_of(rows, extra=SLACK)
    early = list(incident_events(page.config, page.at(minutes_ago(38)).incidents))
    assert early == []  # two BAD minutes so far: not published, not announced
    events = list(incident_events(page.config, page.at().incidents))
    incident = f"auto-rest-api-{int(minutes_ago(40).timestamp())}"
    assert [(e.key, e.occurred) for e in events] == [
        (f"incident/{incident}/opened", minutes_ago(40)),
        (f"incident/{incident}/update/{incident}-{int(minutes_ago(36).timestamp())}",
         minutes_ago(36)),
        (f"incident/{incident}/resolved", minutes_ago(26)),
    ]  # fmt: skip
    assert events[0].payload["title"] == "REST API: IPv6 requests failing"
    assert events[-1].payload["duration"] == "4 minutes"  # failing, not until resolved
