"""Operator incidents of the status page: posted by `uptime-sla incident`, read by the page."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.engine import Connection

from monitor.store.base import Database
from sla.slices import epoch_us, from_epoch_us


@dataclass(frozen=True)
class StoredUpdate:
    id: str
    status: str
    message: str
    created: datetime


@dataclass(frozen=True)
class StoredIncident:
    """An operator's incident as stored; the status page shows it as a `PageIncident`."""

    id: str
    title: str
    impact: str
    components: tuple[str, ...]
    created: datetime
    updates: tuple[StoredUpdate, ...]  # oldest first; the first is the opening message
    # (component name, status) an operator set with the incident, shown until it is resolved
    component_statuses: tuple[tuple[str, str], ...] = ()


class Incidents:
    """The Store's operator incidents (tables IncidentRow and IncidentUpdateRow)."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def add_incident(self, incident: StoredIncident) -> None:
        """Store a new operator incident with its opening update(s), in one transaction."""
        with self._db.writing("store the incident") as conn:
            conn.execute(
                text(
                    "INSERT INTO status_incident"
                    " (id, title, impact, components, created_us, component_statuses)"
                    " VALUES (:i, :t, :m, :c, :at, :s)"
                ),
                {
                    "i": incident.id,
                    "t": incident.title,
                    "m": incident.impact,
                    "c": json.dumps(list(incident.components)),
                    "at": epoch_us(incident.created),
                    "s": json.dumps(dict(incident.component_statuses))
                    if incident.component_statuses
                    else None,
                },
            )
            for update in incident.updates:
                _insert_update(conn, incident.id, update)

    def add_incident_update(self, incident_id: str, update: StoredUpdate) -> bool:
        """Add an update; False (and nothing stored) when no incident has that id."""
        with self._db.writing("store the incident update") as conn:
            known = conn.execute(
                text("SELECT 1 FROM status_incident WHERE id=:i"), {"i": incident_id}
            ).scalar()
            if not known:
                return False
            _insert_update(conn, incident_id, update)
            return True

    def operator_incidents(self) -> list[StoredIncident]:
        """Every operator incident with its updates, oldest first."""
        with self._db.reading("read incidents") as conn:
            heads = conn.execute(
                text(
                    "SELECT id, title, impact, components, created_us, component_statuses"
                    " FROM status_incident ORDER BY created_us, id"
                )
            ).all()
            rows = conn.execute(
                text(
                    "SELECT incident_id, id, status, message, created_us"
                    " FROM status_incident_update ORDER BY created_us, id"
                )
            ).all()
        updates: dict[str, list[StoredUpdate]] = defaultdict(list)
        for incident_id, update_id, status, message, created in rows:
            updates[incident_id].append(
                StoredUpdate(update_id, status, message, from_epoch_us(created))
            )
        return [
            StoredIncident(
                id=row.id,
                title=row.title,
                impact=row.impact,
                components=tuple(json.loads(row.components)),
                created=from_epoch_us(row.created_us),
                updates=tuple(updates[row.id]),
                component_statuses=tuple(json.loads(row.component_statuses or "{}").items()),
            )
            for row in heads
        ]


def _insert_update(conn: Connection, incident_id: str, update: StoredUpdate) -> None:
    conn.execute(
        text(
            "INSERT INTO status_incident_update (id, incident_id, status, message, created_us)"
            " VALUES (:u, :i, :s, :m, :at)"
        ),
        {
            "u": update.id,
            "i": incident_id,
            "s": update.status,
            "m": update.message,
            "at": epoch_us(update.created),
        },
    )
