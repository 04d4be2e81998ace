"""The status page's figures come from the SLA engine's rules, and its "now" from the probes."""

from __future__ import annotations

import csv
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from monitor.config import Config, load_config
from monitor.probing.results import ProbeResult, Reason
from monitor.reports.inputs import EngineInputs
from monitor.reports.monthly import month_report
from monitor.status.incidents import open_incident, update_incident
from monitor.status.site import SiteRenderer
from monitor.status.state import StatusBuilder
from monitor.status.timeline import Outage, Runs, counts_before, outage_table, outages_of
from monitor.store import Store
from monitor.store.importer import import_csv
from sla.slices import SliceState

MARCH = datetime(2026, 3, 1, 5, tzinfo=UTC)  # midnight in New York (EST)
APRIL = datetime(2026, 4, 1, 4, tzinfo=UTC)  # midnight in New York (EDT): March has 743 h


def config_file(tmp_path: Path, database_url: str, extra: str = "") -> Config:
    path = tmp_path / "uptime-sla.yaml"
    path.write_text(
        textwrap.dedent(f"""\
        storage: {{url: "{database_url}"}}
        defaults: {{interval: 5m}}
        targets:
          - {{name: api, url: "https://api.test/", service: api}}
          - {{name: search, url: "https://api.test/search", service: api}}
          - {{name: web, url: "https://web.test/", degraded_latency: 2s}}
        sla: {{timezone: America/New_York, min_outage_slices: 2}}
        maintenance:
          - {{start: "2026-03-10T02:00:00Z", end: "2026-03-10T03:30:00Z", targets: [search]}}
        status_page:
          history_days: 32
          components:
            - {{name: API, services: [api]}}
            - {{name: Search, targets: [search]}}
            - {{name: Web, targets: [web]}}
        """)
        + extra
    )
    return load_config(path)


def failing(target: str, family: str, when: datetime) -> bool:
    """An hour of IPv6 on the DST day, an outage partly in maintenance, scattered blips."""
    local = when - timedelta(hours=5)
    if target == "api" and family == "ipv6":
        return datetime(2026, 3, 8, 6, tzinfo=UTC) <= when < datetime(2026, 3, 8, 7, tzinfo=UTC)
    if target == "search":
        return datetime(2026, 3, 10, 3, tzinfo=UTC) <= when < datetime(2026, 3, 10, 4, tzinfo=UTC)
    return target == "web" and local.day % 7 == 3 and local.hour == 13 and local.minute < 12


def write_history(path: Path) -> None:
    """March 2026 in New York, every 5 minutes per target and family, as an import file."""
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["time", "target", "family", "location", "success", "status_code",
                      "latency_ms", "reason"])  # fmt: skip
        when = MARCH
        while when < APRIL:
            for target in ("api", "search", "web"):
                for family in ("ipv4", "ipv6"):
                    down = failing(target, family, when)
                    out.writerow([when.isoformat(), target, family, "eu", str(not down).lower(),
                                  "" if down else "200", "12.5", "connect" if down else ""])  # fmt: skip
            when += timedelta(minutes=5)


@pytest.fixture
def march(tmp_path: Path, database_url: str) -> tuple[Config, Store]:
    config = config_file(tmp_path, database_url)
    store = Store(database_url)
    history = tmp_path / "march.csv"
    write_history(history)
    import_csv(history, config, store)
    yield config, store
    store.close()


def test_day_bars_and_uptime_equal_the_engines_figures_for_the_same_slices(march):
    config, store = march
    report = month_report(EngineInputs.of(config), store, 2026, 3, APRIL)
    snapshot = StatusBuilder(config, store).snapshot(APRIL)

    engine = {
        "api": report.services[0],  # the API component is the api service (two targets)
        "search": report.targets[1],  # a component of one target is that target
        "web": report.targets[2],
    }
    for component in snapshot.components:
        expected = engine[component.id]
        bars = component.bars[:31]  # March 1 to 31; the last bar is April 1, not begun
        assert [bar.day for bar in bars] == [day.day for day in expected.daily]
        assert [bar.figures for bar in bars] == [day.figures for day in expected.daily]
        month = component.uptime[3]  # the last 32 days: March and a day without data
        assert month.label == "32 days"
        assert (month.figures.eligible, month.figures.bad, month.figures.excluded) == (
            expected.figures.eligible,
            expected.figures.bad,
            expected.figures.excluded,
        )
    dst_day = snapshot.components[0].bars[7]
    assert dst_day.day.isoformat() == "2026-03-08"
    assert dst_day.figures.eligible == 23 * 60  # the day the clocks went forward
    assert dst_day.downtime_minutes == 60
    assert snapshot.components[1].bars[8].figures.excluded == 90  # 21:00-22:30 on March 9


