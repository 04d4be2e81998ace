"""Promise check runs and webhook deliveries (tables PromiseRunRow, WebhookEventRow and
WebhookDeliveryRow): what the monthly promise report reads (docs/promises.md)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, text

from monitor.store.base import Database
from monitor.store.tables import PromiseRunRow
from sla.promises import DUPLICATE, FIRST, CheckRun, Delivery
from sla.slices import epoch_us, from_epoch_us


@dataclass(frozen=True)
class EventState:
    """What a receiver has seen of one event before this delivery."""

    first: datetime
    last: datetime  # the previous attempt (duplicates left out)
    attempts: int  # the first attempt and the retries so far
    delivered: bool  # answered 2xx


@dataclass(frozen=True)
class Classified:
    """What a delivery is, and the answer it gets: decided inside the transaction."""

    kind: str  # FIRST, RETRY or DUPLICATE
    answered: int
    retry: int | None = None
    latency_seconds: float | None = None
    delay_seconds: float | None = None

    @property
    def delivered(self) -> bool:
        return 200 <= self.answered < 300


class Promises:
    """The Store's promise checks and webhook deliveries (store.promises)."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def write_promise_runs(self, runs: Sequence[tuple[int | None, CheckRun]]) -> list[int]:
        """Insert the runs without an id and bring the others up to date, in one
        transaction of two statements (executemany: thousands of runs cost milliseconds);
        returns every run's id in order."""
        table = PromiseRunRow.__table__  # type: ignore[attr-defined]
        fresh = [run for run_id, run in runs if run_id is None]
        known = [(run_id, run) for run_id, run in runs if run_id is not None]
        with self._db.writing("store promise checks") as conn:
            inserted: list[int] = []
            if fresh:
                rows = conn.execute(
                    insert(table).returning(table.c.id, sort_by_parameter_order=True),
                    [
                        {
                            "promise": run.promise,
                            "target": run.target,
                            "family": run.family,
                            "location": run.location,
                            "kept": run.kept,
                            "first_us": epoch_us(run.first),
                            "last_us": epoch_us(run.last),
                            "checks": run.checks,
                            "detail": run.detail,
                        }
                        for run in fresh
                    ],
                )
                inserted = [row[0] for row in rows]
            if known:
                conn.execute(
                    text(
                        "UPDATE promise_run SET last_us=:last_us, checks=:checks, detail=:detail"
                        " WHERE id=:id"
                    ),
                    [
                        {
                            "id": run_id,
                            "last_us": epoch_us(run.last),
                            "checks": run.checks,
                            "detail": run.detail,
                        }
                        for run_id, run in known
                    ],
                )
        new_ids = iter(inserted)
        return [run_id if run_id is not None else next(new_ids) for run_id, _ in runs]

    def promise_runs(self, start: datetime, end: datetime) -> list[CheckRun]:
        """Runs whose first check lies in [start, end), oldest first."""
        with self._db.reading("read promise checks") as conn:
            rows = conn.execute(
                text(
                    "SELECT promise, target, family, location, kept, first_us, last_us, checks,"
                    " detail FROM promise_run WHERE first_us >= :s AND first_us < :e"
                    " ORDER BY first_us, id"
                ),
                {"s": epoch_us(start), "e": epoch_us(end)},
            ).all()
        return [
            CheckRun(
                promise=row.promise,
                target=row.target,
                family=row.family,
                location=row.location,
                kept=bool(row.kept),
                first=from_epoch_us(row.first_us),
                last=from_epoch_us(row.last_us),
                checks=row.checks,
                detail=row.detail,
            )
            for row in rows
        ]

    def record_delivery(
        self,
        receiver: str,
        event_id: str,
        received: datetime,
        classify: Callable[[EventState | None], Classified],
    ) -> Classified:
        """Classify a delivery against what was seen of its event and store both, in one
        transaction: a retry and a duplicate are told apart however many monitors restart."""
        key = {"r": receiver, "e": event_id}
        at = epoch_us(received)
        with self._db.writing("store a webhook delivery") as conn:
            row = conn.execute(
                text(
                    "SELECT first_us, last_us, attempts, delivered FROM webhook_event"
                    " WHERE receiver=:r AND event_id=:e"
                ),
                key,
            ).first()
            state = (
                None
                if row is None
                else EventState(
                    from_epoch_us(row.first_us),
                    from_epoch_us(row.last_us),
                    row.attempts,
                    bool(row.delivered),
                )
            )
            found = classify(state)
            if state is None:
                conn.execute(
                    text(
                        "INSERT INTO webhook_event (receiver, event_id, first_us, last_us,"
                        " attempts, delivered) VALUES (:r, :e, :at, :at, 1, :d)"
                    ),
                    {**key, "at": at, "d": found.delivered},
                )
            elif found.kind != DUPLICATE:
                conn.execute(
                    text(
                        "UPDATE webhook_event SET last_us=:at, attempts=attempts + 1,"
                        " delivered=:d WHERE receiver=:r AND event_id=:e"
                    ),
                    {**key, "at": at, "d": found.delivered},
                )
            conn.execute(
                text(
                    "INSERT INTO webhook_delivery (receiver, event_id, received_us, kind, retry,"
                    " latency_s, delay_s, answered) VALUES (:r, :e, :at, :k, :n, :l, :w, :a)"
                ),
                {
                    **key,
                    "at": at,
                    "k": found.kind,
                    "n": found.retry,
                    "l": found.latency_seconds,
                    "w": found.delay_seconds,
                    "a": found.answered,
                },
            )
        return found

    def webhook_deliveries(
        self, start: datetime, end: datetime, receiver: str | None = None
    ) -> list[Delivery]:
        """Deliveries received in [start, end) (of one receiver, or all), oldest first."""
        only = "" if receiver is None else " AND receiver = :r"
        with self._db.reading("read webhook deliveries") as conn:
            rows = conn.execute(
                text(
                    "SELECT receiver, received_us, kind, retry, latency_s, delay_s"
                    " FROM webhook_delivery WHERE received_us >= :s AND received_us < :e"
                    f"{only} ORDER BY received_us, id"
                ),
                {"s": epoch_us(start), "e": epoch_us(end), "r": receiver},
            ).all()
        return [
            Delivery(
                receiver=row.receiver,
                received=from_epoch_us(row.received_us),
                kind=row.kind,
                retry=row.retry,
                latency_seconds=row.latency_s,
                delay_seconds=row.delay_s,
            )
            for row in rows
        ]

    def first_attempt_latencies(self, receiver: str, since: datetime) -> list[float]:
        """Latencies of the receiver's first attempts since `since` (the status component)."""
        with self._db.reading("read webhook deliveries") as conn:
            rows = conn.execute(
                text(
                    "SELECT latency_s FROM webhook_delivery WHERE receiver = :r AND kind = :k"
                    " AND received_us >= :s AND latency_s IS NOT NULL"
                ),
                {"r": receiver, "k": FIRST, "s": epoch_us(since)},
            ).all()
        return [row.latency_s for row in rows]
