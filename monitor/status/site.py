"""The status site's files from a StatusSnapshot, written whole (docs/status-page.md).

HTML and SVG come from Jinja2 templates with autoescaping on (a component may be named
`<script>`); the JSON files use Atlassian Statuspage's v2 field names so its clients
work; the Atom feed is built with ElementTree, never from strings.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from monitor.config import history_link, slug
from monitor.errors import InputError
from monitor.outputs.folders import MARKER, mark
from monitor.status.state import (
    ComponentState,
    DayBar,
    PageIncident,
    PageMaintenance,
    StatusSnapshot,
)
from monitor.text.escape import single_line, xml
from sla.timestamps import page_day, page_time, rfc3339
from sla.vocabulary import (
    COMPONENT_SEVERITY,
    COMPONENT_STATUS_TEXT,
    FAMILY_NAMES,
    MAINTENANCE_STATUS_TEXT,
    ComponentStatus,
    Impact,
    MaintenanceStatus,
)

BADGE_COLOURS = {
    ComponentStatus.OPERATIONAL: "#1f9d55",
    ComponentStatus.DEGRADED_PERFORMANCE: "#b7791f",
    ComponentStatus.PARTIAL_OUTAGE: "#b7791f",
    ComponentStatus.MAJOR_OUTAGE: "#c53030",
    ComponentStatus.UNDER_MAINTENANCE: "#2b6cb0",
}
ATOM = "http://www.w3.org/2005/Atom"


# RFC 3339 UTC, to the second: what the JSON and the page's reload check compare.
iso = partial(rfc3339, timespec="seconds")


def percent(value: Fraction | None) -> str:
    if value is None:
        return "no data"
    if value == 100:
        return "100 %"
    return f"{min(float(value), 99.999):.3f} %"  # never round a bad day up to 100


LIST_LIMIT = 50  # incidents.json and scheduled-maintenances.json: Statuspage's "50 most recent"
FEED_LIMIT = 200  # newest entries in history.atom


class SiteRenderer:
    """Turns snapshots into site files; the templates are loaded once.

    An incident's card is rendered once per version of it (its updates) and kept: the
    history of a large page holds thousands of incidents that no refresh changes.
    """

    def __init__(self) -> None:
        self._env = Environment(
            loader=PackageLoader("monitor.status", "templates"),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._cards: dict[tuple[object, ...], Markup] = {}
        # Each component's past day bars (the builder's DayBar objects) and their HTML.
        self._strips: dict[str, tuple[tuple[DayBar, ...], str]] = {}
        self._badges: dict[tuple[str, str, str], bytes] = {}
        # Each component's HTML with markers for today's bar and its uptime, and the
        # uptime figures' HTML, as the last snapshot used them.
        self._frames: dict[tuple[object, ...], str] = {}
        self._uptimes: dict[tuple[tuple[str, str], ...], str] = {}
        self._token = uuid.uuid4().hex  # markers no escaped text can contain
        self._history_cards: dict[tuple[object, ...], Markup] = {}
        # The history's incidents, their card keys, and their cards joined.
        self._history: tuple[tuple[PageIncident, ...], list[tuple[object, ...]], Markup] = (
            (),
            [],
            Markup(),
        )

    def files(self, snapshot: StatusSnapshot) -> dict[str, bytes]:
        """Every file of the site by relative path."""
        files = {
            name: (resources.files("monitor.status") / "static" / name).read_bytes()
            for name in ("status.css", "status.js", "favicon.svg")
        }
        helpers = self._helpers(snapshot)
        for page in ("index", "history"):
            html = self._env.get_template(f"{page}.html").render(
                snapshot=snapshot, page=page, **helpers
            )
            files[f"{page}.html"] = html.encode()
        for name, document in api_documents(snapshot).items():
            # Compact, as Statuspage serves it (an indent would cost json its C encoder).
            files[f"api/v2/{name}"] = json.dumps(document).encode() + b"\n"
        files["history.atom"] = atom_feed(snapshot)
        for component in snapshot.components:
            status = component.status
            text = COMPONENT_STATUS_TEXT[status] if component.monitored else "not monitored"
            files[f"badges/{component.id}.svg"] = self._badge(
                "status", text.lower(), BADGE_COLOURS[status]
            )
            month = component.uptime[2].availability
            colour = "#9aa5b1" if month is None else BADGE_COLOURS[_uptime_status(month)]
            files[f"badges/{component.id}-uptime-30d.svg"] = self._badge(
                "uptime 30d", percent(month), colour
            )
        return files

    def _badge(self, label: str, value: str, colour: str) -> bytes:
        """Badges say one of a few things: each is rendered once."""
        key = (label, value, colour)
        if key not in self._badges:
            self._badges[key] = _badge(self._env.get_template("badge.svg"), *key)
        return self._badges[key]

    def _helpers(self, snapshot: StatusSnapshot) -> dict[str, Any]:
        zone = ZoneInfo(snapshot.timezone)
        names = {c.id: c.name for c in snapshot.components}
        horizon = snapshot.generated_at.timestamp() - snapshot.history_days * 86400

        def when(moment: datetime) -> str:
            return page_time(moment, zone)

        def bar_text(bar: DayBar) -> str:
            day = page_day(bar.day)
            figures = bar.figures
            if figures.eligible == 0:
                return f"{day}: maintenance" if figures.excluded else f"{day}: no data"
            down = f"{bar.downtime_minutes:g} minutes down" if figures.bad else "no downtime"
            return f"{day}: {percent(bar.availability)} up, {down}"

        def bar_item(bar: DayBar) -> str:
            text = escape(bar_text(bar))
            return (
                f'<li class="bar {_bar_class(bar)}" tabindex="0" title="{text}">'
                f'<span class="sr">{text}</span></li>'
            )

        strips: dict[str, tuple[tuple[DayBar, ...], str]] = {}
        kept_strips = self._strips

        def past_bars(component: ComponentState) -> str:
            """Past days' bars are rendered again only when one of them changed."""
            past = component.bars[:-1]
            kept = kept_strips.get(component.id)
            if kept is None or kept[0] != past:  # the same objects, mostly: a C loop
                kept = (past, "".join(map(bar_item, past)))
            strips[component.id] = kept
            return kept[1]

        self._strips = strips
        card = self._env.get_template("incident.html")
        cards: dict[tuple[object, ...], Markup] = {}
        previous = self._cards
        helpers: dict[str, Any] = {}

        def card_key(incident: PageIncident) -> tuple[object, ...]:
            last = incident.updates[-1]
            return (incident.id, len(incident.updates), last.id, last.status, incident.name,
                    incident.impact, incident.components)  # fmt: skip

        def incident_card(incident: PageIncident, key: tuple[object, ...] | None = None) -> Markup:
            key = key or card_key(incident)
            html = previous.get(key)
            if html is None:
                html = Markup(card.render(incident=incident, **helpers))
            cards[key] = html
            return html

        def incident_cards(incidents: Sequence[PageIncident]) -> Markup:
            """The history's cards, joined again only when one of them changed: the
            builder hands the same (frozen) objects for incidents it has seen before."""
            kept, keys, html = self._history
            if kept != tuple(incidents):  # the same objects, mostly: a C loop
                known = {id(incident): key for incident, key in zip(kept, keys, strict=True)}
                fresh = [known.get(id(i)) or card_key(i) for i in incidents]  # kept: alive
                if fresh != keys:
                    html = Markup("".join(map(incident_card, incidents, fresh)))  # all Markup
                keys = fresh
                self._history_cards = {key: cards.get(key) or previous[key] for key in keys}
            cards.update(self._history_cards)  # kept for the next snapshot's cards
            self._history = (tuple(incidents), keys, html)
            return html

        groups: dict[str | None, list[ComponentState]] = {}
        for component in snapshot.components:
            groups.setdefault(component.group, []).append(component)
        helpers.update(
            iso=iso,
            when=when,
            component_names=lambda ids: ", ".join(names[i] for i in ids if i in names),
        )
        self._cards = cards  # only the cards of this snapshot are kept for the next
        article = self._env.get_template("component.html")
        uptime_items = self._env.get_template("uptime.html")
        frames: dict[tuple[object, ...], str] = {}
        kept_frames, kept_uptimes = self._frames, self._uptimes
        uptimes: dict[tuple[tuple[str, str], ...], str] = {}
        today, window = (f"<!--{part}-{self._token}-->" for part in ("today", "uptime"))

        def component_article(c: ComponentState) -> Markup:
            """A component is rendered again only when its status or past bars changed;
            today's bar and the uptime figures (which change every few minutes) go into
            the kept HTML where their markers stand."""
            strip = past_bars(c)
            key = (c.id, c.name, c.description, c.status, c.monitored, c.failing_families,
                   c.healthy_families, c.unmonitored_families, strip,
                   snapshot.history_days)  # fmt: skip
            frame = kept_frames.get(key)
            if frame is None:
                marks = {"past_bars": strip, "today_bar": today, "uptime": window}
                marks = {name: Markup(html) for name, html in marks.items()}
                frame = article.render(c=c, snapshot=snapshot, **found, **marks)
            frames[key] = frame
            figures = tuple((u.label, percent(u.availability)) for u in c.uptime)
            items = kept_uptimes.get(figures) or uptimes.get(figures)
            if items is None:
                items = uptime_items.render(figures=figures)
            uptimes[figures] = items
            html = frame.replace(today, bar_item(c.bars[-1]), 1).replace(window, items, 1)
            return Markup(html)  # every part escaped where it was rendered

        self._frames, self._uptimes = frames, uptimes
        found: dict[str, Any] = {
            "component_article": component_article,
            "incident_card": incident_card,
            "incident_cards": incident_cards,
            "iso": iso,
            "when": when,
            "percent": percent,
            "status_text": _status_text,
            "status_class": lambda c: c.status if c.monitored else "not_monitored",
            "family_text": _family_text,
            "component_names": lambda ids: ", ".join(names[i] for i in ids if i in names),
            "maintenance_text": MAINTENANCE_STATUS_TEXT,
            "MaintenanceStatus": MaintenanceStatus,
            "grouped": list(groups.items()),
            "maintenances": [
                m
                for m in reversed(snapshot.maintenances)
                if m.scheduled_until.timestamp() >= horizon
            ],
        }
        return found