def test_incidents_span_step_7s_runs_and_resolve_after_incident_merge_of_good_slices(march):
    """March's outages are far apart (more than incident_merge) and longer than
    incident_after: each is one incident, spanning the report's step-7 incident, listing
    every component whose targets failed in it, resolved 10 GOOD minutes after its end."""
    config, store = march
    snapshot = StatusBuilder(config, store).snapshot(APRIL)
    report = month_report(EngineInputs.of(config), store, 2026, 3, APRIL)
    targets = {"api": {"api", "search"}, "search": {"search"}, "web": {"web"}}
    for incident in snapshot.incidents:
        covered = set().union(*(targets[c] for c in incident.components))
        (step_7,) = [
            i
            for i in report.incidents
            if covered & set(i.targets) and i.start == incident.started_at
        ]
        assert incident.ended_at == step_7.end
        assert incident.resolved_at == step_7.end + timedelta(minutes=10)
        assert incident.automatic
        assert incident.status == "resolved"
    assert len(snapshot.incidents) == len(report.incidents) == 7
    shared = [i for i in snapshot.incidents if len(i.components) > 1]
    assert [(i.components, i.name) for i in shared] == [
        (("api", "search"), "API and Search: requests failing")  # search is in the api service
    ]


def test_a_component_is_partial_when_one_family_fails_and_major_when_all_do(
    tmp_path: Path, database_url: str
):
    config = config_file(tmp_path, database_url)
    store = Store(database_url)
    now = datetime(2026, 3, 20, 12, 0, 30, tzinfo=UTC)
    builder = StatusBuilder(config, store)

    def probe(target: str, family: str, ago: float, ok: bool, latency: float = 0.1) -> ProbeResult:
        return ProbeResult(target, family, "eu", now - timedelta(seconds=ago), ok,
                           None if ok else Reason.CONNECT, 200 if ok else None, latency)  # fmt: skip

    try:
        assert {c.id: (c.status, c.monitored) for c in builder.snapshot(now).components} == {
            "api": ("operational", False),
            "search": ("operational", False),
            "web": ("operational", False),
        }
        # Three slices of each, the last two ended: a status shows once it held for two.
        for ago in (150, 90, 30):
            store.write([probe("api", "ipv4", ago, True), probe("api", "ipv6", ago, False)])
            store.write([probe("search", f, ago, False) for f in ("ipv4", "ipv6")])
            store.write([probe("web", f, ago, True, 3.0) for f in ("ipv4", "ipv6")])
        snapshot = builder.snapshot(now)
    finally:
        store.close()
    api, search, web = snapshot.components
    assert (api.status, api.failing_families, api.healthy_families) == (
        "partial_outage",  # api over IPv4 still answers
        ("ipv4", "ipv6"),
        ("ipv4",),
    )
    assert search.status == "major_outage"
    assert web.status == "degraded_performance"  # median 3 s over degraded_latency 2 s
    assert snapshot.indicator == "major"


def test_a_family_the_monitor_cannot_reach_is_not_monitored_from_here_never_down(
    tmp_path: Path, database_url: str
):
    """Every IPv6 probe `local` (the monitor lost its route): the page leaves IPv6 out of the
    component's status and says so, instead of showing the API's IPv6 as down."""
    config = config_file(tmp_path, database_url)
    store = Store(database_url)
    now = datetime(2026, 3, 20, 12, 0, 30, tzinfo=UTC)
    builder = StatusBuilder(config, store)

    def probe(family: str, ago: float, reason: Reason | None) -> ProbeResult:
        ok = reason is None
        return ProbeResult("web", family, "eu", now - timedelta(seconds=ago), ok, reason,
                           200 if ok else None, 0.1)  # fmt: skip

    try:
        store.write([probe("ipv4", s, None) for s in (30, 90, 150)])
        store.write([probe("ipv6", s, Reason.LOCAL) for s in (30, 90, 150)])
        snapshot = builder.snapshot(now)
    finally:
        store.close()
    web = snapshot.components[2]
    assert (web.status, web.monitored) == ("operational", True)
    assert (web.failing_families, web.healthy_families, web.unmonitored_families) == (
        (),
        ("ipv4",),
        ("ipv6",),
    )
    page = SiteRenderer().files(snapshot)["index.html"].decode()
    assert "IPv4: operational · IPv6: not monitored from here" in page
    assert "IPv6: down" not in page


