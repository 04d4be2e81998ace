"""Events from what the status page knows: maintenance windows and incidents.

Both come from the status page's computation (what the page shows is what is announced);
an event's key is derived from identities alone, so every monitor, every restart, finds
the same key for the same event: a maintenance window's id is its start, end and scope (a
changed window is a new one); an incident has its id, an update its update id.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from monitor.config import Config
from monitor.notify.outbox import Event
from monitor.status.state import PageIncident, PageMaintenance
from sla.timestamps import duration_text, rfc3339
from sla.vocabulary import (
    EMAIL_CHANNEL,
    SUBSCRIBERS_CHANNEL,
    ChannelKind,
    EventGroup,
    EventKind,
    IncidentStatus,
    channel_name,
)


def channels_for(config: Config, group: EventGroup) -> tuple[str, ...]:
    """The configured channels whose `events:` include this group."""
    slack = config.notifications.slack
    names = [channel_name(ChannelKind.SLACK, s.name) for s in slack if group in s.events]
    email = config.notifications.email
    if email is not None and group in email.events and email.to:
        names.append(EMAIL_CHANNEL)
    page = config.status_page
    subscriptions = None if page is None else page.subscriptions
    if subscriptions is not None and (subscriptions.email or subscriptions.webhooks):
        names.append(SUBSCRIBERS_CHANNEL)  # every incident and maintenance event: they choose
    return tuple(names)


def component_names(config: Config, ids: Iterable[str]) -> list[str]:
    """Component ids (slugs) as their names, for people."""
    names = {c.slug: c.name for c in config.status_components()}
    return [names.get(i, i) for i in ids]


def maintenance_events(
    config: Config, windows: Iterable[PageMaintenance], now: datetime
) -> Iterator[Event]:
    """The announcements, starts and completions that are due by `now`.

    A window first seen after it started is not announced (its start says it all).
    """
    channels = channels_for(config, "maintenance")
    if not channels:
        return
    notice = timedelta(seconds=config.notifications.maintenance_notice)
    for window in windows:
        payload = {
            "reason": window.name,
            "start": rfc3339(window.scheduled_for),
            "end": rfc3339(window.scheduled_until),
            "affects": component_names(config, window.components),
        }
        steps = [
            ("started", EventKind.MAINTENANCE_STARTED, window.scheduled_for),
            ("completed", EventKind.MAINTENANCE_COMPLETED, window.scheduled_until),
        ]
        if now < window.scheduled_for:
            notice_at = window.scheduled_for - notice
            steps.insert(0, ("announced", EventKind.MAINTENANCE_ANNOUNCED, notice_at))
        for step, kind, at in steps:
            if at <= now:
                yield Event(f"maintenance/{window.id}/{step}", kind, at, payload, channels)


def incident_events(config: Config, incidents: Iterable[PageIncident]) -> Iterator[Event]:
    """Opened (with its first update), each later update, resolved: keyed by their ids."""
    channels = channels_for(config, "incident")
    if not channels:
        return
    for incident in incidents:
        base = {
            "id": incident.id,
            "title": incident.name,
            "impact": incident.impact,
            "components": component_names(config, incident.components),
            "started": rfc3339(incident.started_at),
        }
        for n, update in enumerate(incident.updates):
            payload = {
                **base,
                "message": update.body,
                "status": update.status,
                "at": rfc3339(update.created_at),
            }
            if n == 0:
                kind, key = EventKind.INCIDENT_OPENED, f"incident/{incident.id}/opened"
            elif update.status == IncidentStatus.RESOLVED:
                kind, key = EventKind.INCIDENT_RESOLVED, f"incident/{incident.id}/resolved"
                # How long it failed (an automatic one is resolved `incident_merge` later).
                lasted = incident.duration(update.created_at)
                payload["minutes"] = f"{lasted.total_seconds() / 60:g}"
                payload["duration"] = duration_text(lasted.total_seconds())
            else:
                kind = EventKind.INCIDENT_UPDATED
                key = f"incident/{incident.id}/update/{update.id}"
            yield Event(key, kind, update.created_at, payload, channels)
