"""Operator incidents: what `uptime-sla incident open|update|list` checks and stores.

Stored in the database (every monitor on one PostgreSQL shows the same ones); the page
reads them back through `StatusBuilder`. Ids look like Statuspage's: 12 characters of
a-z and 0-9.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from monitor.config import Config
from monitor.errors import InputError
from monitor.store import Store, StoredIncident, StoredUpdate
from monitor.text.escape import terminal_line
from sla.timestamps import rfc3339
from sla.vocabulary import (
    OPERATOR_COMPONENT_STATUSES,
    OPERATOR_IMPACTS,
    OPERATOR_STATUSES,
    ComponentStatus,
    IncidentStatus,
)

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


def component_choice(value: str, known: Collection[str]) -> tuple[str, ComponentStatus | None]:
    """`--component NAME` or `NAME=STATUS`: the component by its display name, and the
    status the operator sets it to until the incident is resolved.

    A name may itself hold `=`: the text after the last `=` is a status only when it is
    one of OPERATOR_COMPONENT_STATUSES and the text before it names a component.
    """
    name, sign, status = value.rpartition("=")
    if sign and name in known and status in OPERATOR_COMPONENT_STATUSES:
        return name, ComponentStatus(status)
    if value in known:
        return value, None
    if sign and name in known:
        statuses = ", ".join(OPERATOR_COMPONENT_STATUSES)
        raise InputError(f"--component: {status!r} is not one of {statuses}")
    raise InputError(f"--component: no status page component named {value!r}")


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
    """Store a new incident (status investigating) and return its id.

    `components` are `--component` values: names, each with an optional `=STATUS`.
    """
    if impact not in OPERATOR_IMPACTS:
        raise InputError(f"--impact: {impact!r} is not one of {', '.join(OPERATOR_IMPACTS)}")
    known = {c.name for c in config.status_components()}
    chosen = [component_choice(value, known) for value in components]
    statuses = {name: status for name, status in chosen if status is not None}
    incident = StoredIncident(
        id=new_id(),
        title=_text("--title", title),
        impact=impact,
        components=tuple(dict.fromkeys(name for name, _ in chosen)),
        created=now,
        updates=(
            StoredUpdate(new_id(), IncidentStatus.INVESTIGATING, _text("--message", message), now),
        ),
        component_statuses=tuple(statuses.items()),
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
        statuses = dict(incident.component_statuses)
        components = ", ".join(
            f"{name}={statuses[name]}" if name in statuses else name for name in incident.components
        )
        fields = (
            incident.id,
            last.status,
            incident.impact,
            rfc3339(incident.created, "seconds"),
            components or "-",
            incident.title,
        )
        # One line whatever was typed, and escape sequences shown, not obeyed.
        lines.append("\t".join(terminal_line(field) for field in fields))
    return lines