def _bar_class(bar: DayBar) -> str:
    figures = bar.figures
    if figures.eligible == 0:
        return "s-maint" if figures.excluded else "s-none"
    if figures.bad == 0:
        return "s-good"
    return "s-minor" if bar.availability >= 99 else "s-bad"  # type: ignore[operator]


def _status_text(component: ComponentState) -> str:
    if not component.monitored and component.status == ComponentStatus.OPERATIONAL:
        return "Not monitored"
    text = COMPONENT_STATUS_TEXT[component.status]
    if component.status == ComponentStatus.PARTIAL_OUTAGE and component.failing_families:
        failing = " and ".join(FAMILY_NAMES[f] for f in component.failing_families)
        if set(component.failing_families) != set(component.healthy_families):
            return f"{text}: {failing} down"
    return text


def _family_text(component: ComponentState) -> str:
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


def _uptime_status(availability: Fraction) -> ComponentStatus:
    if availability >= Fraction(9990, 100):
        return ComponentStatus.OPERATIONAL
    return ComponentStatus.PARTIAL_OUTAGE if availability >= 99 else ComponentStatus.MAJOR_OUTAGE


def _badge(template: Any, label: str, value: str, colour: str) -> bytes:
    def width(text: str) -> int:
        return 6 * len(text) + 14  # Verdana 11 px averages under 6.5 px a character

    label, value = xml(label), xml(value)  # SVG is XML: no control characters
    return template.render(
        label=label,
        value=value,
        colour=colour,
        left_width=width(label),
        right_width=width(value),
    ).encode()