def test_operator_incidents_are_shared_through_the_database(tmp_path: Path, database_url: str):
    config = config_file(tmp_path, database_url)
    now = datetime(2026, 3, 20, 12, tzinfo=UTC)
    first, second = Store(database_url), Store(database_url)  # two monitors, one database
    try:
        opened = open_incident(
            config, first, title="Slow search", impact="minor", components=["Search"],
            message="Looking.", now=now,
        )  # fmt: skip
        seen = StatusBuilder(config, second).snapshot(now + timedelta(minutes=1))
        update_incident(
            first, opened, status="resolved", message="Fixed.", now=now + timedelta(minutes=1)
        )
        later = StatusBuilder(config, second).snapshot(now + timedelta(minutes=2))
    finally:
        first.close()
        second.close()
    assert [(i.id, i.status, i.components) for i in seen.unresolved] == [
        (opened, "investigating", ("search",))
    ]
    assert seen.indicator == "minor"  # an open operator incident
    assert later.unresolved == ()
    assert [u.body for u in later.incidents[0].updates] == ["Looking.", "Fixed."]
    assert later.indicator == "none"


def test_a_refresh_re_reads_only_the_tail_and_agrees_with_a_cold_build(march):
    config, store = march
    kept = StatusBuilder(config, store)
    kept.snapshot(APRIL - timedelta(days=3))
    late = [
        ProbeResult("web", f, "eu", APRIL - timedelta(minutes=m), False, Reason.STATUS)
        for f in ("ipv4", "ipv6")
        for m in (20, 15, 10)
    ]
    store.write(late)
    refreshed = kept.snapshot(APRIL)
    cold = StatusBuilder(config, store).snapshot(APRIL)
    assert refreshed.components == cold.components
    assert refreshed.incidents == cold.incidents


def test_an_outage_runs_from_a_bad_slice_to_the_next_good_one_across_gaps() -> None:
    G, B, N, X = (int(state) for state in SliceState)
    runs = Runs.of(100, np.array([G, B, B, N, B, G, G, B, X, G, N, B, N], np.int8))
    assert runs.outages() == [
        Outage(101, 105, bad=3, good_after=2),
        Outage(107, 109, bad=1, good_after=1),
        Outage(111, None, bad=1, good_after=0),
    ]
    assert runs.nth(B, 100, 4) == 107
    assert runs.nth(G, 105, 3) == 109
    assert runs.nth(G, 110, 1) is None  # none ended yet
    assert Runs.of(0, np.array([G, N, X, G], np.int8)).outages() == []
    assert Runs.of(0, np.empty(0, np.int8)).outages() == []


def reference_outages(runs: Runs) -> list[Outage]:
    """Runs.outages slice by slice: from a BAD slice to the next GOOD one."""
    G, B = int(SliceState.GOOD), int(SliceState.BAD)
    states = np.repeat(runs.states, np.diff(runs.starts, append=runs.end)).tolist()
    found, i = [], 0
    while i < len(states):
        if states[i] != B:
            i += 1
            continue
        end = next((j for j in range(i, len(states)) if states[j] == G), len(states))
        after = next((k for k in range(end, len(states)) if states[k] == B), len(states))
        good = states[end:after].count(G)
        bad = states[i:end].count(B)
        answering = end < len(states)
        found.append(Outage(i + runs.first, end + runs.first if answering else None, bad, good))
        i = after
    return found


def test_every_components_outages_are_found_at_once_as_one_at_a_time() -> None:
    rng = np.random.default_rng(11)
    components = [
        Runs.of(int(rng.integers(0, 99)), rng.integers(0, 4, int(size), dtype=np.int8))
        for size in rng.integers(0, 60, 200)
    ]
    tables = outage_table(components)
    assert len(tables) == len(components)
    for runs, table in zip(components, tables, strict=True):
        assert outages_of(table) == reference_outages(runs)


def test_slices_before_each_edge_are_counted_for_every_component_at_once() -> None:
    rng = np.random.default_rng(7)
    components = [
        Runs.of(first, rng.integers(0, 4, size, dtype=np.int8).repeat(rng.integers(1, 9, size)))
        for first, size in ((50, 30), (40, 0), (0, 1), (75, 12))
    ]
    edges = np.array([60, 0, 300, 45, 76, 120, 1000])
    counted = counts_before(components, edges)
    for runs, found in zip(components, counted, strict=True):
        states = np.repeat(runs.states, np.diff(runs.starts, append=runs.end))
        for edge, counts in zip(edges.tolist(), found.tolist(), strict=True):
            before = states[: max(edge - runs.first, 0)]
            assert counts == [int((before == s).sum()) for s in range(len(SliceState))]
