"""What the status page shows, as plain frozen data: the site's and notifications' source.

`StatusBuilder.snapshot(now)` reads the store through `monitor.reports.monthly` (the SLA
engine's slice rules: no second incident detector) and returns a `StatusSnapshot`:
components with their status now, day bars and uptime; automatic and operator
incidents with their updates; public maintenance windows with their status. The
builder keeps each component's finished slices between calls, so a refresh in `run`
re-reads only the last hour.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from functools import cached_property
from statistics import median
from zoneinfo import ZoneInfo

import numpy as np

from monitor.config import Config, StatusComponent, SubscriptionSettings
from monitor.reports.inputs import EngineInputs
from monitor.reports.monthly import component_states
from monitor.status.timeline import Runs, counts_before
from monitor.store import Store, StoredIncident
from sla.availability import Figures
from sla.model import MaintenanceWindow
from sla.slices import (
    NO_DATA,
    covers_target,
    epoch_us,
    slice_at_or_after,
    slice_index,
    slice_start,
    stale_after_us,
)
from sla.status import LastProbe, component_now, family_states, indicator
from sla.vocabulary import (
    INDICATOR_TEXT,
    RESOLVED_STATUSES,
    ComponentStatus,
    Family,
    Impact,
    IncidentStatus,
    Indicator,
    MaintenanceStatus,
)

TAIL = timedelta(hours=1)  # re-read on every refresh: late results, blips still forming
LATENCY_PROBES = 5  # degraded_performance: median latency of this many answered probes
UPTIME_WINDOWS = ((timedelta(hours=24), "24 hours"), (timedelta(days=7), "7 days"))
_FOREVER = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class DayBar:
    """One day of a component in the page's time zone (NO_DATA never counted)."""

    day: date
    figures: Figures  # eligible = GOOD + BAD slices; excluded = maintenance
    downtime_minutes: float

    @property
    def availability(self) -> Fraction | None:
        return self.figures.availability


@dataclass(frozen=True)
class Uptime:
    label: str  # "24 hours", "7 days", "30 days", "90 days"
    figures: Figures

    @property
    def availability(self) -> Fraction | None:
        return self.figures.availability


@dataclass(frozen=True)
class ComponentState:
    id: str  # the slug: badges/ID.svg, the JSON id
    name: str
    description: str | None
    group: str | None
    position: int  # 1-based, config order
    status: ComponentStatus
    monitored: bool  # False: no fresh data; still "operational" in the JSON
    failing_families: tuple[Family, ...]
    healthy_families: tuple[Family, ...]
    unmonitored_families: tuple[Family, ...]  # configured, but no fresh probe from here
    bars: tuple[DayBar, ...]  # oldest first; the last is today so far
    uptime: tuple[Uptime, ...]  # 24 hours, 7 days, 30 days, history_days


@dataclass(frozen=True)
class PageIncidentUpdate:
    """One update of a PageIncident, as the page and its JSON show it."""

    id: str
    status: IncidentStatus
    body: str
    created_at: datetime


@dataclass(frozen=True)
class PageIncident:
    """An incident as the status page shows it (and notifications announce it): automatic,
    from a component's outage, or an operator's (a `StoredIncident` read back)."""

    id: str
    name: str
    impact: Impact
    automatic: bool  # True: opened and resolved by the probes (docs/concepts.md, Incidents)
    components: tuple[str, ...]  # component ids
    started_at: datetime
    updates: tuple[PageIncidentUpdate, ...]  # oldest first
    # The families that failed, when the monitoring knows (empty: not known or all).
    families: tuple[Family, ...] = ()

    @cached_property  # a page has thousands of incidents, asked on every refresh
    def status(self) -> IncidentStatus:
        return self.updates[-1].status

    @cached_property
    def resolved(self) -> bool:
        return self.status in RESOLVED_STATUSES

    @cached_property
    def resolved_at(self) -> datetime | None:
        if not self.resolved:
            return None
        return next(
            u.created_at for u in reversed(self.updates) if u.status == IncidentStatus.RESOLVED
        )

    @property
    def monitoring_at(self) -> datetime | None:
        monitoring = IncidentStatus.MONITORING
        return next((u.created_at for u in self.updates if u.status == monitoring), None)

    @property
    def updated_at(self) -> datetime:
        return self.updates[-1].created_at