# --- Statuspage v2 JSON ------------------------------------------------------------------


def page_id(snapshot: StatusSnapshot) -> str:
    key = snapshot.url or snapshot.title
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def api_documents(snapshot: StatusSnapshot) -> dict[str, dict[str, Any]]:
    """The api/v2 files, by path under api/v2/."""
    pid = page_id(snapshot)
    page = {
        "id": pid,
        "name": snapshot.title,
        "url": snapshot.url or "",
        "time_zone": snapshot.timezone,
        "updated_at": iso(snapshot.generated_at),
    }
    status = {"indicator": snapshot.indicator, "description": snapshot.description}
    components = _components(snapshot, pid)
    by_id = {c["id"]: c for c in components}

    def incidents(chosen: Iterable[PageIncident]) -> list[dict[str, Any]]:
        return [_incident(i, snapshot, pid, by_id) for i in chosen]

    def maintenances(chosen: Iterable[PageMaintenance]) -> list[dict[str, Any]]:
        return [_maintenance(m, snapshot, pid, by_id) for m in chosen]

    upcoming = snapshot.maintenances_in(MaintenanceStatus.SCHEDULED)
    active = snapshot.maintenances_in(MaintenanceStatus.IN_PROGRESS)
    newest_first = tuple(reversed(snapshot.maintenances))[:LIST_LIMIT]
    # Statuspage's incidents.json: every unresolved incident and the most recent others.
    recent = [i for n, i in enumerate(snapshot.incidents) if n < LIST_LIMIT or not i.resolved]
    return {
        "summary.json": {
            "page": page,
            "components": components,
            "incidents": incidents(snapshot.unresolved),
            "scheduled_maintenances": maintenances(active + upcoming),
            "status": status,
        },
        "status.json": {"page": page, "status": status},
        "components.json": {"page": page, "components": components},
        "incidents.json": {"page": page, "incidents": incidents(recent)},
        "incidents/unresolved.json": {"page": page, "incidents": incidents(snapshot.unresolved)},
        "scheduled-maintenances.json": {
            "page": page,
            "scheduled_maintenances": maintenances(newest_first),
        },
        "scheduled-maintenances/upcoming.json": {
            "page": page,
            "scheduled_maintenances": maintenances(upcoming),
        },
        "scheduled-maintenances/active.json": {
            "page": page,
            "scheduled_maintenances": maintenances(active),
        },
    }


