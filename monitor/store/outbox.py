"""The notification outbox's tables: notify_event, notify_delivery and notify_lease.

Every statement is plain SQL that SQLite and PostgreSQL both run: `INSERT ... ON CONFLICT`
makes recording idempotent (the first monitor to record a key wins, the others change
nothing), and a lease is taken with one conditional upsert, so two monitors never both
believe they hold it. What to record and when to give up is monitor.notify.outbox's; this
part only keeps the rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text

from monitor.store.base import Database
from sla.slices import epoch_us, from_epoch_us
from sla.vocabulary import DeliveryState

# A delivery's states, as the vocabulary spells them: waiting, or done one of three ways.
PENDING, SENT, GIVEN_UP, SKIPPED = (
    DeliveryState.PENDING,
    DeliveryState.SENT,
    DeliveryState.GIVEN_UP,
    DeliveryState.SKIPPED,
)


@dataclass(frozen=True)
class NewEvent:
    """An event to record, with a delivery per channel; `skipped_at`: recorded as done then
    (too old to announce), not pending."""

    key: str
    kind: str
    occurred: datetime
    payload: dict[str, Any]
    channels: tuple[str, ...]
    skipped_at: datetime | None = None


@dataclass(frozen=True)
class Delivery:
    """One event on one channel, as the dispatcher sees it."""

    event_key: str
    channel: str
    kind: str
    occurred: datetime
    payload: dict[str, Any]
    attempts: int
    next_attempt: datetime


class OutboxTables:
    """The Store's notification outbox (tables NotifyEvent, NotifyDelivery, NotifyLease)."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def record(self, events: Sequence[NewEvent]) -> list[int]:
        """Store the events not stored yet, with their deliveries, in one transaction;
        returns the positions in `events` of those newly stored."""
        new = []
        with self._db.writing("record notification events") as conn:
            for position, event in enumerate(events):
                inserted = conn.execute(
                    text(
                        "INSERT INTO notify_event (key, kind, occurred_us, payload)"
                        " VALUES (:k, :kind, :t, :p) ON CONFLICT (key) DO NOTHING"
                    ),
                    {
                        "k": event.key,
                        "kind": event.kind,
                        "t": epoch_us(event.occurred),
                        "p": json.dumps(event.payload, sort_keys=True),
                    },
                ).rowcount
                if not inserted:
                    continue
                new.append(position)
                skipped = event.skipped_at is not None
                for channel in event.channels:
                    conn.execute(
                        text(
                            "INSERT INTO notify_delivery (event_key, channel, occurred_us, state,"
                            " attempts, next_attempt_us, done_us) VALUES (:k, :c, :t, :s, 0, :t,"
                            " :done)"
                        ),
                        {
                            "k": event.key,
                            "c": channel,
                            "t": epoch_us(event.occurred),
                            "s": SKIPPED if skipped else PENDING,
                            "done": epoch_us(event.skipped_at) if event.skipped_at else None,
                        },
                    )
        return new

    def recorded(self, keys: Sequence[str]) -> set[str]:
        """Which of these keys are recorded already."""
        if not keys:
            return set()
        found: set[str] = set()
        with self._db.reading("read notification events") as conn:
            for start in range(0, len(keys), 500):
                part = list(keys[start : start + 500])
                marks = ", ".join(f":k{i}" for i in range(len(part)))
                rows = conn.execute(
                    text(f"SELECT key FROM notify_event WHERE key IN ({marks})"),
                    {f"k{i}": key for i, key in enumerate(part)},
                )
                found.update(row[0] for row in rows)
        return found

    def acquire(self, name: str, holder: str, until: datetime, now: datetime) -> bool:
        """Take or renew the lease `name` until `until`: true when `holder` now holds it
        (it did already, or nobody held it at `now`)."""
        with self._db.writing("take a notification lease") as conn:
            return bool(
                conn.execute(
                    text(
                        "INSERT INTO notify_lease (name, holder, until_us) VALUES (:n, :h, :u)"
                        " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
                        " until_us = excluded.until_us"
                        " WHERE notify_lease.holder = excluded.holder"
                        " OR notify_lease.until_us < :now"
                    ),
                    {"n": name, "h": holder, "u": epoch_us(until), "now": epoch_us(now)},
                ).rowcount
            )

    def release(self, name: str, holder: str) -> None:
        with self._db.writing("release a notification lease") as conn:
            conn.execute(
                text("DELETE FROM notify_lease WHERE name = :n AND holder = :h"),
                {"n": name, "h": holder},
            )

    def head(self, channel: str) -> Delivery | None:
        """The channel's oldest pending delivery: channels deliver in the order of events."""
        with self._db.reading("read pending notifications") as conn:
            row = conn.execute(
                text(
                    "SELECT d.event_key, d.channel, e.kind, d.occurred_us, e.payload, d.attempts,"
                    " d.next_attempt_us FROM notify_delivery d"
                    " JOIN notify_event e ON e.key = d.event_key"
                    " WHERE d.channel = :c AND d.state = :s"
                    " ORDER BY d.occurred_us, d.event_key LIMIT 1"
                ),
                {"c": channel, "s": PENDING},
            ).first()
        if row is None:
            return None
        return Delivery(
            event_key=row[0],
            channel=row[1],
            kind=row[2],
            occurred=from_epoch_us(row[3]),
            payload=json.loads(row[4]),
            attempts=row[5],
            next_attempt=from_epoch_us(row[6]),
        )

    def finish(
        self, delivery: Delivery, state: str, done: datetime, error: str | None = None
    ) -> None:
        """Mark a delivery done in `state` (only if still pending: never twice)."""
        with self._db.writing("mark a notification") as conn:
            conn.execute(
                text(
                    "UPDATE notify_delivery SET state = :s, done_us = :now, last_error = :e"
                    " WHERE event_key = :k AND channel = :c AND state = :pending"
                ),
                {
                    "s": state,
                    "now": epoch_us(done),
                    "e": error,
                    "k": delivery.event_key,
                    "c": delivery.channel,
                    "pending": PENDING,
                },
            )

    def retry_later(self, delivery: Delivery, at: datetime, error: str) -> None:
        """Count a failed attempt; the delivery is due again at `at`."""
        with self._db.writing("mark a failed notification") as conn:
            conn.execute(
                text(
                    "UPDATE notify_delivery SET attempts = attempts + 1, next_attempt_us = :t,"
                    " last_error = :e WHERE event_key = :k AND channel = :c AND state = :pending"
                ),
                {
                    "t": epoch_us(at),
                    "e": error,
                    "k": delivery.event_key,
                    "c": delivery.channel,
                    "pending": PENDING,
                },
            )

    def depth(self) -> dict[str, int]:
        """Pending deliveries per channel."""
        with self._db.reading("count pending notifications") as conn:
            rows = conn.execute(
                text(
                    "SELECT channel, count(*) FROM notify_delivery WHERE state = :s"
                    " GROUP BY channel"
                ),
                {"s": PENDING},
            ).all()
        return {channel: int(count) for channel, count in rows}