@dataclass(frozen=True)
class PageMaintenance:
    """A public maintenance window as the page shows it (and notifications announce it):
    the config's window with its status now (identified by its start, end and scope)."""

    id: str
    name: str  # its reason, or "Scheduled maintenance"
    status: MaintenanceStatus
    scheduled_for: datetime
    scheduled_until: datetime
    components: tuple[str, ...]  # component ids it touches
    window: MaintenanceWindow


@dataclass(frozen=True)
class StatusSnapshot:
    generated_at: datetime
    title: str
    url: str | None
    timezone: str
    history_days: int
    indicator: Indicator
    description: str  # Statuspage's text for the indicator
    components: tuple[ComponentState, ...]
    incidents: tuple[PageIncident, ...]  # open ones and those of history_days, newest first
    maintenances: tuple[PageMaintenance, ...]  # public windows, by start
    subscriptions: SubscriptionSettings | None = None  # the page's "Subscribe to updates"

    @cached_property
    def unresolved(self) -> tuple[PageIncident, ...]:
        return tuple(i for i in self.incidents if not i.resolved)

    def maintenances_in(self, *statuses: MaintenanceStatus) -> tuple[PageMaintenance, ...]:
        return tuple(m for m in self.maintenances if m.status in statuses)


def maintenance_id(window: MaintenanceWindow) -> str:
    """Stable across restarts and monitors: a changed window is a new one.

    An identity, not an output: its times keep isoformat's "+00:00", as every id ever
    recorded (the outbox's keys) was made with them.
    """
    key = "|".join(
        (
            window.start.astimezone(UTC).isoformat(),
            window.end.astimezone(UTC).isoformat(),
            ",".join(window.targets),
            ",".join(window.services),
        )
    )
    return "m" + hashlib.sha256(key.encode()).hexdigest()[:11]