def _components(snapshot: StatusSnapshot, pid: str) -> list[dict[str, Any]]:
    """Components in config order; each group as Statuspage shows one, after its members."""
    stamp = iso(snapshot.generated_at)
    found: list[dict[str, Any]] = []
    groups: dict[str, dict[str, Any]] = {}
    for component in snapshot.components:
        group_id = None if component.group is None else slug(component.group)
        found.append(
            {
                "id": component.id,
                "name": component.name,
                "status": component.status,
                "created_at": stamp,
                "updated_at": stamp,
                "position": component.position,
                "description": component.description,
                "showcase": True,
                "start_date": None,
                "group_id": group_id,
                "page_id": pid,
                "group": False,
                "only_show_if_degraded": False,
            }
        )
        if component.group is not None and group_id is not None:
            group = groups.setdefault(
                group_id,
                {
                    "id": group_id,
                    "name": component.group,
                    "status": ComponentStatus.OPERATIONAL,
                    "created_at": stamp,
                    "updated_at": stamp,
                    "position": len(snapshot.components) + len(groups) + 1,
                    "description": None,
                    "showcase": False,
                    "start_date": None,
                    "group_id": None,
                    "page_id": pid,
                    "group": True,
                    "only_show_if_degraded": False,
                    "components": [],
                },
            )
            group["components"].append(component.id)
            severity = COMPONENT_SEVERITY.index
            if severity(component.status) > severity(group["status"]):
                group["status"] = component.status
    return found + list(groups.values())


def _update(
    update_id: str, status: str, body: str, at: datetime, incident_id: str
) -> dict[str, Any]:
    stamp = iso(at)
    return {
        "id": update_id,
        "status": status,
        "body": body,
        "incident_id": incident_id,
        "created_at": stamp,
        "updated_at": stamp,
        "display_at": stamp,
        "affected_components": None,
        "deliver_notifications": True,
        "custom_tweet": None,
        "tweet_id": None,
    }


