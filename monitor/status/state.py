"""What the status page shows, as plain frozen data: the site's and notifications' source.

`StatusBuilder.snapshot(now)` reads the store through `monitor.reports.monthly` (the SLA
engine's slice rules: no second incident detector) and returns a `StatusSnapshot`:
components with their status, day bars and uptime; automatic and operator incidents
with their updates; public maintenance windows with their updates.

Everything a snapshot says is derived from the data and `now` alone (docs/status-page.md,
"One truth"): a page built at a moment equals the one `run` has refreshed since long
before. The builder keeps each component's finished slices between calls, so a refresh
re-reads only the last hour, and lets go of what leaves the history: what it keeps is
bounded by `history_days` (`StatusBuilder.kept_sizes`).
"""

from __future__ import annotations

import hashlib
import math
import threading
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from functools import cached_property
from statistics import median
from zoneinfo import ZoneInfo

import numpy as np

from monitor.config import Config, StatusComponent, SubscriptionSettings
from monitor.reports.inputs import EngineInputs
from monitor.reports.monthly import component_states
from monitor.status import wording
from monitor.status.timeline import Outage, Runs, counts_before, outage_table, outages_of
from monitor.store import Store, StoredIncident
from sla.availability import Figures
from sla.model import MaintenanceWindow
from sla.slices import (
    BAD,
    GOOD,
    covers_target,
    epoch_us,
    slice_at_or_after,
    slice_index,
    slice_start,
)
from sla.status import FAILING, MAJOR_CODES, SCOPES, held_codes, indicator, worst
from sla.vocabulary import (
    COMPONENT_SEVERITY,
    FAMILIES,
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
UPTIME_WINDOWS = (
    (timedelta(hours=24), "24 hours"),
    (timedelta(days=7), "7 days"),
    (timedelta(days=30), "30 days"),
)
KEPT_DAYS = 30  # the longest fixed uptime window: kept whatever history_days says
_FOREVER = datetime.max.replace(tzinfo=UTC)
_DAWN = datetime.min.replace(tzinfo=UTC)


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
    status: ComponentStatus  # shown: the worse of `measured_status` and `operator_status`
    monitored: bool  # False: no fresh data; still "operational" in the JSON
    failing_families: tuple[Family, ...]
    healthy_families: tuple[Family, ...]
    unmonitored_families: tuple[Family, ...]  # configured, but no fresh probe from here
    bars: tuple[DayBar, ...]  # oldest first; the last is today so far
    uptime: tuple[Uptime, ...]  # 24 hours, 7 days, 30 days, history_days
    # From the probes (held against flapping), public maintenance and latency.
    measured_status: ComponentStatus
    # The worst status an open operator incident sets it to (`--component NAME=STATUS`).
    operator_status: ComponentStatus | None
    updated_at: datetime  # when `status` last changed, as far as the data shows
    created_at: datetime  # the start of the data the page shows (never in the future)


@dataclass(frozen=True)
class PageIncidentUpdate:
    """One update of a PageIncident, as the page and its JSON show it."""

    id: str
    status: IncidentStatus
    body: str
    created_at: datetime  # when what it says happened


@dataclass(frozen=True)
class PageIncident:
    """An incident as the status page shows it (and notifications announce it): automatic,
    from components' outages, or an operator's (a `StoredIncident` read back)."""

    id: str
    name: str
    impact: Impact
    automatic: bool  # True: opened and resolved by the probes (docs/status-page.md)
    components: tuple[str, ...]  # component ids, config order
    started_at: datetime
    updates: tuple[PageIncidentUpdate, ...]  # oldest first
    # The families that failed, when the monitoring knows (empty: not known or all).
    families: tuple[Family, ...] = ()
    # (component id, status) an operator set with it, shown while it is open
    component_statuses: tuple[tuple[str, ComponentStatus], ...] = ()
    shortlink: str = ""  # its own page, incidents/ID.html: absolute under status_page.url
    # Automatic: when its last component answered again; operator's: when resolved.
    ended_at: datetime | None = None

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

    @property
    def path(self) -> str:
        """Its page under the site's root."""
        return wording.incident_path(self.id)

    def duration(self, now: datetime) -> timedelta:
        """From its start to `ended_at`, or to `now` while it goes on."""
        return (self.ended_at or now) - self.started_at


@dataclass(frozen=True)
class PageMaintenanceUpdate:
    """A step a maintenance window has reached: scheduled, in progress, completed."""

    id: str
    status: MaintenanceStatus
    body: str
    created_at: datetime  # when it was reached


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
    # When it was scheduled, as far as the data shows: the config naming it was written
    # by then (its file's time), and never later than its start.
    created_at: datetime
    updates: tuple[PageMaintenanceUpdate, ...]  # the steps reached by now, oldest first

    @property
    def updated_at(self) -> datetime:
        return self.updates[-1].created_at


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
    # The latest change the page shows (a component's status, an incident's or a window's
    # update): the JSON's page.updated_at, which stays put while nothing changes.
    updated_at: datetime
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


@dataclass(frozen=True)
class Edges:
    """The slice edges a snapshot counts states before, for all components in one search
    (`counts_before`): the start of each day not kept from the last snapshot and the end
    of the last day, each uptime window's start, and the end of the ended slices.

    Named parts of one array: `split` hands each component's counts back by part.
    """

    days: np.ndarray  # edges of the days from `first_day` on, then the last day's end
    first_day: int  # the index (in the page's days) of days[0]
    windows: np.ndarray  # each uptime window's first slice
    ended: int  # the first slice not ended

    @cached_property
    def array(self) -> np.ndarray:
        return np.concatenate((self.days, self.windows, [self.ended]))

    def split(self, counted: np.ndarray, from_day: int) -> tuple[np.ndarray, np.ndarray]:
        """One component's counts (`counts_before` row: edges x states) as the state counts
        of each day from `from_day` on, and of each uptime window up to `ended`."""
        days = counted[from_day - self.first_day : len(self.days)]
        windows = counted[len(self.days) : len(self.days) + len(self.windows)]
        return np.diff(days, axis=0), counted[-1] - windows


@dataclass(eq=False)
class Cluster:
    """One component's outages that are one incident: fewer than `incident_merge` of
    GOOD slices apart. Published once one of them lasted `incident_after` (`qualified`)."""

    component: int  # index in the page's components
    outages: tuple[Outage, ...]
    qualified: int | None  # the slice in which an outage reached incident_after
    closed: int | None  # the slice after which it is resolved (incident_merge of GOOD)

    @property
    def first(self) -> int:
        return self.outages[0].first

    @property
    def failing_until(self) -> int | None:
        """The slice its last outage ended at (answering again); None: still failing."""
        return self.outages[-1].end


@dataclass
class Kept:
    """What a builder keeps between snapshots, each part bounded by the history."""

    runs: list[Runs] = field(default_factory=list)  # each component's slice states
    scopes: list[Runs] = field(default_factory=list)  # each component's scope codes
    final: int = 0  # epoch slice: states before it are kept, not re-read
    # Each component's outages (`outage_table` rows as bytes), as last time, and clusters.
    clusters: list[tuple[bytes, list[Cluster]]] = field(default_factory=list)
    automatic: dict[tuple[Cluster, ...], PageIncident] = field(default_factory=dict)
    operator: list[PageIncident] = field(default_factory=list)
    sorted: list[tuple[PageIncident, datetime]] = field(default_factory=list)
    shown: tuple[PageIncident, ...] = ()
    shown_until: datetime = _DAWN  # computed again after it
    day_bars: dict[tuple[object, ...], DayBar] = field(default_factory=dict)  # by day, counts
    # Each component's bars of days that ended before the final slices: (first, bars).
    final_bars: dict[str, tuple[date, tuple[DayBar, ...]]] = field(default_factory=dict)


class StatusBuilder:
    """Computes snapshots; keeps each component's finished slices between calls.

    Thread-safe: `run`'s site refresher and notifier share one (calls take turns).
    `config_written`: when the config file was written, the latest a maintenance window
    in it can have been scheduled (unknown: the window's start).
    """

    def __init__(
        self, config: Config, store: Store, *, config_written: datetime | None = None
    ) -> None:
        self._config = config
        self._store = store
        self._written = config_written
        self._components = config.status_components()
        self._groups = config.component_targets()
        self._targets = {t.name: t for t in config.targets}
        self._inputs = EngineInputs.of(config)
        self._specs = {t.name: t for t in self._inputs.targets}
        self._policy = self._inputs.policy
        self._zone = ZoneInfo(config.status_timezone)
        self._slice = self._policy.slice_seconds
        page = config.status_page
        refresh = page.refresh if page is not None else 60.0
        after = page.incident_after if page is not None else 180.0
        merge = page.incident_merge if page is not None else 600.0
        # A status shows once it held for two refreshes or two slices, the longer.
        self._hold = max(2, math.ceil(2 * refresh / self._slice))
        self._after = max(1, math.ceil(after / self._slice))  # BAD slices to publish
        self._merge = math.ceil(merge / self._slice)  # GOOD slices that keep runs apart
        self._merge_time = timedelta(seconds=merge)
        self._families = [
            tuple(f for f in FAMILIES if any(f in self._specs[n].families for n in targets))
            for targets in self._groups
        ]
        self._names = [component.name for component in self._components]
        self._kept = Kept()
        self._lock = threading.Lock()

    @property
    def history_days(self) -> int:
        page = self._config.status_page
        return page.history_days if page is not None else 90

    def snapshot(self, now: datetime) -> StatusSnapshot:
        with self._lock:
            return self._snapshot(now)

    def kept_sizes(self) -> dict[str, int]:
        """How much the builder keeps between snapshots (a test holds it bounded)."""
        kept = self._kept
        return {
            "slices": max((runs.end - runs.first for runs in kept.runs + kept.scopes), default=0),
            "runs": sum(len(runs.starts) for runs in kept.runs + kept.scopes),
            "outages": sum(len(c.outages) for _, found in kept.clusters for c in found),
            "automatic": len(kept.automatic),
            "incidents": len(kept.sorted),
            "day_bars": len(kept.day_bars),
            "final_bars": sum(len(bars) for _, bars in kept.final_bars.values()),
        }

    def _snapshot(self, now: datetime) -> StatusSnapshot:
        days = self._days(now)
        origin = self._origin(now)
        self._update(now, origin)
        kept = self._kept
        floor = self._midnight(origin)  # as far back as the data the page shows goes
        ended = slice_index(epoch_us(now), self._slice)
        day_edges = [slice_at_or_after(self._midnight(day), self._slice) for day in days]
        day_edges.append(
            slice_at_or_after(self._midnight(days[-1] + timedelta(days=1)), self._slice)
        )
        windows = [
            *UPTIME_WINDOWS,
            (timedelta(days=self.history_days), f"{self.history_days} days"),
        ]
        # Days that ended before the slices re-read (the final ones) are as last time.
        final_days = int(np.searchsorted(day_edges[1:], kept.final, "right"))
        kept_bars = [self._kept_bars(component.slug, days[0]) for component in self._components]
        skip = min((len(bars) for bars in kept_bars), default=0)
        edges = Edges(
            days=np.array(day_edges[skip:], np.int64),
            first_day=skip,
            windows=np.array([slice_at_or_after(now - span, self._slice) for span, _ in windows]),
            ended=ended,
        )
        counted = counts_before(kept.runs, edges.array)
        maintenances = self._maintenances(now, floor)
        operator = self._operator_incidents()
        incidents = self._incidents(now, operator)
        open_operator = [i for i in operator if not i.resolved]
        resolved_operator = [i for i in operator if i.resolved]
        held = held_codes(
            [scope.starts for scope in kept.scopes],
            [scope.states for scope in kept.scopes],
            [scope.end for scope in kept.scopes],
            self._hold,
        )
        bars_kept, kept.day_bars = kept.day_bars, {}
        components = []
        for position, (component, targets, bars_before, counts, shown) in enumerate(
            zip(self._components, self._groups, kept_bars, counted, held, strict=True), start=1
        ):
            day_counts, window_counts = edges.split(counts, len(bars_before))
            bars = bars_before + tuple(
                self._bar(day, day_state_counts, bars_kept)
                for day, day_state_counts in zip(
                    days[len(bars_before) :], day_counts.tolist(), strict=True
                )
            )
            kept.final_bars[component.slug] = (days[0], bars[:final_days])
            uptime = tuple(
                Uptime(label, _figures(counts))
                for (_, label), counts in zip(windows, window_counts.tolist(), strict=True)
            )
            components.append(
                self._component(
                    position,
                    component,
                    targets,
                    bars=bars,
                    uptime=uptime,
                    shown=shown.code,
                    since=slice_start(shown.since, self._slice),
                    now=now,
                    floor=floor,
                    maintenances=maintenances,
                    operator=open_operator,
                    resolved_operator=resolved_operator,
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
                since=floor,
            )
        in_progress = any(m.status == MaintenanceStatus.IN_PROGRESS for m in maintenances)
        overall = indicator(
            (c.status for c in components),
            (i.impact for i in incidents if not i.resolved),
            maintenance=in_progress,
        )
        changes = [c.updated_at for c in components]
        changes += [i.updated_at for i in incidents]
        changes += [m.updated_at for m in maintenances]
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
            updated_at=min(max(changes, default=floor), now),
            subscriptions=page.subscriptions if page is not None else None,
        )

    # --- slices ----------------------------------------------------------------------

    def _days(self, now: datetime) -> list[date]:
        today = now.astimezone(self._zone).date()
        return [today - timedelta(days=n) for n in range(self.history_days - 1, -1, -1)]

    def _origin(self, now: datetime) -> date:
        """The first day whose slices are kept: the history's and the 30 days' uptime."""
        return now.astimezone(self._zone).date() - timedelta(days=max(self.history_days, KEPT_DAYS))

    def _bar(self, day: date, counts: list[int], kept: dict[tuple[object, ...], DayBar]) -> DayBar:
        """The same DayBar object as the last snapshot's for the same day and counts.

        Finished days do not change between refreshes: the site renders a component's
        past bars again only when one of these objects did.
        """
        key = (day, *counts)
        bar = kept.get(key) or self._kept.day_bars.get(key)
        if bar is None:
            figures = _figures(counts)
            bar = DayBar(day, figures, figures.bad * self._slice / 60)
        self._kept.day_bars[key] = bar
        return bar

    def _kept_bars(self, component: str, first_day: date) -> tuple[DayBar, ...]:
        """The component's bars of final days, from `first_day` on."""
        first, bars = self._kept.final_bars.get(component, (first_day, ()))
        return bars[(first_day - first).days :] if first <= first_day else ()

    def _midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(), self._zone).astimezone(UTC)

    def _update(self, now: datetime, origin: date) -> None:
        """Re-read the slices not final yet (all of them the first time); let go of the
        slices before the history's start."""
        kept = self._kept
        origin_slice = slice_at_or_after(self._midnight(origin), self._slice)
        start_slice = max(origin_slice, kept.final) if kept.runs else origin_slice
        start = slice_start(start_slice, self._slice)
        fresh = component_states(self._inputs, self._store, self._groups, start=start, now=now)
        empty = Runs.of(start_slice, np.empty(0, np.int8))
        old_runs = kept.runs or [empty] * len(self._groups)
        old_scopes = kept.scopes or [empty] * len(self._groups)
        runs, scopes = [], []
        # One component at a time: ninety days of slices of a thousand components are
        # never in memory at once, only their runs.
        for old, old_scope, new in zip(old_runs, old_scopes, fresh, strict=True):
            runs.append(self._joined(old, origin_slice, start_slice, new.first_slice, new.states))
            scopes.append(
                self._joined(old_scope, origin_slice, start_slice, new.first_slice, new.scope)
            )
        kept.runs, kept.scopes = runs, scopes
        ended = slice_index(epoch_us(now), self._slice)
        kept.final = max(start_slice, ended - int(TAIL.total_seconds()) // self._slice)

    @staticmethod
    def _joined(old: Runs, origin: int, start: int, first: int, states: np.ndarray) -> Runs:
        """The kept runs from the history's start to `start`, then the slices re-read."""
        return old.after(origin).before(start).then(Runs.of(first, states))

    # --- components ------------------------------------------------------------------

    def _component(
        self,
        position: int,
        component: StatusComponent,
        targets: Sequence[str],
        *,
        bars: tuple[DayBar, ...],
        uptime: tuple[Uptime, ...],
        shown: int,
        since: datetime,
        now: datetime,
        floor: datetime,
        maintenances: tuple[PageMaintenance, ...],
        operator: list[PageIncident],
        resolved_operator: list[PageIncident],
    ) -> ComponentState:
        scope = SCOPES[shown]
        configured = self._families[position - 1]
        covering = [
            m
            for m in maintenances
            if targets and all(covers_target(m.window, self._specs[name]) for name in targets)
        ]
        in_maintenance = any(m.status == MaintenanceStatus.IN_PROGRESS for m in covering)
        degraded, degraded_since = self._degraded(targets, now)
        measured = scope.status
        if in_maintenance:
            measured = ComponentStatus.UNDER_MAINTENANCE
        elif degraded and measured == ComponentStatus.OPERATIONAL:
            measured = ComponentStatus.DEGRADED_PERFORMANCE
        setting = [
            (incident, status)
            for incident in operator
            for component_id, status in incident.component_statuses
            if component_id == component.slug
        ]
        operator_status = worst(s for _, s in setting) if setting else None
        status = worst([measured, operator_status or measured])
        settings = [  # every operator setting of this component, open or not: (from, to)
            (i.started_at, i.resolved_at or _FOREVER, s)
            for i in [*operator, *resolved_operator]
            for component_id, s in i.component_statuses
            if component_id == component.slug
        ]
        changed = since
        if covering or settings or degraded_since is not None:
            changed = _last_change(
                now,
                since=since,
                measured=scope.status,
                degraded=degraded,
                degraded_since=degraded_since,
                windows=[(m.scheduled_for, m.scheduled_until) for m in covering],
                operator=settings,
            )
        return ComponentState(
            id=component.slug,
            name=component.name,
            description=component.description,
            group=component.group,
            position=position,
            status=status,
            monitored=scope.monitored,
            failing_families=scope.failing_families,
            healthy_families=scope.healthy_families,
            unmonitored_families=tuple(
                f for f in configured if f not in scope.failing_families + scope.healthy_families
            ),
            bars=bars,
            uptime=uptime,
            measured_status=measured,
            operator_status=operator_status,
            updated_at=max(min(changed, now), floor),
            created_at=floor,
        )

    def _degraded(self, targets: Sequence[str], now: datetime) -> tuple[bool, datetime | None]:
        """Whether a target's median latency over its last answered probes is above its
        degraded_latency, held like a measured status; and since when (None: not within
        the last hour, the slices a refresh re-reads).

        Judged at the end of each slice of the last hour: the status takes the latest
        value that held for `hold` slices in a row, as the probes' status does.
        """
        chosen = [self._targets[n] for n in targets if self._targets[n].degraded_latency]
        if not chosen:
            return False, None
        ended = slice_index(epoch_us(now), self._slice)
        reach_slices = max(int(TAIL.total_seconds()) // self._slice, 2 * self._hold)
        points = [slice_start(ended - n, self._slice) for n in range(reach_slices, -1, -1)]
        flags = [False] * len(points)
        for target in chosen:
            assert target.degraded_latency is not None
            reach = timedelta(seconds=target.interval * (LATENCY_PROBES + 2))
            answers = self._store.answered_latencies(target.name, points[0] - reach, points[-1])
            starts = [started for started, _ in answers]
            for n, point in enumerate(points):
                high = bisect_left(starts, epoch_us(point))
                low = max(bisect_left(starts, epoch_us(point - reach)), high - LATENCY_PROBES)
                recent = [ms for _, ms in answers[low:high]]
                if recent and median(recent) > target.degraded_latency * 1000:
                    flags[n] = True
        # The flags as runs of two codes, held as scope codes are: 0 fast, 1 slow.
        array = np.array(flags, np.int8)
        heads = np.flatnonzero(np.diff(array, prepend=-1))
        (held,) = held_codes([heads.astype(np.int64)], [array[heads]], [len(flags)], self._hold)
        shown, began = bool(held.code), (held.since or None)
        return shown, None if began is None else points[began]

    # --- incidents and maintenance ---------------------------------------------------

    def _operator_incidents(self) -> list[PageIncident]:
        ids = {c.name: c.slug for c in self._components}
        found = [self._from_store(stored, ids) for stored in self._store.operator_incidents()]
        if found == self._kept.operator:
            return self._kept.operator  # the same objects: nothing to sort again
        return found

    def _from_store(self, stored: StoredIncident, ids: dict[str, str]) -> PageIncident:
        updates = tuple(
            PageIncidentUpdate(u.id, IncidentStatus(u.status), u.message, u.created)
            for u in stored.updates
        )
        resolved = next(
            (u.created_at for u in reversed(updates) if u.status == IncidentStatus.RESOLVED), None
        )
        if updates and updates[-1].status not in RESOLVED_STATUSES:
            resolved = None
        return PageIncident(
            id=stored.id,
            name=stored.title,
            impact=Impact(stored.impact),
            automatic=False,
            components=tuple(ids[name] for name in stored.components if name in ids),
            started_at=stored.created,
            updates=updates,
            families=(),
            component_statuses=tuple(
                (ids[name], ComponentStatus(status))
                for name, status in stored.component_statuses
                if name in ids
            ),
            shortlink=self._shortlink(stored.id),
            ended_at=resolved,
        )

    def _shortlink(self, incident_id: str) -> str:
        page = self._config.status_page
        return wording.page_link(page.url if page else None, wording.incident_path(incident_id))

    def _incidents(self, now: datetime, operator: list[PageIncident]) -> tuple[PageIncident, ...]:
        """Automatic and operator incidents, newest first; those resolved before the
        history's start are left out. Sorted again only when one of them changed."""
        kept = self._kept
        clusters: list[tuple[bytes, list[Cluster]]] = []
        changed = False
        for number, (runs, table) in enumerate(
            zip(kept.runs, outage_table(kept.runs), strict=True)
        ):
            # GOOD slices after an outage matter up to incident_merge (then it is closed):
            # capped, the outages of a quiet component read the same every refresh.
            np.minimum(table[:, 3], max(self._merge, 1), out=table[:, 3])
            signature = table.tobytes()  # the outages as they are: compared in C
            before = kept.clusters[number] if number < len(kept.clusters) else (b"", [])
            if signature == before[0]:
                clusters.append(before)
                continue
            changed = True
            known = {(c.outages, c.qualified, c.closed): c for c in before[1]}
            found = [  # an unchanged cluster is the same object: its incident is kept
                known.get((cluster.outages, cluster.qualified, cluster.closed), cluster)
                for cluster in self._clusters(number, runs, outages_of(table))
            ]
            clusters.append((signature, found))
        kept.clusters = clusters
        automatic = kept.automatic
        if changed:
            automatic = {}
            published = (c for _, found in clusters for c in found if c.qualified is not None)
            for group in _overlapping(published):
                key = tuple(group)  # the clusters themselves (by identity): kept alive
                automatic[key] = kept.automatic.get(key) or self._automatic(group)
        horizon = now - timedelta(days=self.history_days)
        if automatic is not kept.automatic or operator is not kept.operator:
            found_incidents = sorted(
                [*automatic.values(), *operator], key=lambda i: (i.started_at, i.id), reverse=True
            )
            ends = [
                (i.resolved_at or i.updated_at) if i.resolved else _FOREVER for i in found_incidents
            ]
            kept.sorted = list(zip(found_incidents, ends, strict=True))
            kept.shown_until = _DAWN
        if horizon > kept.shown_until:  # the history's start passed the oldest end shown
            kept.sorted = [(i, end) for i, end in kept.sorted if end >= horizon]
            kept.shown = tuple(i for i, _ in kept.sorted)
            kept.shown_until = min((end for _, end in kept.sorted), default=_FOREVER)
        kept.automatic, kept.operator = automatic, operator
        return kept.shown

    def _clusters(self, number: int, runs: Runs, outages: list[Outage]) -> list[Cluster]:
        """A component's outages grouped into incidents (`incident_merge`), each with the
        slice it qualified in (`incident_after`) and the one it closed in."""
        groups: list[list[Outage]] = []
        for outage in outages:
            last = groups[-1][-1] if groups else None
            if last is not None and (last.end is None or last.good_after < self._merge):
                groups[-1].append(outage)
            else:
                groups.append([outage])
        found = []
        for group in groups:
            qualified = None
            for outage in group:
                if outage.bad >= self._after:
                    at = runs.nth(int(BAD), outage.first, self._after)
                    qualified = (
                        at
                        if qualified is None or (at is not None and at < qualified)
                        else qualified
                    )
            last = group[-1]
            closed = None
            needed = max(self._merge, 1)
            if last.end is not None and last.good_after >= needed:
                closed = runs.nth(int(GOOD), last.end, needed)
            found.append(Cluster(number, tuple(group), qualified, closed))
        return found

    def _automatic(self, group: Sequence[Cluster]) -> PageIncident:
        """The incident of overlapping published clusters of one or more components.

        Its id comes from the cluster published first (its component and first slice),
        so it stays the same while others join: derived from the data, nothing stored.
        """
        group = sorted(group, key=lambda c: c.component)
        leader = min(group, key=lambda c: (c.qualified, c.component))
        component_ids = tuple(self._components[c.component].slug for c in group)
        names = [self._names[c.component] for c in group]
        incident_id = f"auto-{component_ids[group.index(leader)]}-{self._seconds(leader.first)}"
        codes = np.concatenate(
            [
                self._kept.scopes[c.component].codes_over(
                    [(o.first, o.end if o.end is not None else _NEVER) for o in c.outages]
                )
                for c in group
            ]
        )
        bits = int(np.bitwise_or.reduce(codes.astype(np.uint8), initial=0))
        families = tuple(f for f in FAMILIES if bits & FAILING[f])
        major = bool(MAJOR_CODES[codes].any())
        spans = _union(
            (o.first, o.end if o.end is not None else _NEVER) for c in group for o in c.outages
        )
        first = spans[0][0]
        started = slice_start(first, self._slice)
        updates = [
            PageIncidentUpdate(
                f"{incident_id}-start",
                IncidentStatus.INVESTIGATING,
                wording.incident_opened(names, families),
                started,
            )
        ]
        for number, (low, high) in enumerate(spans):
            if number:
                updates.append(
                    PageIncidentUpdate(
                        f"{incident_id}-{self._seconds(low)}",
                        IncidentStatus.INVESTIGATING,
                        wording.incident_failing_again(names),
                        slice_start(low, self._slice),
                    )
                )
            if high is _NEVER:
                continue
            updates.append(
                PageIncidentUpdate(
                    f"{incident_id}-{self._seconds(high)}",
                    IncidentStatus.MONITORING,
                    wording.incident_recovering(
                        names,
                        self._span(first, high),
                        self._merge_time if self._merge else timedelta(),
                    ),
                    slice_start(high, self._slice),
                )
            )
        last_end = spans[-1][1]
        ended = None if last_end is _NEVER else slice_start(last_end, self._slice)
        if ended is not None and all(c.closed is not None for c in group):
            closed = max(c.closed for c in group if c.closed is not None)
            updates.append(
                PageIncidentUpdate(
                    f"{incident_id}-end",
                    IncidentStatus.RESOLVED,
                    wording.incident_resolved(names, self._span(first, last_end)),
                    slice_start(closed + 1, self._slice),
                )
            )
        return PageIncident(
            id=incident_id,
            name=wording.incident_title(names, families),
            impact=Impact.MAJOR if major else Impact.MINOR,
            automatic=True,
            components=component_ids,
            started_at=started,
            updates=tuple(updates),
            families=families,
            component_statuses=(),
            shortlink=self._shortlink(incident_id),
            ended_at=ended,
        )

    def _seconds(self, slice_number: int) -> int:
        return slice_number * self._slice

    def _span(self, first: int, end: int) -> timedelta:
        return timedelta(seconds=(end - first) * self._slice)

    def _maintenances(self, now: datetime, floor: datetime) -> tuple[PageMaintenance, ...]:
        found = []
        windows = zip(self._config.maintenance, self._inputs.maintenance, strict=True)
        for window in (window for settings, window in windows if settings.public):
            touched = tuple(
                component.slug
                for component, targets in zip(self._components, self._groups, strict=True)
                if any(covers_target(window, self._specs[name]) for name in targets)
            )
            start, end = window.start.astimezone(UTC), window.end.astimezone(UTC)
            name = window.reason or "Scheduled maintenance"
            window_id = maintenance_id(window)
            scheduled = min(start, self._written or floor, now)
            steps = [
                (MaintenanceStatus.SCHEDULED, wording.maintenance_scheduled(name), scheduled),
                (MaintenanceStatus.IN_PROGRESS, wording.maintenance_started(name), start),
                (MaintenanceStatus.COMPLETED, wording.maintenance_completed(name), end),
            ]
            updates = tuple(
                PageMaintenanceUpdate(f"{window_id}-{status}", status, body, at)
                for status, body, at in steps
                if at <= now
            )
            found.append(
                PageMaintenance(
                    id=window_id,
                    name=name,
                    status=updates[-1].status,
                    scheduled_for=start,
                    scheduled_until=end,
                    components=touched,
                    window=window,
                    created_at=scheduled,
                    updates=updates,
                )
            )
        return tuple(sorted(found, key=lambda m: (m.scheduled_for, m.id)))


_NEVER = 2**62  # the end of an outage still going on, as a slice


def _figures(counts: Iterable[int]) -> Figures:
    """NO_DATA is never counted on the page, whatever `sla.no_data` says."""
    return Figures.from_counts(counts, "exclude")


def _overlapping(clusters: Iterable[Cluster]) -> list[list[Cluster]]:
    """Published clusters whose failing spans overlap, of any components, together."""
    ordered = sorted(clusters, key=lambda c: (c.first, c.component))
    groups: list[list[Cluster]] = []
    reach = -1
    for cluster in ordered:
        until = cluster.failing_until
        end = _NEVER if until is None else until
        if groups and cluster.first < reach:
            groups[-1].append(cluster)
            reach = max(reach, end)
        else:
            groups.append([cluster])
            reach = end
    return groups


def _union(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """[first, end) spans joined where they overlap or touch, in order."""
    joined: list[tuple[int, int]] = []
    for low, high in sorted(spans):
        if joined and low <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(joined[-1][1], high))
        else:
            joined.append((low, high))
    return joined


_UNKNOWN = "unknown"  # a status before the data the page shows: different from any


def _last_change(
    now: datetime,
    *,
    since: datetime,
    measured: ComponentStatus,
    degraded: bool,
    degraded_since: datetime | None,
    windows: list[tuple[datetime, datetime]],
    operator: list[tuple[datetime, datetime, ComponentStatus]],
) -> datetime:
    """When a component's shown status last changed: the latest of the moments something
    it depends on changed (its held probe status, a covering window, an operator setting,
    its latency) at which the status shown just after differs from the one just before."""

    def status_at(moment: datetime) -> str:
        base: str = measured if moment >= since else _UNKNOWN
        if any(start <= moment < end for start, end in windows):
            base = ComponentStatus.UNDER_MAINTENANCE
        elif base == ComponentStatus.OPERATIONAL:
            slow = degraded if degraded_since is None or moment >= degraded_since else not degraded
            if slow:
                base = ComponentStatus.DEGRADED_PERFORMANCE
        set_to = [s for start, end, s in operator if start <= moment < end]
        if not set_to:
            return base
        chosen = worst(set_to)
        if base == _UNKNOWN:
            return chosen if chosen == COMPONENT_SEVERITY[-1] else _UNKNOWN
        return worst([ComponentStatus(base), chosen])

    moments = {since, *(m for w in windows for m in w)}
    moments.update(m for start, end, _ in operator for m in (start, end))
    if degraded_since is not None:
        moments.add(degraded_since)
    tick = timedelta(microseconds=1)
    for moment in sorted((m for m in moments if m <= now), reverse=True):
        if status_at(moment) != status_at(moment - tick):
            return moment
    return since
