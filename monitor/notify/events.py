"""Events from what the monitor knows: maintenance windows (config + clock) and incidents.

An event's key is derived from its identity alone, so every monitor, every restart, finds
the same key for the same event: a maintenance window is its start, end and scope (a
changed window is a new one); an incident is its id, an update its update id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Protocol

from monitor.config import Config, MaintenanceSettings
from monitor.notify.outbox import Event

INCIDENT, MAINTENANCE = "incident", "maintenance"


class IncidentUpdate(Protocol):
    id: str
    status: str  # investigating | identified | monitoring | resolved | postmortem
    body: str
    created_at: datetime


class Incident(Protocol):
    """An incident as the status page computes it, automatic or posted by an operator."""

    id: str
    name: str
    impact: str  # none | minor | major | critical
    components: tuple[str, ...]
    started_at: datetime
    updates: tuple[IncidentUpdate, ...]  # oldest first


def channels_for(config: Config, group: str) -> tuple[str, ...]:
    """The configured channels whose `events:` include this group."""
    names = [f"slack:{s.name}" for s in config.notifications.slack if group in s.events]
    email = config.notifications.email
    if email is not None and group in email.events and email.to:
        names.append("email")
    return tuple(names)


def window_id(window: MaintenanceSettings) -> str:
    identity = "|".join(
        (
            window.start.isoformat(),
            window.end.isoformat(),
            ",".join(sorted(window.targets)),
            ",".join(sorted(window.services)),
        )
    )
    return hashlib.sha256(identity.encode()).hexdigest()[:16]


def maintenance_events(config: Config, now: datetime) -> Iterator[Event]:
    """The announcements, starts and completions that are due by `now`.

    A window first seen after it started is not announced (its start says it all).
    """
    channels = channels_for(config, MAINTENANCE)
    if not channels:
        return
    notice = timedelta(seconds=config.notifications.maintenance_notice)
    services = {t.name: t.service_name for t in config.targets}
    for window in config.maintenance:
        if not getattr(window, "public", True):
            continue
        affects = sorted(
            {*window.services, *(services[name] for name in window.targets if name in services)}
        )
        payload = {
            "reason": window.reason or "Scheduled maintenance",
            "start": window.start.isoformat(),
            "end": window.end.isoformat(),
            "affects": affects,
        }
        ident = window_id(window)
        steps = [("started", window.start), ("completed", window.end)]
        if now < window.start:
            steps.insert(0, ("announced", window.start - notice))
        for step, at in steps:
            if at <= now:
                yield Event(
                    f"maintenance/{ident}/{step}", f"maintenance_{step}", at, payload, channels
                )


def incident_events(config: Config, incidents: Iterable[Incident]) -> Iterator[Event]:
    """Opened (with its first update), each later update, resolved: keyed by their ids."""
    channels = channels_for(config, INCIDENT)
    if not channels:
        return
    for incident in incidents:
        base = {
            "id": incident.id,
            "title": incident.name,
            "impact": incident.impact,
            "components": list(incident.components),
            "started": incident.started_at.isoformat(),
        }
        for n, update in enumerate(incident.updates):
            payload = {
                **base,
                "message": update.body,
                "status": update.status,
                "at": update.created_at.isoformat(),
            }
            if n == 0:
                kind, key = "incident_opened", f"incident/{incident.id}/opened"
            elif update.status == "resolved":
                kind, key = "incident_resolved", f"incident/{incident.id}/resolved"
                minutes = (update.created_at - incident.started_at).total_seconds() / 60
                payload["minutes"] = f"{minutes:g}"
            else:
                kind, key = "incident_updated", f"incident/{incident.id}/update/{update.id}"
            yield Event(key, kind, update.created_at, payload, channels)