def _incident(
    incident: PageIncident, snapshot: StatusSnapshot, pid: str, by_id: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    resolved, monitoring = incident.resolved_at, incident.monitoring_at
    return {
        "id": incident.id,
        "name": incident.name,
        "status": incident.status,
        "created_at": iso(incident.started_at),
        "updated_at": iso(incident.updated_at),
        "monitoring_at": None if monitoring is None else iso(monitoring),
        "resolved_at": None if resolved is None else iso(resolved),
        "impact": incident.impact,
        "shortlink": _link(snapshot, f"incident-{incident.id}"),
        "started_at": iso(incident.started_at),
        "page_id": pid,
        "incident_updates": [
            _update(u.id, u.status, u.body, u.created_at, incident.id)
            for u in reversed(incident.updates)
        ],
        "components": [by_id[c] for c in incident.components if c in by_id],
    }


def maintenance_updates(
    m: PageMaintenance, now: datetime
) -> list[tuple[MaintenanceStatus, str, datetime]]:
    """(status, body, time) of the states the window has reached, oldest first.

    The config does not say when a window was announced: its "scheduled" update carries
    the time the window starts.
    """
    updates = [(MaintenanceStatus.SCHEDULED, f"{m.name} is scheduled.", m.scheduled_for)]
    if now >= m.scheduled_for:
        updates.append(
            (MaintenanceStatus.IN_PROGRESS, f"{m.name} is in progress.", m.scheduled_for)
        )
    if now >= m.scheduled_until:
        updates.append(
            (MaintenanceStatus.COMPLETED, f"{m.name} has been completed.", m.scheduled_until)
        )
    return updates


def _maintenance(
    m: PageMaintenance, snapshot: StatusSnapshot, pid: str, by_id: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    updates = maintenance_updates(m, snapshot.generated_at)
    return {
        "id": m.id,
        "name": m.name,
        "status": m.status,
        "created_at": iso(m.scheduled_for),
        "updated_at": iso(updates[-1][2]),
        "monitoring_at": None,
        "resolved_at": iso(m.scheduled_until) if m.status == MaintenanceStatus.COMPLETED else None,
        "impact": Impact.MAINTENANCE,
        "shortlink": _link(snapshot, f"maintenance-{m.id}"),
        "started_at": iso(m.scheduled_for),
        "page_id": pid,
        "incident_updates": [
            _update(f"{m.id}-{status}", status, body, at, m.id)
            for status, body, at in reversed(updates)
        ],
        "components": [by_id[c] for c in m.components if c in by_id],
        "scheduled_for": iso(m.scheduled_for),
        "scheduled_until": iso(m.scheduled_until),
    }


def _link(snapshot: StatusSnapshot, anchor: str) -> str:
    return history_link(snapshot.url, anchor) if snapshot.url else f"history.html#{anchor}"


# --- Atom ----------------------------------------------------------------------------------


def _feed_id(snapshot: StatusSnapshot, key: str) -> str:
    if snapshot.url:
        return f"{snapshot.url}/history.html#{key}"
    return uuid.uuid5(uuid.NAMESPACE_URL, f"{snapshot.title}/{key}").urn


def atom_feed(snapshot: StatusSnapshot) -> bytes:
    """One entry per incident update and per maintenance window, the newest FEED_LIMIT."""
    entries: list[tuple[datetime, str, str, str, str]] = []
    newest = [i for n, i in enumerate(snapshot.incidents) if n < FEED_LIMIT or not i.resolved]
    for incident in newest:
        for update in incident.updates:
            entries.append(
                (
                    update.created_at,
                    f"incident-{incident.id}-{update.id}",
                    f"{incident.name}: {update.status}",
                    update.body,
                    f"incident-{incident.id}",
                )
            )
    for m in snapshot.maintenances:
        last = maintenance_updates(m, snapshot.generated_at)[-1]
        span = f"from {iso(m.scheduled_for)} to {iso(m.scheduled_until)}"
        summary = f"{MAINTENANCE_STATUS_TEXT[m.status]}: {span}."
        entries.append(
            (
                last[2],
                f"maintenance-{m.id}",
                f"Maintenance: {m.name}",
                summary,
                f"maintenance-{m.id}",
            )
        )
    entries.sort(key=lambda e: (e[0], e[1]), reverse=True)
    del entries[FEED_LIMIT:]
    feed = ElementTree.Element("feed", xmlns=ATOM)
    ElementTree.SubElement(feed, "id").text = _feed_id(snapshot, "feed")
    ElementTree.SubElement(feed, "title").text = _line(snapshot.title)
    ElementTree.SubElement(feed, "updated").text = iso(snapshot.generated_at)
    ElementTree.SubElement(feed, "author").append(_text("name", _line(snapshot.title)))
    if snapshot.url:
        ElementTree.SubElement(feed, "link", rel="self", href=f"{snapshot.url}/history.atom")
        ElementTree.SubElement(feed, "link", rel="alternate", href=f"{snapshot.url}/history.html")
    for at, key, title, body, anchor in entries:
        entry = ElementTree.SubElement(feed, "entry")
        ElementTree.SubElement(entry, "id").text = _feed_id(snapshot, key)
        ElementTree.SubElement(entry, "title").text = _line(title)
        ElementTree.SubElement(entry, "updated").text = iso(at)
        ElementTree.SubElement(entry, "link", rel="alternate", href=_link(snapshot, anchor))
        ElementTree.SubElement(entry, "content", type="text").text = xml(body)
    return ElementTree.tostring(feed, encoding="utf-8", xml_declaration=True) + b"\n"


def _line(text: str) -> str:
    """Operator text as an XML title: one line, without what XML 1.0 cannot hold."""
    return xml(single_line(text))


def _text(tag: str, text: str) -> ElementTree.Element:
    element = ElementTree.Element(tag)
    element.text = text
    return element


# --- writing -------------------------------------------------------------------------------


def _write_tree(
    files: dict[str, bytes], directory: Path, previous: Published | None = None
) -> None:
    """A file the same as in the `previous` site is hard-linked to it, not written again.

    Paths as strings (thousands of badges a refresh: pathlib would cost more than the
    writing); folders 0755 and files 0644, as a web server runs as its own user.
    """
    root = str(directory)
    folders = {""}  # every folder of the site, parents included, whatever the umask
    for name in files:
        folder = os.path.dirname(name)
        while folder not in folders:
            folders.add(folder)
            folder = os.path.dirname(folder)
    for folder in sorted(folders):
        path = os.path.join(root, folder)
        os.makedirs(path, exist_ok=True)
        os.chmod(path, 0o755)
    for name, content in files.items():
        path = os.path.join(root, name)
        if previous is not None and previous.files.get(name) == content:
            with contextlib.suppress(OSError):  # gone or another file system: write it
                os.link(os.path.join(previous.folder, name), path)
                continue
        with open(path, "wb") as out:
            out.write(content)
        os.chmod(path, 0o644)


def build_into(files: dict[str, bytes], directory: Path) -> None:
    """`status build -o DIR`: DIR ends up holding exactly the site (and its marker), or is
    left as it was. The caller has checked that DIR may be replaced
    (`monitor.outputs.folders.site_folder`)."""
    directory = directory.absolute()
    parent = directory.parent
    staging = None
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=parent))
        _write_tree(files, staging)
        mark(staging)
        if directory.exists() and not directory.is_dir():
            raise InputError(f"{directory}: cannot write the site: not a directory")
        old = None
        if directory.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{directory.name}.old.", dir=parent))
            os.replace(directory, old / "site")
        os.replace(staging, directory)
        staging = None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        raise InputError(f"{directory}: cannot write the site: {exc.strerror or exc}") from None
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


