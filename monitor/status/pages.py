"""The status site's documents from a StatusSnapshot: HTML, SVG badges and the Atom feed.

Every document comes from a Jinja2 template (docs/status-page.md, "How the site is made"),
one environment for HTML, SVG and Atom: autoescaping, and every expression passed through
`printable` (what XML 1.0 cannot hold dropped, `monitor.text.escape.xml`), so no name or
message can break a page or the feed; the feed's titles are single lines. Nothing is
spliced into rendered text afterwards: a page is rendered from parts that are themselves
rendered by templates.

A refresh re-renders only what changed. The parts are asked of `SlotMemo`s, each the last
output of a pure function per slot (a component, an incident, a month), BEFORE any page
template runs; the page templates then join finished parts. The history (month pages,
incident pages, the feed's entries) is one memo over the snapshot's incidents and
maintenance: while the builder hands the same incidents, none of it is touched.

Pages `status.js` updates in place carry regions (`data-live`, `data-v`: a digest of the
region's HTML) and the page's version (a digest of its regions'); `live.json` lists the
versions of the pages that can change, so a browser fetches a page only when it changed
and swaps only the regions that did.
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from fractions import Fraction
from functools import cached_property, partial
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, Template
from markupsafe import Markup

from monitor.errors import MonitorError
from monitor.status import wording
from monitor.status.memo import SlotMemo
from monitor.status.state import (
    ComponentState,
    DayBar,
    PageIncident,
    PageMaintenance,
    StatusSnapshot,
)
from monitor.text.escape import single_line, xml
from sla.timestamps import duration_text, page_day, page_time, rfc3339
from sla.vocabulary import (
    COMPONENT_STATUS_TEXT,
    FAMILY_NAMES,
    MAINTENANCE_STATUS_TEXT,
    ComponentStatus,
    Impact,
    IncidentStatus,
    MaintenanceStatus,
)

# RFC 3339 UTC, to the second: what the JSON, the feed and the pages' <time> carry.
iso = partial(rfc3339, timespec="seconds")

FEED_LIMIT = 200  # newest entries in history.atom
HISTORY_MONTHS = 3  # history.html: the current month and the two before
BADGE_COLOURS = {
    ComponentStatus.OPERATIONAL: "#146c3a",
    ComponentStatus.DEGRADED_PERFORMANCE: "#8a5a00",
    ComponentStatus.PARTIAL_OUTAGE: "#8a5a00",
    ComponentStatus.MAJOR_OUTAGE: "#b42318",
    ComponentStatus.UNDER_MAINTENANCE: "#1f5fae",
}
NO_DATA_COLOUR = "#5b6578"
IMPACT_TEXT = {
    Impact.NONE: "No impact",
    Impact.MINOR: "Minor impact",
    Impact.MAJOR: "Major impact",
    Impact.CRITICAL: "Critical impact",
    Impact.MAINTENANCE: "Maintenance",
}
INCIDENT_STATUS_TEXT = {status: status.value.capitalize() for status in IncidentStatus}
TEMPLATES = (
    *("index", "history", "month_page", "incident_page"),  # pages
    *("banner", "active", "scheduled", "component", "bars"),  # index.html's parts
    *("incident", "incident_card", "incident_detail", "month", "maintenance"),
)
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


class SiteError(MonitorError):
    """An id that cannot name a file of the site."""


def percent(value: Fraction | None) -> str:
    if value is None:
        return "no data"
    if value == 100:
        return "100 %"
    return f"{min(float(value), 99.999):.3f} %"  # never round a bad day up to 100


def incident_path(incident_id: str) -> str:
    """`incidents/ID.html`: ids come from the data or the store, never from a path."""
    if not _SAFE_ID.fullmatch(incident_id):
        raise SiteError(f"incident id {incident_id!r} cannot name a page")
    return wording.incident_path(incident_id)


def month_path(month: str) -> str:
    return f"history/{month}.html"


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def month_label(month: str) -> str:
    year, number = month.split("-")
    return f"{date(int(year), int(number), 1):%B} {year}"


def history_start(now: datetime, zone: ZoneInfo, history_days: int) -> datetime:
    """The first midnight of the history's days (the first day bar's) in the page's zone."""
    first = date.fromordinal(now.astimezone(zone).date().toordinal() - history_days + 1)
    return datetime.combine(first, time(), zone)