class StatusBuilder:
    """Computes snapshots; keeps each component's finished slices between calls.

    Thread-safe: `run`'s site refresher and notifier share one (calls take turns).
    """

    def __init__(self, config: Config, store: Store) -> None:
        self._config = config
        self._store = store
        self._components = config.status_components()
        self._groups = config.component_targets()
        self._targets = {t.name: t for t in config.targets}
        self._inputs = EngineInputs.of(config)
        self._specs = {t.name: t for t in self._inputs.targets}
        self._policy = self._inputs.policy
        self._stale_us = {n: stale_after_us(self._policy, t) for n, t in self._specs.items()}
        self._zone = ZoneInfo(config.status_timezone)
        self._slice = self._policy.slice_seconds
        self._runs: list[Runs] | None = None
        self._final = 0  # epoch slice: states before it are kept, not re-read
        self._latest: dict[tuple[str, Family, str], LastProbe | None] = {}
        self._lock = threading.Lock()
        # Each component's outages ([first, end) slices) and their incidents, as last time.
        self._automatic: dict[str, tuple[list[tuple[int, int | None]], list[PageIncident]]] = {}
        self._operator: list[PageIncident] = []  # the last snapshot's operator incidents
        self._sorted: list[tuple[PageIncident, datetime]] = []  # newest first, with their ends
        self._shown: tuple[PageIncident, ...] = ()  # the same, once those ended too long ago left
        self._shown_until = datetime.min.replace(tzinfo=UTC)  # computed again after it
        self._day_bars: dict[tuple[object, ...], DayBar] = {}  # by (day, *counts)
        # Each component's bars of days that ended before the final slices: (first, bars).
        self._final_bars: dict[str, tuple[date, tuple[DayBar, ...]]] = {}

    @property
    def history_days(self) -> int:
        page = self._config.status_page
        return page.history_days if page is not None else 90

    def snapshot(self, now: datetime) -> StatusSnapshot:
        with self._lock:
            return self._snapshot(now)

    def _snapshot(self, now: datetime) -> StatusSnapshot:
        self._update(now)
        assert self._runs is not None
        days = self._days(now)
        edges = np.array(
            [slice_at_or_after(self._midnight(day), self._slice) for day in days]
            + [slice_at_or_after(self._midnight(days[-1] + timedelta(days=1)), self._slice)]
        )
        ended = slice_index(epoch_us(now), self._slice)
        windows = [*UPTIME_WINDOWS, (timedelta(days=30), "30 days")]
        windows.append((timedelta(days=self.history_days), f"{self.history_days} days"))
        starts = [slice_at_or_after(now - span, self._slice) for span, _ in windows]
        maintenances = self._maintenances(now)
        bars_kept, self._day_bars = self._day_bars, {}
        now_states = family_states(self._latest, self._stale_us, self._policy, epoch_us(now))
        components = []
        # Days that ended before the slices re-read (the final ones) are as last time.
        final_days = int(np.searchsorted(edges[1:], self._final, "right"))
        kept_bars = [self._kept_bars(component.slug, days[0]) for component in self._components]
        skip = min((len(kept) for kept in kept_bars), default=0)
        # Counted for all components at once: the other days' edges, each window's start,
        # and `now`.
        counted = counts_before(self._runs, np.array([*edges[skip:], *starts, ended]))
        for position, (component, targets, kept, before) in enumerate(
            zip(self._components, self._groups, kept_bars, counted, strict=True), start=1
        ):
            day_counts = np.diff(before[len(kept) - skip : len(edges) - skip], axis=0).tolist()
            bars = kept + tuple(
                self._bar(day, counts, bars_kept)
                for day, counts in zip(days[len(kept) :], day_counts, strict=True)
            )
            self._final_bars[component.slug] = (days[0], bars[:final_days])
            uptime = tuple(
                Uptime(label, _figures(before[-1] - before[len(edges) - skip + number]))
                for number, (_, label) in enumerate(windows)
            )
            components.append(
                self._component(
                    component,
                    targets,
                    position=position,
                    bars=bars,
                    uptime=uptime,
                    now=now,
                    maintenances=maintenances,
                    now_states=now_states,
                )
            )
        if self._config.webhook_receivers:  # opt-in components of their own (small, apart)
            from monitor.status.webhooks import webhook_components  # noqa: PLC0415 (a cycle)

            components += webhook_components(
                self._config,
                self._store,
                now,
                days=days,
                uptime_labels=[label for _, label in windows],
                first_position=len(components) + 1,
            )
        incidents = self._incidents(now)
        operator_open = any(not i.resolved for i in self._operator)
        overall = indicator((c.status for c in components), operator_open)
        page = self._config.status_page
        return StatusSnapshot(
            generated_at=now,
            title=page.title if page is not None else "Service status",
            url=page.url if page is not None else None,
            timezone=self._config.status_timezone,
            history_days=self.history_days,
            indicator=overall,
            description=INDICATOR_TEXT[overall],
            components=tuple(components),
            incidents=incidents,
            maintenances=maintenances,
            subscriptions=page.subscriptions if page is not None else None,
        )

    # --- slices ----------------------------------------------------------------------

    def _days(self, now: datetime) -> list[date]:
        today = now.astimezone(self._zone).date()
        return [today - timedelta(days=n) for n in range(self.history_days - 1, -1, -1)]

    def _bar(self, day: date, counts: list[int], kept: dict[tuple[object, ...], DayBar]) -> DayBar:
        """The same DayBar object as the last snapshot's for the same day and counts.

        Finished days do not change between refreshes: the site renders a component's
        past bars again only when one of these objects did.
        """
        key = (day, *counts)
        bar = kept.get(key) or self._day_bars.get(key)
        if bar is None:
            figures = _figures(counts)
            bar = DayBar(day, figures, figures.bad * self._slice / 60)
        self._day_bars[key] = bar
        return bar

    def _kept_bars(self, component: str, first_day: date) -> tuple[DayBar, ...]:
        """The component's bars of final days, from `first_day` on."""
        first, bars = self._final_bars.get(component, (first_day, ()))
        return bars[(first_day - first).days :] if first <= first_day else ()

    def _midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(), self._zone).astimezone(UTC)

    def _update(self, now: datetime) -> None:
        """Re-read the slices not final yet (all of them the first time)."""
        origin = min(self._midnight(self._days(now)[0]), now - timedelta(days=self.history_days))
        origin_slice = slice_at_or_after(origin, self._slice)
        start_slice = max(origin_slice, self._final) if self._runs is not None else origin_slice
        start = slice_start(start_slice, self._slice)
        fresh = component_states(
            self._inputs,
            self._store,
            self._groups,
            start=start,
            now=now,
            latest=self._latest,
        )
        kept = self._runs or [Runs.of(start_slice, np.empty(0, np.int8))] * len(self._groups)
        self._runs = [
            old.before(start_slice).then(Runs.of(new.first_slice, new.states))
            for old, new in zip(kept, fresh, strict=True)
        ]
        ended = slice_index(epoch_us(now), self._slice)
        self._final = max(start_slice, ended - int(TAIL.total_seconds()) // self._slice)

    # --- components ------------------------------------------------------------------

    def _component(
        self,
        component: StatusComponent,
        targets: Sequence[str],
        *,
        position: int,
        bars: tuple[DayBar, ...],
        uptime: tuple[Uptime, ...],
        now: datetime,
        maintenances: tuple[PageMaintenance, ...],
        now_states: dict[tuple[str, str], int],
    ) -> ComponentState:
        states = {
            (name, family): now_states.get((name, family), int(NO_DATA))
            for name in targets
            for family in self._specs[name].families
        }
        in_maintenance = bool(targets) and any(
            m.status == MaintenanceStatus.IN_PROGRESS
            and all(covers_target(m.window, self._specs[name]) for name in targets)
            for m in maintenances
        )
        now_state = component_now(
            states, in_maintenance=in_maintenance, degraded=self._degraded(targets, now)
        )
        return ComponentState(
            id=component.slug,
            name=component.name,
            description=component.description,
            group=component.group,
            position=position,
            status=now_state.status,
            monitored=now_state.monitored,
            failing_families=now_state.failing_families,
            healthy_families=now_state.healthy_families,
            unmonitored_families=now_state.unmonitored_families,
            bars=bars,
            uptime=uptime,
        )

    def _degraded(self, targets: Sequence[str], now: datetime) -> bool:
        """A target's median latency over its last answered probes above degraded_latency."""
        for name in targets:
            target = self._targets[name]
            if target.degraded_latency is None:
                continue
            since = now - timedelta(seconds=target.interval * (LATENCY_PROBES + 2))
            latencies = self._store.recent_latencies(name, since, LATENCY_PROBES)
            if latencies and median(latencies) > target.degraded_latency * 1000:
                return True
        return False

    # --- incidents and maintenance ---------------------------------------------------

    def _incidents(self, now: datetime) -> tuple[PageIncident, ...]:
        """Automatic and operator incidents, newest first; those resolved before the
        history's start are left out. Sorted again only when one of them changed."""
        assert self._runs is not None
        automatic, changed, kept = [], False, {}
        for component, runs in zip(self._components, self._runs, strict=True):
            outages = runs.outages()
            before = self._automatic.get(component.slug, ([], []))
            incidents = before[1]
            if outages != before[0]:  # an outage seen before is the same (frozen) incident
                known = dict(zip(before[0], before[1], strict=True))
                incidents = [known.get(o) or self._outage(component, *o) for o in outages]
                changed = True
            kept[component.slug] = (outages, incidents)
            automatic += incidents
        self._automatic = kept
        ids = {c.name: c.slug for c in self._components}
        operator = [_operator(stored, ids) for stored in self._store.operator_incidents()]
        horizon = now - timedelta(days=self.history_days)
        if changed or operator != self._operator:
            found = sorted(automatic + operator, key=lambda i: (i.started_at, i.id), reverse=True)
            ends = [(i.resolved_at or i.updated_at) if i.resolved else _FOREVER for i in found]
            self._sorted = list(zip(found, ends, strict=True))
            self._shown_until = datetime.min.replace(tzinfo=UTC)
        if horizon > self._shown_until:  # the history's start passed the oldest end shown
            self._sorted = [(i, end) for i, end in self._sorted if end >= horizon]
            self._shown = tuple(i for i, _ in self._sorted)
            self._shown_until = min((end for _, end in self._sorted), default=_FOREVER)
        self._operator = operator
        return self._shown

    def _outage(self, component: StatusComponent, first: int, end: int | None) -> PageIncident:
        """Step 7's incident of one outage of the component (docs/concepts.md, Incidents)."""
        component_id = component.slug
        started = slice_start(first, self._slice)
        incident_id = f"auto-{component_id}-{int(started.timestamp())}"
        updates = [
            PageIncidentUpdate(
                f"{incident_id}-start",
                IncidentStatus.INVESTIGATING,
                f"Our monitoring sees {component.name} failing. We are investigating.",
                started,
            )
        ]
        if end is not None:
            minutes = (end - first) * self._slice / 60
            updates.append(
                PageIncidentUpdate(
                    f"{incident_id}-end",
                    IncidentStatus.RESOLVED,
                    f"{component.name} is answering again after {minutes:g} minutes.",
                    slice_start(end, self._slice),
                )
            )
        return PageIncident(
            id=incident_id,
            name=f"{component.name} disruption",
            impact=Impact.MAJOR,
            automatic=True,
            components=(component_id,),
            started_at=started,
            updates=tuple(updates),
        )

    def _maintenances(self, now: datetime) -> tuple[PageMaintenance, ...]:
        found = []
        windows = zip(self._config.maintenance, self._inputs.maintenance, strict=True)
        for window in (window for settings, window in windows if settings.public):
            touched = tuple(
                component.slug
                for component, targets in zip(self._components, self._groups, strict=True)
                if any(covers_target(window, self._specs[name]) for name in targets)
            )
            if now < window.start:
                status = MaintenanceStatus.SCHEDULED
            elif now < window.end:
                status = MaintenanceStatus.IN_PROGRESS
            else:
                status = MaintenanceStatus.COMPLETED
            found.append(
                PageMaintenance(
                    id=maintenance_id(window),
                    name=window.reason or "Scheduled maintenance",
                    status=status,
                    scheduled_for=window.start.astimezone(UTC),
                    scheduled_until=window.end.astimezone(UTC),
                    components=touched,
                    window=window,
                )
            )
        return tuple(sorted(found, key=lambda m: (m.scheduled_for, m.id)))


def _figures(counts: Iterable[int]) -> Figures:
    """NO_DATA is never counted on the page, whatever `sla.no_data` says."""
    return Figures.from_counts(counts, "exclude")


def _operator(stored: StoredIncident, ids: dict[str, str]) -> PageIncident:
    return PageIncident(
        id=stored.id,
        name=stored.title,
        impact=Impact(stored.impact),
        automatic=False,
        components=tuple(ids[name] for name in stored.components if name in ids),
        started_at=stored.created,
        updates=tuple(
            PageIncidentUpdate(u.id, IncidentStatus(u.status), u.message, u.created)
            for u in stored.updates
        ),
    )
