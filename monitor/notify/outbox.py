"""The outbox: events recorded once, deliveries marked once, leases for one sender at a time.

What is recorded and when is decided here (no backfill: an event older than give_up_after
is recorded as done); the rows, and the SQL that makes recording idempotent and a lease one
holder's at a time, are the store's (monitor.store.outbox).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from monitor.store import Store
from monitor.store.outbox import GIVEN_UP, PENDING, SENT, SKIPPED, Delivery, NewEvent

__all__ = ["GIVEN_UP", "PENDING", "SENT", "SKIPPED", "Delivery", "Event", "Outbox"]


@dataclass(frozen=True)
class Event:
    """Something to tell: its key is its identity (the same event always has the same key)."""

    key: str
    kind: str  # incident_opened, maintenance_started, statement_ready, ...
    occurred: datetime
    payload: dict[str, Any]
    channels: tuple[str, ...] = field(default=())


class Outbox:
    def __init__(self, store: Store, clock: Callable[[], datetime], give_up_after: float) -> None:
        self._tables = store.outbox
        self._clock = clock
        self._give_up_after = timedelta(seconds=give_up_after)

    def record(self, events: Sequence[Event]) -> list[Event]:
        """Store the events not stored yet, with a delivery per channel; return those new.

        No backfill: an event already older than give_up_after is recorded as done
        (skipped), so a past window or month is never announced late.
        """
        now = self._clock()
        rows = [
            NewEvent(
                event.key,
                event.kind,
                event.occurred,
                event.payload,
                event.channels,
                skipped_at=now if now - event.occurred > self._give_up_after else None,
            )
            for event in events
        ]
        return [events[position] for position in self._tables.record(rows)]

    def recorded(self, keys: Sequence[str]) -> set[str]:
        """Which of these keys are recorded already (to skip work for known events)."""
        return self._tables.recorded(keys)

    def acquire(self, name: str, holder: str, seconds: float) -> bool:
        """Take or renew the lease `name` for `seconds`: true when `holder` now holds it."""
        now = self._clock()
        return self._tables.acquire(name, holder, now + timedelta(seconds=seconds), now)

    def release(self, name: str, holder: str) -> None:
        self._tables.release(name, holder)

    def head(self, channel: str) -> Delivery | None:
        """The channel's oldest pending delivery: channels deliver in the order of events."""
        return self._tables.head(channel)

    def finish(self, delivery: Delivery, state: str, error: str | None = None) -> None:
        """Mark a delivery sent or given up (only if still pending: never twice)."""
        self._tables.finish(delivery, state, self._clock(), error)

    def retry_later(self, delivery: Delivery, at: datetime, error: str) -> None:
        self._tables.retry_later(delivery, at, error)

    def depth(self) -> dict[str, int]:
        """Pending deliveries per channel (the outbox depth gauge)."""
        return self._tables.depth()