def touched_months(now: datetime, zone: ZoneInfo, history_days: int) -> tuple[str, ...]:
    """The months (in the page's time zone) the history's days touch, oldest first."""
    today = now.astimezone(zone).date()
    first = date.fromordinal(today.toordinal() - history_days + 1)
    months = []
    year, month = first.year, first.month
    while (year, month) <= (today.year, today.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return tuple(months)


def month_of(moment: datetime, zone: ZoneInfo, months: Sequence[str]) -> str:
    """The month page that lists something that began at `moment`: its own month, or the
    first (last) month shown when it began before (after) the history."""
    key = month_key(moment.astimezone(zone).date())
    return min(max(key, months[0]), months[-1])


def split_months(
    incidents: tuple[PageIncident, ...], zone: ZoneInfo, months: Sequence[str]
) -> dict[str, tuple[PageIncident, ...]]:
    """Incidents (newest first) by the month page that lists them, as `month_of` decides,
    each month's a slice of `incidents`: one search a month, not a time zone an incident."""
    found: dict[str, tuple[PageIncident, ...]] = {}
    upper = 0
    for month in reversed(months[1:]):  # the newest takes what began after it too
        year, number = (int(part) for part in month.split("-"))
        first = datetime.combine(date(year, number, 1), time(), zone).timestamp()
        # Those that began at or after its first moment (newest first: keys ascend).
        cut = max(upper, bisect_right(incidents, -first, key=_newest_first))
        found[month] = incidents[upper:cut]
        upper = cut
    found[months[0]] = incidents[upper:]  # and the oldest what began before it
    return {month: found[month] for month in months}


def _newest_first(incident: PageIncident) -> float:
    return -incident.started_at.timestamp()


# --- the parts' inputs: everything a part shows, so equal inputs make equal HTML ------


@dataclass(frozen=True)
class Region:
    """A part of a page that `status.js` replaces alone, with a digest of its HTML."""

    key: str
    version: str
    html: Markup


def region(key: str, html: str) -> Region:
    return Region(key, _digest(html), Markup(html))


def page_version(regions: Iterable[Region]) -> str:
    return _digest("".join(f"{r.key}={r.version};" for r in regions))


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


@dataclass(frozen=True)
class BarView:
    css: str  # s-good, s-minor, s-bad, s-maint, s-none
    text: str  # "Mar 01, 2026: 99.931 % up, 1 minute down"


def bar_view(bar: DayBar) -> BarView:
    day = page_day(bar.day)
    figures = bar.figures
    if figures.eligible == 0:
        if figures.excluded:
            return BarView("s-maint", f"{day}: maintenance")
        return BarView("s-none", f"{day}: no data")
    if figures.bad == 0:
        return BarView("s-good", f"{day}: {percent(bar.availability)} up, no downtime")
    minutes = duration_text(bar.downtime_minutes * 60)
    css = "s-minor" if bar.availability >= 99 else "s-bad"  # type: ignore[operator]
    return BarView(css, f"{day}: {percent(bar.availability)} up, {minutes} down")


@dataclass(frozen=True)
class ComponentView:
    id: str
    name: str
    description: str | None
    status_class: str
    status_text: str
    family_text: str
    history_days: int
    past: Markup  # the bars of the days before today, rendered (a SlotMemo's)
    today: BarView
    uptime: tuple[tuple[str, str], ...]  # ("24 hours", "99.931 %"), ...


@dataclass(frozen=True)
class IncidentView:
    incident: PageIncident
    components: tuple[str, ...]  # the names of its components
    zone: str
    root: str  # "" or "../": where the page showing it is
    month: str  # its month page


@dataclass(frozen=True)
class MaintenanceView:
    maintenance: PageMaintenance
    components: tuple[str, ...]
    zone: str
    level: int  # its heading's level where it is shown


@dataclass(frozen=True)
class SectionInput:
    name: str  # "active" (incidents) or "maintenance"
    cards: tuple[Markup, ...]


@dataclass(frozen=True)
class MonthView:
    key: str
    root: str
    incidents: tuple[PageIncident, ...]  # the month's incidents, newest first
    maintenances: tuple[Markup, ...]
    context: Context


@dataclass(frozen=True)
class MonthPages:
    """A month's incident pages: (path, content, version) each."""

    pages: tuple[tuple[str, bytes, str], ...]


@dataclass(frozen=True)
class RecentInput:
    months: tuple[Region, ...]  # history.html's: the newest first
    all_months: tuple[str, ...]
    context: Context


@dataclass(frozen=True)
class History:
    """What the history memo makes of the incidents and maintenance."""

    files: dict[str, bytes]  # history.html, history/*.html, incidents/*.html
    live: dict[str, str]  # versions of its pages that can still change
    feed: tuple[FeedEntry, ...]


@dataclass(frozen=True)
class Context:
    """What every incident's card and page read besides the incident itself. The renderer
    keeps one object while it stays equal, so a part's input compares by identity."""

    title: str
    zone: str
    names: tuple[tuple[str, str], ...]  # (component id, name)

    @cached_property
    def _by_id(self) -> dict[str, str]:
        return dict(self.names)

    def component_names(self, ids: Iterable[str]) -> tuple[str, ...]:
        return tuple(self._by_id[i] for i in ids if i in self._by_id)


@dataclass(frozen=True)
class HistoryInput:
    context: Context
    history_days: int
    months: tuple[str, ...]
    horizon: datetime  # the history's first midnight: maintenance ended before is left out
    incidents: tuple[PageIncident, ...]  # newest first, as the snapshot has them
    maintenances: tuple[PageMaintenance, ...]


@dataclass(frozen=True)
class MonthPageInput:
    month: Region
    months: tuple[str, ...]
    context: Context


@dataclass(frozen=True)
class FeedEntry:
    updated: datetime
    key: str  # unique in the feed: its id's tail
    title: str
    body: str
    path: str  # the page it links to, from the site's root


@dataclass(frozen=True)
class FeedInput:
    title: str
    url: str | None
    entries: tuple[FeedEntry, ...]
    updated: datetime  # the newest entry's time, or the site's when there is none


@dataclass(frozen=True)
class BadgeInput:
    label: str
    value: str
    colour: str


# --- template helpers: pure functions only ---------------------------------------------


def when(moment: datetime, zone: str) -> str:
    return page_time(moment, ZoneInfo(zone))


def incident_duration(incident: PageIncident) -> str | None:
    """ "12 minutes" from its start to its end (an automatic one's: when it answered again,
    not when it was resolved `incident_merge` later); None while it goes on."""
    if incident.ended_at is None:
        return None
    return duration_text((incident.ended_at - incident.started_at).total_seconds())


def failing_text(incident: PageIncident) -> str:
    """What failed, when the monitoring knows: "IPv6 requests", "All requests"."""
    families = incident.families
    if families and len(families) < len(FAMILY_NAMES):
        return " and ".join(FAMILY_NAMES[f] for f in families) + " requests"
    if not incident.automatic:
        return ""
    return "Some requests" if incident.impact == Impact.MINOR else "All requests"


def status_text(component: ComponentState) -> str:
    if not component.monitored and component.status == ComponentStatus.OPERATIONAL:
        return "Not monitored"
    text = COMPONENT_STATUS_TEXT[component.status]
    if component.status == ComponentStatus.PARTIAL_OUTAGE and component.failing_families:
        failing = " and ".join(FAMILY_NAMES[f] for f in component.failing_families)
        if set(component.failing_families) != set(component.healthy_families):
            return f"{text}: {failing} down"
    return text


def family_text(component: ComponentState) -> str:
    """ "IPv4: operational · IPv6: down" when the families differ, else nothing.

    A family this monitor cannot probe at all (every probe `local`, or none fresh) is
    "not monitored from here": the monitor's own network is never shown as the API down.
    """
    failing, healthy = set(component.failing_families), set(component.healthy_families)
    silent = set(component.unmonitored_families)
    families_differ = bool(failing) and failing != healthy and bool(healthy)
    if not families_differ and not (silent and (failing or healthy)):
        return ""
    parts = []
    for family, name in FAMILY_NAMES.items():
        if family in failing:
            parts.append(f"{name}: down" if family not in healthy else f"{name}: partly down")
        elif family in healthy:
            parts.append(f"{name}: operational")
        elif family in silent:
            parts.append(f"{name}: not monitored from here")
    return " · ".join(parts)


def maintenance_updates(m: PageMaintenance) -> list[tuple[MaintenanceStatus, str, datetime]]:
    """(status, body, time) of the steps the window has reached, oldest first: scheduled
    (when the config naming it was written, never in the future), in progress, completed."""
    return [(u.status, u.body, u.created_at) for u in m.updates]


def printable(value: object) -> object:
    """Every expression of the templates (their `finalize`): text without what XML 1.0
    cannot hold (`monitor.text.escape.xml`); autoescaping then escapes it, once. Markup
    (a part already rendered this way) and numbers pass unchanged."""
    if type(value) is str and not value.isprintable():  # a C check first: most text is
        return xml(value)
    return value


def _environment() -> Environment:
    """Autoescaping, and every expression through `printable` (control characters out).

    Templates are loaded once: they are the package's files, which do not change under
    a running process (with Jinja's default `auto_reload`, every `extends` and `include`
    checked the file's time again: a third of the cost of an incident's card and page).
    """
    env = Environment(
        loader=PackageLoader("monitor.status", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=printable,
        auto_reload=False,
    )
    env.globals.update(
        iso=iso,
        when=when,
        incident_path=incident_path,
        month_path=month_path,
        month_label=month_label,
        impact_text=IMPACT_TEXT,
        incident_status_text=INCIDENT_STATUS_TEXT,
        maintenance_text=MAINTENANCE_STATUS_TEXT,
        incident_duration=incident_duration,
        failing_text=failing_text,
    )
    return env


class PageRenderer:
    """Renders a snapshot's documents; keeps the last round's parts in its memos."""

    def __init__(self) -> None:
        env = _environment()
        t = env.get_template
        self._t: dict[str, Template] = {name: t(f"{name}.html") for name in TEMPLATES}
        self._badge = env.get_template("badge.svg")
        self._atom = env.get_template("history.atom")
        for template in (*self._t.values(), self._badge, self._atom):
            # Each render copies the globals into its context: from a plain dict in C,
            # from Jinja's ChainMap over the environment's key by key (12 % of a card).
            template.globals = dict(template.globals)
        self.strips: SlotMemo[str, tuple[DayBar, ...], Markup] = SlotMemo(self._strip)
        self.components: SlotMemo[str, ComponentView, Region] = SlotMemo(self._component)
        self.articles: SlotMemo[str, IncidentView, Markup] = SlotMemo(self._article)
        self.cards: SlotMemo[tuple[str, str], tuple[PageIncident, Context, str], Markup] = SlotMemo(
            self._card
        )
        self.incident_pages: SlotMemo[
            str, tuple[PageIncident, Context, str], tuple[str, bytes, str]
        ] = SlotMemo(self._incident_page)
        self.month_pages: SlotMemo[str, MonthPageInput, tuple[bytes, str]] = SlotMemo(
            self._month_page
        )
        self.incident_months: SlotMemo[
            str,
            tuple[tuple[PageIncident, ...], Context, str],
            tuple[dict[str, bytes], dict[str, str]],
        ] = SlotMemo(self._incident_month)
        self.recent: SlotMemo[str, RecentInput, tuple[bytes, str]] = SlotMemo(self._recent)
        self._context: Context | None = None
        self.maintenance_cards: SlotMemo[str, MaintenanceView, Markup] = SlotMemo(
            self._maintenance_card
        )
        self.months: SlotMemo[tuple[str, str], MonthView, Region] = SlotMemo(self._month)
        self.history: SlotMemo[str, HistoryInput, History] = SlotMemo(self._history)
        self.feed: SlotMemo[str, FeedInput, bytes] = SlotMemo(self._feed)
        self.badges: SlotMemo[str, BadgeInput, bytes] = SlotMemo(self._badge_svg)
        self.banners: SlotMemo[str, tuple[str, str], Region] = SlotMemo(self._banner)
        self.sections: SlotMemo[str, SectionInput, Region] = SlotMemo(self._section)
        # Asked every snapshot (a new round each); the history's own are asked only
        # when the history changed, and start their rounds there.
        self._per_snapshot: tuple[SlotMemo[Any, Any, Any], ...] = (
            *(self.strips, self.components, self.articles, self.maintenance_cards),
            *(self.banners, self.sections, self.history, self.feed, self.badges),
        )

    # --- the whole site's documents -----------------------------------------------------

    def documents(self, snapshot: StatusSnapshot) -> tuple[dict[str, bytes], dict[str, str]]:
        """Every HTML, SVG and Atom file by path, and the versions for live.json."""
        for memo in self._per_snapshot:
            memo.round()
        zone = ZoneInfo(snapshot.timezone)
        months = touched_months(snapshot.generated_at, zone, snapshot.history_days)
        history = self.history.get(
            "history",
            HistoryInput(
                context=self._same_context(snapshot),
                history_days=snapshot.history_days,
                months=months,
                horizon=history_start(snapshot.generated_at, zone, snapshot.history_days),
                incidents=snapshot.incidents,
                maintenances=snapshot.maintenances,
            ),
        )
        index, version = self._index(snapshot, months)
        files = {"index.html": index, **history.files}
        files["history.atom"] = self.feed.get(
            "feed",
            FeedInput(
                snapshot.title,
                snapshot.url,
                history.feed,
                history.feed[0].updated if history.feed else snapshot.generated_at,
            ),
        )
        files.update(self._badges(snapshot))
        return files, {"index.html": version, **history.live}

    def _same_context(self, snapshot: StatusSnapshot) -> Context:
        """The last snapshot's Context object when this one's is equal (one comparison
        here spares one per incident in the memos)."""
        context = Context(
            snapshot.title, snapshot.timezone, tuple((c.id, c.name) for c in snapshot.components)
        )
        if context != self._context:
            self._context = context
        assert self._context is not None
        return self._context

    def _badges(self, snapshot: StatusSnapshot) -> Iterable[tuple[str, bytes]]:
        for component in snapshot.components:
            status = component.status
            text = COMPONENT_STATUS_TEXT[status] if component.monitored else "Not monitored"
            colour = BADGE_COLOURS[status] if component.monitored else NO_DATA_COLOUR
            yield (
                f"badges/{component.id}.svg",
                self.badges.get(component.id, BadgeInput(component.name, text.lower(), colour)),
            )
            month = component.uptime[2].availability
            colour = NO_DATA_COLOUR if month is None else BADGE_COLOURS[_uptime_status(month)]
            yield (
                f"badges/{component.id}-uptime-30d.svg",
                self.badges.get(
                    f"{component.id} uptime",
                    BadgeInput(f"{component.name} uptime 30d", percent(month), colour),
                ),
            )

    # --- index.html ------------------------------------------------------------------

    def _index(self, snapshot: StatusSnapshot, months: tuple[str, ...]) -> tuple[bytes, str]:
        zone = ZoneInfo(snapshot.timezone)
        names = {c.id: c.name for c in snapshot.components}
        banner = self.banners.get("banner", (snapshot.indicator, snapshot.description))
        articles = tuple(
            self.articles.get(
                incident.id,
                IncidentView(
                    incident,
                    tuple(names[c] for c in incident.components if c in names),
                    snapshot.timezone,
                    "",
                    month_of(incident.started_at, zone, months),
                ),
            )
            for incident in snapshot.unresolved
        )
        active = self.sections.get("active", SectionInput("active", articles))
        shown = snapshot.maintenances_in(MaintenanceStatus.IN_PROGRESS) + (
            snapshot.maintenances_in(MaintenanceStatus.SCHEDULED)
        )
        cards = tuple(
            self.maintenance_cards.get(
                m.id,
                MaintenanceView(
                    m, tuple(names[c] for c in m.components if c in names), snapshot.timezone, 3
                ),
            )
            for m in shown
        )
        maintenance = self.sections.get("maintenance", SectionInput("maintenance", cards))
        groups: dict[str | None, list[Region]] = {}
        for component in snapshot.components:
            groups.setdefault(component.group, []).append(
                self._component_region(snapshot, component)
            )
        regions = [banner, active, maintenance, *(r for rs in groups.values() for r in rs)]
        version = page_version(regions)
        html = self._t["index"].render(
            banner=banner,
            active=active,
            maintenance=maintenance,
            groups=list(groups.items()),
            # "Subscribe to updates" (subscribe.html), posting to the service's origin only.
            subscriptions=snapshot.subscriptions,
            choices=snapshot.components,
            form_action=snapshot.subscriptions.origin if snapshot.subscriptions else None,
            **self._page(
                snapshot.title,
                snapshot.timezone,
                root="",
                path="index.html",
                nav="index",
                version=version,
                updated={
                    "iso": iso(snapshot.generated_at),
                    "text": when(snapshot.generated_at, snapshot.timezone),
                },
            ),
        )
        return html.encode(), version

    def _component_region(self, snapshot: StatusSnapshot, c: ComponentState) -> Region:
        past = self.strips.get(c.id, c.bars[:-1])
        view = ComponentView(
            id=c.id,
            name=c.name,
            description=c.description,
            status_class=c.status if c.monitored else "not_monitored",
            status_text=status_text(c),
            family_text=family_text(c),
            history_days=snapshot.history_days,
            past=past,
            today=bar_view(c.bars[-1]),
            uptime=tuple((u.label, percent(u.availability)) for u in c.uptime),
        )
        return self.components.get(c.id, view)

    def _banner(self, banner: tuple[str, str]) -> Region:
        indicator, description = banner
        html = self._t["banner"].render(indicator=indicator, description=description)
        return region("banner", html)

    def _section(self, section: SectionInput) -> Region:
        """The front page's active incidents or maintenance: a heading over cards, or
        nothing (the region stays, empty, for status.js to fill)."""
        template = self._t["active" if section.name == "active" else "scheduled"]
        return region(section.name, template.render(cards=section.cards))

    # --- the parts -------------------------------------------------------------------

    def _strip(self, bars: tuple[DayBar, ...]) -> Markup:
        return Markup(self._t["bars"].render(bars=[bar_view(b) for b in bars]))

    def _component(self, view: ComponentView) -> Region:
        return region(f"component-{view.id}", self._t["component"].render(c=view))

    def _article(self, view: IncidentView) -> Markup:
        return Markup(self._t["incident"].render(v=view, i=view.incident))

    def _card(self, card: tuple[PageIncident, Context, str]) -> Markup:
        incident, context, root = card
        view = IncidentView(
            incident, context.component_names(incident.components), context.zone, root, ""
        )
        return Markup(self._t["incident_card"].render(v=view, i=incident))

    def _maintenance_card(self, view: MaintenanceView) -> Markup:
        return Markup(self._t["maintenance"].render(v=view, m=view.maintenance))

    def _month(self, view: MonthView) -> Region:
        """A month of the history; its cards from `cards`, which keeps those of the
        months that did not change (pruned in _history)."""
        cards = (
            self.cards.get((i.id, view.root), (i, view.context, view.root)) for i in view.incidents
        )
        html = self._t["month"].render(
            v=view,
            label=month_label(view.key),
            incidents=Markup("".join(cards)),  # each a Markup already: str.join, in C
            maintenances=Markup("".join(view.maintenances)),
        )
        return region(f"month-{view.key}", html)

    def _incident_month(
        self, month: tuple[tuple[PageIncident, ...], Context, str]
    ) -> tuple[dict[str, bytes], dict[str, str]]:
        """The incident pages of a month by path, and their versions."""
        incidents, context, key = month
        pages, versions = {}, {}
        for incident in incidents:
            path, page, version = self.incident_pages.get(incident.id, (incident, context, key))
            pages[path] = page
            versions[path] = version
        return pages, versions

    def _recent(self, recent: RecentInput) -> tuple[bytes, str]:
        """history.html: this month and the two before."""
        context = recent.context
        version = page_version(recent.months)
        html = self._t["history"].render(
            months=recent.months, all_months=recent.all_months,
            **self._page(context.title, context.zone, root="", path="history.html",
                         nav="history", version=version),
        )  # fmt: skip
        return html.encode(), version

    def _incident_page(self, page: tuple[PageIncident, Context, str]) -> tuple[str, bytes, str]:
        """(path, content, version) of an incident's own page."""
        incident, context, month = page
        view = IncidentView(
            incident, context.component_names(incident.components), context.zone, "../", month
        )
        detail = self._t["incident_detail"].render(v=view, i=incident)
        content = region(f"incident-{incident.id}", detail)
        path = incident_path(incident.id)
        version = page_version([content])
        html = self._t["incident_page"].render(
            article=content, v=view, i=incident,
            **self._page(context.title, context.zone, root="../", path=path, nav="history",
                         version=version),
        )  # fmt: skip
        return path, html.encode(), version

    def _month_page(self, page: MonthPageInput) -> tuple[bytes, str]:
        months, key = page.months, page.month.key.removeprefix("month-")
        n = months.index(key)
        version = page_version([page.month])
        html = self._t["month_page"].render(
            month=page.month, key=key, label=month_label(key), all_months=months,
            before=months[n - 1] if n else None,
            after=months[n + 1] if n + 1 < len(months) else None,
            **self._page(page.context.title, page.context.zone, root="../",
                         path=month_path(key), nav="history", version=version),
        )  # fmt: skip
        return html.encode(), version

    def _badge_svg(self, badge: BadgeInput) -> bytes:
        def width(text: str) -> int:
            return 6 * len(text) + 14  # Verdana 11 px averages under 6.5 px a character

        return self._badge.render(
            label=badge.label,
            value=badge.value,
            colour=badge.colour,
            left_width=width(badge.label),
            right_width=width(badge.value),
        ).encode()

    # --- the history: month pages, incident pages, the feed's entries --------------------

    def _history(self, h: HistoryInput) -> History:
        """Month pages, incident pages and the feed's entries. Run only when the history
        changed; then each month is made again only when its incidents changed, and in it
        only the incidents that changed."""
        for memo in (self.months, self.month_pages, self.incident_months, self.recent):
            memo.round()  # only when the history changed: a hit keeps them as they were
        context = h.context
        zone = ZoneInfo(context.zone)
        by_month = split_months(h.incidents, zone, h.months)
        files: dict[str, bytes] = {}
        live: dict[str, str] = {}
        for month, incidents in by_month.items():
            pages, versions = self.incident_months.get(month, (incidents, context, month))
            files.update(pages)
            for incident in incidents:
                if not incident.resolved:  # its page can still change: status.js watches
                    path = incident_path(incident.id)
                    live[path] = versions[path]
        maintenances: dict[str, list[Markup]] = {m: [] for m in h.months}
        for m in reversed(h.maintenances):
            if m.scheduled_until >= h.horizon:
                card = self._maintenance_card(
                    MaintenanceView(m, context.component_names(m.components), context.zone, 4)
                )
                maintenances[month_of(m.scheduled_for, zone, h.months)].append(card)
        regions: dict[tuple[str, str], Region] = {}
        recent_months = h.months[-HISTORY_MONTHS:]
        for month in h.months:
            # Each month on its own page (under history/); history.html shows the last few.
            for root in ("", "../") if month in recent_months else ("../",):
                view = MonthView(month, root, by_month[month], tuple(maintenances[month]), context)
                regions[month, root] = self.months.get((month, root), view)
        # Asked only for the months that changed, these two are pruned instead of rounded:
        # at most a few times what the history shows.
        shown = {i.id for i in h.incidents}
        if len(self.cards) > 6 * len(shown) + 100:
            self.cards.retain(lambda slot: slot[0] in shown)
        if len(self.incident_pages) > 3 * len(shown) + 100:
            self.incident_pages.retain(lambda slot: slot in shown)
        for month in h.months:
            path = month_path(month)
            page, version = self.month_pages.get(
                month, MonthPageInput(regions[month, "../"], h.months, context)
            )
            files[path] = page
            if month == h.months[-1]:
                live[path] = version
        recent = tuple(regions[m, ""] for m in reversed(recent_months))
        files["history.html"], live["history.html"] = self.recent.get(
            "history.html", RecentInput(recent, h.months, context)
        )
        return History(files, live, _feed_entries(h, zone))

    def _feed(self, feed: FeedInput) -> bytes:
        return self._atom.render(
            title=single_line(feed.title),
            url=feed.url,
            updated=iso(feed.updated),
            entries=feed.entries,
            feed_id=partial(feed_id, feed.title, feed.url),
            link=partial(link, feed.url),
        ).encode()

    @staticmethod
    def _page(
        title: str,
        zone: str,
        *,
        root: str,
        path: str,
        nav: str,
        version: str,
        updated: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """What base.html shows around every page."""
        return {
            "title": title,
            "zone": zone,
            "root": root,
            "path": path,
            "nav": nav,
            "version": version,
            "updated": updated,
        }


def _uptime_status(availability: Fraction) -> ComponentStatus:
    if availability >= Fraction(9990, 100):
        return ComponentStatus.OPERATIONAL
    return ComponentStatus.PARTIAL_OUTAGE if availability >= 99 else ComponentStatus.MAJOR_OUTAGE


# --- links and the feed ---------------------------------------------------------------


link = wording.page_link  # a page of the site as the JSON and the feed name it


def maintenance_path(m: PageMaintenance, zone: ZoneInfo, months: Sequence[str]) -> str:
    return f"{month_path(month_of(m.scheduled_for, zone, months))}#maintenance-{m.id}"


def feed_id(title: str, url: str | None, key: str) -> str:
    """Entry ids never change once published (feed readers key on them)."""
    import uuid  # noqa: PLC0415 (only the feed needs it)

    if url:
        return f"{url}/history.html#{key}"
    return uuid.uuid5(uuid.NAMESPACE_URL, f"{title}/{key}").urn


def _feed_entries(h: HistoryInput, zone: ZoneInfo) -> tuple[FeedEntry, ...]:
    """One entry per incident update and per maintenance update, the newest FEED_LIMIT."""
    entries: list[FeedEntry] = []
    newest = [i for n, i in enumerate(h.incidents) if n < FEED_LIMIT or not i.resolved]
    for incident in newest:
        path = incident_path(incident.id)
        for update in incident.updates:
            entries.append(
                FeedEntry(
                    update.created_at,
                    f"incident-{incident.id}-{update.id}",
                    single_line(f"{incident.name}: {update.status}"),
                    update.body,
                    path,
                )
            )
    for m in h.maintenances:
        path = maintenance_path(m, zone, h.months)
        span = f"from {iso(m.scheduled_for)} to {iso(m.scheduled_until)}"
        for status, body, at in maintenance_updates(m):
            key = (
                f"maintenance-{m.id}"
                if status == MaintenanceStatus.SCHEDULED
                else (f"maintenance-{m.id}-{status}")
            )
            title = single_line(
                f"Maintenance: {m.name} ({MAINTENANCE_STATUS_TEXT[status].lower()})"
            )
            entries.append(FeedEntry(at, key, title, f"{body} Window {span}.", path))
    entries.sort(key=lambda e: (e.updated, e.key), reverse=True)
    return tuple(entries[:FEED_LIMIT])
