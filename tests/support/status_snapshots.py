"""StatusSnapshots made directly, for tests of the renderer alone.

`golden_snapshot()` is one fixed page (groups, every component status, automatic and
operator incidents, each maintenance state, hostile names); `snapshots()` is a Hypothesis
strategy of sequences of snapshots that change a little from one to the next, as a
refresh's do (a component's status or today's bar, an incident opened, updated or
resolved, the clock moving past midnight or a month's end).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

from hypothesis import strategies as st

from monitor.status.state import (
    ComponentState,
    DayBar,
    PageIncident,
    PageIncidentUpdate,
    PageMaintenance,
    PageMaintenanceUpdate,
    StatusSnapshot,
    Uptime,
)
from sla.availability import Figures
from sla.model import MaintenanceWindow
from sla.vocabulary import (
    INDICATOR_TEXT,
    ComponentStatus,
    Impact,
    IncidentStatus,
    Indicator,
    MaintenanceStatus,
)

NOW = datetime(2026, 3, 20, 12, 0, 30, tzinfo=UTC)
HOSTILE = "<script>alert(1)</script> & \"q\" 'a' =SUM(A1)\x01\x1b[31m <!channel>"


def figures(good: int, bad: int, excluded: int = 0) -> Figures:
    return Figures(good + bad, bad, 0, excluded, good + bad)


def bars(
    first: date, days: int, bad_days: dict[int, int], slice_seconds: int = 60
) -> tuple[DayBar, ...]:
    """`days` bars from `first`; bad_days maps a day's number to its BAD slices (-1: no
    data, -2: all maintenance)."""
    found = []
    for n in range(days):
        bad = bad_days.get(n, 0)
        if bad == -1:
            counts = figures(0, 0)
        elif bad == -2:
            counts = figures(0, 0, 1440)
        else:
            counts = figures(1440 - bad, bad)
        found.append(DayBar(first + timedelta(days=n), counts, counts.bad * slice_seconds / 60))
    return tuple(found)


def uptime(history_days: int, bad: int = 0) -> tuple[Uptime, ...]:
    spans = (("24 hours", 1440), ("7 days", 10080), ("30 days", 43200))
    return tuple(
        Uptime(label, figures(minutes - min(bad, minutes), min(bad, minutes)))
        for label, minutes in (*spans, (f"{history_days} days", history_days * 1440))
    )


def component(
    name: str,
    position: int,
    *,
    status: ComponentStatus = ComponentStatus.OPERATIONAL,
    group: str | None = None,
    failing: tuple[str, ...] = (),
    healthy: tuple[str, ...] = ("ipv4", "ipv6"),
    monitored: bool = True,
    history_days: int = 30,
    bad_days: dict[int, int] | None = None,
    now: datetime = NOW,
) -> ComponentState:
    from monitor.config import slug

    first = now.date() - timedelta(days=history_days - 1)
    return ComponentState(
        id=slug(name),
        name=name,
        description=f"What {name} does",
        group=group,
        position=position,
        status=status,
        monitored=monitored,
        failing_families=failing,  # type: ignore[arg-type]
        healthy_families=healthy,  # type: ignore[arg-type]
        unmonitored_families=(),
        bars=bars(first, history_days, bad_days or {}),
        uptime=uptime(history_days, sum(v for v in (bad_days or {}).values() if v > 0)),
        measured_status=status,
        operator_status=None,
        updated_at=now - timedelta(minutes=47 * position),  # a change some time ago
        created_at=datetime.combine(first, datetime.min.time(), UTC),
    )


def incident(
    incident_id: str,
    name: str,
    started: datetime,
    *,
    minutes: int | None,
    components: tuple[str, ...],
    impact: Impact = Impact.MAJOR,
    automatic: bool = True,
    families: tuple[str, ...] = (),
    body: str = "Our monitoring sees it failing.",
) -> PageIncident:
    updates = [
        PageIncidentUpdate(f"{incident_id}-start", IncidentStatus.INVESTIGATING, body, started)
    ]
    if not automatic:
        updates.append(
            PageIncidentUpdate(
                f"{incident_id}-2",
                IncidentStatus.IDENTIFIED,
                "Found it.",
                started + timedelta(minutes=3),
            )
        )
    if minutes is not None:
        updates.append(
            PageIncidentUpdate(
                f"{incident_id}-end",
                IncidentStatus.RESOLVED,
                "Answering again.",
                started + timedelta(minutes=minutes),
            )
        )
    return PageIncident(
        id=incident_id,
        name=name,
        impact=impact,
        automatic=automatic,
        components=components,
        started_at=started,
        updates=tuple(updates),
        families=families,  # type: ignore[arg-type]
        shortlink=f"https://status.example.com/incidents/{incident_id}.html",
        ended_at=None if minutes is None else started + timedelta(minutes=minutes),
    )


def maintenance(
    maintenance_id: str, name: str, start: datetime, hours: int, components: tuple[str, ...],
    now: datetime = NOW,
) -> PageMaintenance:  # fmt: skip
    end = start + timedelta(hours=hours)
    status = (
        MaintenanceStatus.SCHEDULED
        if now < start
        else MaintenanceStatus.IN_PROGRESS
        if now < end
        else MaintenanceStatus.COMPLETED
    )
    window = MaintenanceWindow(start, end, (), (), name)
    scheduled = min(start, NOW - timedelta(days=30), now)  # the config written a month ago
    steps = (
        (MaintenanceStatus.SCHEDULED, f"{name} is scheduled.", scheduled),
        (MaintenanceStatus.IN_PROGRESS, f"{name} is in progress.", start),
        (MaintenanceStatus.COMPLETED, f"{name} has been completed.", end),
    )
    updates = tuple(
        PageMaintenanceUpdate(f"{maintenance_id}-{step}", step, body, at)
        for step, body, at in steps
        if at <= now
    )
    return PageMaintenance(
        maintenance_id, name, status, start, end, components, window, scheduled, updates
    )


def snapshot_of(
    components: tuple[ComponentState, ...],
    incidents: tuple[PageIncident, ...],
    maintenances: tuple[PageMaintenance, ...],
    *,
    now: datetime = NOW,
    history_days: int = 30,
    timezone: str = "UTC",
    title: str = "Outfame API status",
    indicator: Indicator = Indicator.NONE,
) -> StatusSnapshot:
    return StatusSnapshot(
        generated_at=now,
        title=title,
        url="https://status.example.com",
        timezone=timezone,
        history_days=history_days,
        indicator=indicator,
        description=INDICATOR_TEXT[indicator],
        components=components,
        incidents=tuple(sorted(incidents, key=lambda i: (i.started_at, i.id), reverse=True)),
        maintenances=tuple(sorted(maintenances, key=lambda m: (m.scheduled_for, m.id))),
        updated_at=min(
            max(
                [c.updated_at for c in components]
                + [i.updated_at for i in incidents]
                + [m.updated_at for m in maintenances]
            ),
            now,
        ),
    )


def golden_snapshot() -> StatusSnapshot:
    """A fixed page: every component status, groups, incidents over two months."""
    components = (
        component("REST API", 1, group="API", status=ComponentStatus.PARTIAL_OUTAGE,
                  failing=("ipv6",), healthy=("ipv4",), bad_days={29: 12, 25: 3}),
        component("Search", 2, group="API", status=ComponentStatus.DEGRADED_PERFORMANCE,
                  bad_days={10: 30}),
        component("Webhooks", 3, status=ComponentStatus.UNDER_MAINTENANCE, bad_days={3: -2}),
        component(HOSTILE, 4, status=ComponentStatus.MAJOR_OUTAGE, failing=("ipv4", "ipv6"),
                  healthy=(), bad_days={29: 300, 0: -1}),
        component("Billing", 5, monitored=False),
    )  # fmt: skip
    ids = {c.name: c.id for c in components}
    incidents = (
        incident("auto-rest-api-1774007400", "REST API: IPv6 requests failing",
                 NOW - timedelta(minutes=12), minutes=None, components=(ids["REST API"],),
                 impact=Impact.MINOR, families=("ipv6",)),
        incident("auto-search-1773400000", "Search disruption", NOW - timedelta(days=7, hours=3),
                 minutes=1, components=(ids["Search"],)),
        incident("k3v9q0x2m7ab", f"Errors {HOSTILE}", NOW - timedelta(days=25), minutes=75,
                 components=(ids["REST API"], ids[HOSTILE]), impact=Impact.CRITICAL,
                 automatic=False, body=f"Line one\nline two {HOSTILE}"),
        incident("op0pen0000ab", "Slow logins", NOW - timedelta(minutes=5), minutes=None,
                 components=(), impact=Impact.MINOR, automatic=False),
    )  # fmt: skip
    maintenances = (
        maintenance("m00000000old", "Old work", NOW - timedelta(days=20), 2, (ids["Search"],)),
        maintenance("m0000000now0", "Queue migration", NOW - timedelta(hours=1), 2,
                    (ids["Webhooks"],)),
        maintenance("m0000000soon", "Network upgrade", NOW + timedelta(days=5), 1,
                    (ids["REST API"],)),
    )  # fmt: skip
    return snapshot_of(components, incidents, maintenances, indicator=Indicator.MAJOR)


# --- random sequences ------------------------------------------------------------------

NAMES = ("REST API", "Search", "Webhooks", "Billing")


@st.composite
def snapshots(draw: st.DrawFn, length: int = 6) -> list[StatusSnapshot]:
    """A run of snapshots a few minutes to a day apart, each a small change of the last."""
    history_days = draw(st.sampled_from((1, 2, 7, 30, 45)))
    timezone = draw(st.sampled_from(("UTC", "Europe/Berlin", "Pacific/Auckland")))
    now = NOW + timedelta(days=draw(st.integers(-15, 15)))
    statuses = list(ComponentStatus)
    state = {name: (draw(st.sampled_from(statuses)), draw(st.integers(0, 3))) for name in NAMES}
    incidents: dict[str, PageIncident] = {}
    found = []
    for step in range(length):
        move = draw(st.sampled_from(("nothing", "status", "incident", "resolve", "clock", "day")))
        if move == "status":
            name = draw(st.sampled_from(NAMES))
            state[name] = (draw(st.sampled_from(statuses)), draw(st.integers(0, 3)))
        elif move == "incident":
            name = draw(st.sampled_from(NAMES))
            started = now - timedelta(minutes=draw(st.integers(0, history_days * 1440)))
            key = f"auto-{step}-{len(incidents)}"
            incidents[key] = incident(
                key, f"{name} disruption", started, minutes=draw(st.none() | st.integers(1, 90)),
                components=(name.lower().replace(" ", "-"),),
                impact=draw(st.sampled_from((Impact.MINOR, Impact.MAJOR))),
                automatic=draw(st.booleans()),
                families=draw(st.sampled_from(((), ("ipv6",), ("ipv4", "ipv6")))),
            )  # fmt: skip
        elif move == "resolve" and incidents:
            key = draw(st.sampled_from(sorted(incidents)))
            old = incidents[key]
            if not old.resolved:
                end = PageIncidentUpdate(f"{key}-end", IncidentStatus.RESOLVED, "Fixed.", now)
                incidents[key] = dataclasses.replace(old, updates=(*old.updates, end), ended_at=now)
        elif move == "clock":
            now += timedelta(minutes=draw(st.integers(1, 90)))
        elif move == "day":
            now += timedelta(days=draw(st.integers(1, 40)))
        components = tuple(
            component(
                name,
                n,
                status=state[name][0],
                group="API" if n < 3 else None,
                failing=("ipv6",) if state[name][0] == ComponentStatus.PARTIAL_OUTAGE else (),
                history_days=history_days,
                bad_days={history_days - 1: state[name][1]},
                now=now,
            )
            for n, name in enumerate(NAMES, start=1)
        )
        horizon = now - timedelta(days=history_days)
        shown = tuple(
            i for i in incidents.values() if not i.resolved or (i.resolved_at or now) >= horizon
        )
        windows = (
            maintenance("m-fixed-one", "Upgrade", NOW, 2, ("search",), now=now),
            maintenance("m-fixed-two", "Move", NOW + timedelta(days=3), 30, ("webhooks",), now=now),
        )
        indicator = draw(st.sampled_from(list(Indicator)))
        found.append(
            snapshot_of(
                components,
                shown,
                windows,
                now=now,
                history_days=history_days,
                timezone=timezone,
                indicator=indicator,
            )
        )
    return found