@dataclass(frozen=True)
class Published:
    """A site `publish` wrote: where, and its files."""

    folder: Path
    files: dict[str, bytes]


def publish(
    files: dict[str, bytes], output_dir: Path, now: datetime, previous: Published | None = None
) -> Published:
    """Write a new folder under output_dir, repoint `current` at it, remove older ones.

    The symlink is replaced with rename(2), atomic: a web server serving
    `output_dir/current` sees the old site or the new one, never a mix. Files unchanged
    since `previous` (most badges) are hard links to its copies, which outlive its folder.
    Both output_dir and each site carry the marker of a site this program wrote.
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    if not (output_dir / MARKER).is_file():
        mark(output_dir)
    folder = Path(tempfile.mkdtemp(prefix=f"site-{now.strftime('%Y%m%dT%H%M%S')}-", dir=output_dir))
    try:
        _write_tree(files, folder, previous)
        mark(folder)
        link = output_dir / f".current-{folder.name}"
        os.symlink(folder.name, link)
        os.replace(link, output_dir / "current")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    for old in output_dir.glob("site-*"):
        if old != folder:
            shutil.rmtree(old, ignore_errors=True)
    for stale in output_dir.glob(".current-*"):
        with contextlib.suppress(OSError):
            stale.unlink()
    return Published(folder, files)
