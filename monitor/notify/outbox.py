"""The outbox: events recorded once, deliveries marked once, leases for one sender at a time.

Every statement is plain SQL that SQLite and PostgreSQL both run: `INSERT ... ON CONFLICT`
makes recording idempotent (the first monitor to record a key wins, the others change
nothing), and a lease is taken with one conditional upsert, so two monitors never both
believe they hold it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text

from monitor.store import Store
from sla.slices import epoch_us, from_epoch_us
from sla.vocabulary import DeliveryState

# A delivery's states, as the vocabulary spells them.
PENDING, SENT, GIVEN_UP, SKIPPED = (
    DeliveryState.PENDING,
    DeliveryState.SENT,
    DeliveryState.GIVEN_UP,
    DeliveryState.SKIPPED,
)


@dataclass(frozen=True)
class Event:
    """Something to tell: its key is its identity (the same event always has the same key)."""

    key: str
    kind: str  # incident_opened, maintenance_started, statement_ready, ...
    occurred: datetime
    payload: dict[str, Any]
    channels: tuple[str, ...] = field(default=())


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


class Outbox:
    def __init__(self, store: Store, clock: Callable[[], datetime], give_up_after: float) -> None:
        self._store = store
        self._clock = clock
        self._give_up_after = timedelta(seconds=give_up_after)

    def record(self, events: Sequence[Event]) -> list[Event]:
        """Store the events not stored yet, with a delivery per channel; return those new.

        No backfill: an event already older than give_up_after is recorded as done
        (skipped), so a past window or month is never announced late.
        """
        now = self._clock()
        new = []
        with self._store.writing("record notification events") as conn:
            for event in events:
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
                new.append(event)
                state = SKIPPED if now - event.occurred > self._give_up_after else PENDING
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
                            "s": state,
                            "done": epoch_us(now) if state == SKIPPED else None,
                        },
                    )
        return new

    def recorded(self, keys: Sequence[str]) -> set[str]:
        """Which of these keys are recorded already (to skip work for known events)."""
        if not keys:
            return set()
        found: set[str] = set()
        with self._store.reading("read notification events") as conn:
            for start in range(0, len(keys), 500):
                part = list(keys[start : start + 500])
                marks = ", ".join(f":k{i}" for i in range(len(part)))
                rows = conn.execute(
                    text(f"SELECT key FROM notify_event WHERE key IN ({marks})"),
                    {f"k{i}": key for i, key in enumerate(part)},
                )
                found.update(row[0] for row in rows)
        return found

    def acquire(self, name: str, holder: str, seconds: float) -> bool:
        """Take or renew the lease `name` for `seconds`: true when `holder` now holds it."""
        now = self._clock()
        with self._store.writing("take a notification lease") as conn:
            return bool(
                conn.execute(
                    text(
                        "INSERT INTO notify_lease (name, holder, until_us) VALUES (:n, :h, :u)"
                        " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
                        " until_us = excluded.until_us"
                        " WHERE notify_lease.holder = excluded.holder"
                        " OR notify_lease.until_us < :now"
                    ),
                    {
                        "n": name,
                        "h": holder,
                        "u": epoch_us(now + timedelta(seconds=seconds)),
                        "now": epoch_us(now),
                    },
                ).rowcount
            )

    def release(self, name: str, holder: str) -> None:
        with self._store.writing("release a notification lease") as conn:
            conn.execute(
                text("DELETE FROM notify_lease WHERE name = :n AND holder = :h"),
                {"n": name, "h": holder},
            )

    def head(self, channel: str) -> Delivery | None:
        """The channel's oldest pending delivery: channels deliver in the order of events."""
        with self._store.reading("read pending notifications") as conn:
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

    def finish(self, delivery: Delivery, state: str, error: str | None = None) -> None:
        """Mark a delivery sent or given up (only if still pending: never twice)."""
        with self._store.writing("mark a notification") as conn:
            conn.execute(
                text(
                    "UPDATE notify_delivery SET state = :s, done_us = :now, last_error = :e"
                    " WHERE event_key = :k AND channel = :c AND state = :pending"
                ),
                {
                    "s": state,
                    "now": epoch_us(self._clock()),
                    "e": error,
                    "k": delivery.event_key,
                    "c": delivery.channel,
                    "pending": PENDING,
                },
            )

    def retry_later(self, delivery: Delivery, at: datetime, error: str) -> None:
        with self._store.writing("mark a failed notification") as conn:
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
        """Pending deliveries per channel (the outbox depth gauge)."""
        with self._store.reading("count pending notifications") as conn:
            rows = conn.execute(
                text(
                    "SELECT channel, count(*) FROM notify_delivery WHERE state = :s"
                    " GROUP BY channel"
                ),
                {"s": PENDING},
            ).all()
        return {channel: int(count) for channel, count in rows}
