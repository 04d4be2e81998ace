"""The status site's files from a StatusSnapshot, written whole (docs/status-page.md).

The documents people read (HTML pages, SVG badges, the Atom feed) come from
`monitor.status.pages`, all from Jinja2 templates; the JSON files use Atlassian
Statuspage's v2 field names so its clients work; `live.json` tells `status.js` which
pages changed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from monitor.config import page_id as config_page_id
from monitor.config import slug
from monitor.status.pages import (
    PageRenderer,
    incident_path,
    iso,
    link,
    maintenance_path,
    maintenance_updates,
    touched_months,
    when,
)
from monitor.status.state import PageIncident, PageMaintenance, StatusSnapshot
from sla.vocabulary import COMPONENT_SEVERITY, ComponentStatus, Impact, MaintenanceStatus

LIST_LIMIT = 50  # incidents.json and scheduled-maintenances.json: Statuspage's "50 most recent"
STATIC = ("status.css", "status.js", "favicon.svg")
SUBSCRIBE_STATIC = ("subscribe.css", "subscribe.js")  # with status_page.subscriptions


class SiteRenderer:
    """Turns snapshots into site files; keeps what the last one rendered (its memos)."""

    def __init__(self) -> None:
        self._pages = PageRenderer()
        self._static = {
            name: (resources.files("monitor.status") / "static" / name).read_bytes()
            for name in STATIC + SUBSCRIBE_STATIC
        }

    def files(self, snapshot: StatusSnapshot) -> dict[str, bytes]:
        """Every file of the site by relative path."""
        documents, versions = self._pages.documents(snapshot)
        wanted = STATIC + (SUBSCRIBE_STATIC if snapshot.subscriptions is not None else ())
        files = {**{name: self._static[name] for name in wanted}, **documents}
        for name, document in api_documents(snapshot).items():
            # Compact, as Statuspage serves it (an indent would cost json its C encoder).
            files[f"api/v2/{name}"] = json.dumps(document).encode() + b"\n"
        live = {
            "updated_at": iso(snapshot.generated_at),
            "updated_text": when(snapshot.generated_at, snapshot.timezone),
            "pages": versions,
        }
        files["live.json"] = json.dumps(live).encode() + b"\n"
        return files


# --- Statuspage v2 JSON ------------------------------------------------------------------


def page_id(snapshot: StatusSnapshot) -> str:
    return config_page_id(snapshot.url, snapshot.title)


def api_documents(snapshot: StatusSnapshot) -> dict[str, dict[str, Any]]:
    """The api/v2 files, by path under api/v2/."""
    pid = page_id(snapshot)
    page = {
        "id": pid,
        "name": snapshot.title,
        "url": snapshot.url or "",
        "time_zone": snapshot.timezone,
        "updated_at": iso(snapshot.updated_at),  # the latest change shown, not the build
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
    # (The unresolved ones past the first LIST_LIMIT are older than all of those: the
    # snapshot's order, without walking its thousands of incidents again.)
    head = snapshot.incidents[:LIST_LIMIT]
    listed = {i.id for i in head}
    recent = [*head, *(i for i in snapshot.unresolved if i.id not in listed)]
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
    """Components in config order; each group as Statuspage shows one, after its members.

    A component's `updated_at` is when its status last changed (the snapshot's rule); a
    group's is its latest member's, its `created_at` its earliest member's.
    """
    found: list[dict[str, Any]] = []
    groups: dict[str, dict[str, Any]] = {}
    for component in snapshot.components:
        group_id = None if component.group is None else slug(component.group)
        found.append(
            {
                "id": component.id,
                "name": component.name,
                "status": component.status,
                "created_at": iso(component.created_at),
                "updated_at": iso(component.updated_at),
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
                    "created_at": iso(component.created_at),
                    "updated_at": iso(component.updated_at),
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
            # RFC 3339 UTC strings of one format compare as the times do.
            group["created_at"] = min(group["created_at"], iso(component.created_at))
            group["updated_at"] = max(group["updated_at"], iso(component.updated_at))
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
        "shortlink": link(snapshot.url, incident_path(incident.id)),
        "started_at": iso(incident.started_at),
        "page_id": pid,
        "incident_updates": [
            _update(u.id, u.status, u.body, u.created_at, incident.id)
            for u in reversed(incident.updates)
        ],
        "components": [by_id[c] for c in incident.components if c in by_id],
    }


def _maintenance(
    m: PageMaintenance, snapshot: StatusSnapshot, pid: str, by_id: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    updates = maintenance_updates(m)
    zone = ZoneInfo(snapshot.timezone)
    months = touched_months(snapshot.generated_at, zone, snapshot.history_days)
    return {
        "id": m.id,
        "name": m.name,
        "status": m.status,
        "created_at": iso(m.created_at),  # when scheduled: never in the future
        "updated_at": iso(m.updated_at),
        "monitoring_at": None,
        "resolved_at": iso(m.scheduled_until) if m.status == MaintenanceStatus.COMPLETED else None,
        "impact": Impact.MAINTENANCE,
        "shortlink": link(snapshot.url, maintenance_path(m, zone, months)),
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
