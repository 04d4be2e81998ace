"""Operator incidents: what `uptime-sla incident open|update|list` checks and stores.

Stored in the database (every monitor on one PostgreSQL shows the same ones); the page
reads them back through `StatusBuilder`. Ids look like Statuspage's: 12 characters of
a-z and 0-9.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Sequence
from datetime import datetime, timedelta

from monitor.config import Config
from monitor.errors import InputError
from monitor.store import Store, StoredIncident, StoredUpdate
from monitor.text.escape import terminal_line
from sla.timestamps import rfc3339
from sla.vocabulary import OPERATOR_IMPACTS, OPERATOR_STATUSES, IncidentStatus

RECENT = timedelta(days=7)  # `incident list` shows resolved incidents this recent
_ALPHABET = string.ascii_lowercase + string.digits


def new_id() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(12))


def _text(option: str, value: str) -> str:
    value = value.strip()
    if not value:
        raise InputError(f"{option}: must not be empty")
    if len(value) > 10_000:
        raise InputError(f"{option}: is longer than 10,000 characters")
    return value


def open_incident(
    config: Config,
    store: Store,
    *,
    title: str,
    impact: str,
    components: Sequence[str],
    message: str,
    now: datetime,
) -> str:
    """Store a new incident (status investigating) and return its id."""
    if impact not in OPERATOR_IMPACTS:
        raise InputError(f"--impact: {impact!r} is not one of {', '.join(OPERATOR_IMPACTS)}")
    known = {c.name for c in config.status_components()}
    for name in components:
        if name not in known:
            raise InputError(f"--component: no status page component named {name!r}")
    incident = StoredIncident(
        id=new_id(),
        title=_text("--title", title),
        impact=impact,
        components=tuple(dict.fromkeys(components)),
        created=now,
        updates=(
            StoredUpdate(new_id(), IncidentStatus.INVESTIGATING, _text("--message", message), now),
        ),
    )
    store.add_incident(incident)
    return incident.id


def update_incident(
    store: Store, incident_id: str, *, status: str, message: str, now: datetime
) -> None:
    if status not in OPERATOR_STATUSES:
        raise InputError(f"--status: {status!r} is not one of {', '.join(OPERATOR_STATUSES)}")
    update = StoredUpdate(new_id(), status, _text("--message", message), now)
    if not store.add_incident_update(incident_id, update):
        raise InputError(f"incident update: no incident with id {incident_id!r}")


def incident_lines(store: Store, now: datetime) -> list[str]:
    """Open incidents, then those resolved in the last week; newest first, one a line."""
    lines = []
    for incident in sorted(store.operator_incidents(), key=lambda i: i.created, reverse=True):
        last = incident.updates[-1]
        if last.status == IncidentStatus.RESOLVED and last.created < now - RECENT:
            continue
        components = ", ".join(incident.components) or "-"
        fields = (
            incident.id,
            last.status,
            incident.impact,
            rfc3339(incident.created, "seconds"),
            components,
            incident.title,
        )
        # One line whatever was typed, and escape sequences shown, not obeyed.
        lines.append("\t".join(terminal_line(field) for field in fields))
    return lines
