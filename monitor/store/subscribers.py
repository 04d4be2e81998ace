"""Subscribers of the status page and their messages (tables SubscriberRow, SubscriberDelivery).

Each statement runs on SQLite and PostgreSQL alike. A request that may send a
confirmation first updates its subscriber's row: on PostgreSQL that row lock queues
concurrent requests for one address (SQLite's writers queue anyway), so the count of
recent confirmations that enforces the daily limit is never read by two at once.

A notice reaches a subscriber through `subscriber_delivery`, one row per (subscriber,
event key): the row is created once, when the event is fanned out, in the same
transaction that marks the event's fan-out done in the outbox.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from monitor.errors import StoreError
from monitor.store.base import Database
from monitor.text.redact import redact_url, scrub
from sla.slices import epoch_us, from_epoch_us
from sla.vocabulary import DeliveryState, EventKind, SubscriberKind

_COLUMNS = (
    "id, kind, email, url, components, created_us, confirmed_us, secret, failures, disabled_us"
)
_IN_LIST = 500  # ids per "IN (...)"


@dataclass(frozen=True)
class Subscriber:
    id: str
    kind: str  # email | webhook
    email: str
    url: str  # a webhook's URL; "" for email
    components: tuple[str, ...]  # component names; () means every component
    created: datetime
    confirmed: datetime | None
    secret: str | None = None  # a webhook's signing secret
    failures: int = 0
    disabled: datetime | None = None

    @property
    def active(self) -> bool:
        """Confirmed and not disabled: the subscriber gets notices."""
        return self.confirmed is not None and self.disabled is None


@dataclass(frozen=True)
class Requested:
    """What a subscribe request did: queued a confirmation, or hit the daily limit."""

    subscriber_id: str
    retry_after: float | None  # seconds until another confirmation may be sent; None: queued


@dataclass(frozen=True)
class Due:
    """A pending message with what sending it needs."""

    subscriber: Subscriber
    key: str
    channel: str
    kind: str
    occurred: datetime
    attempts: int
    payload: dict[str, Any]  # the event's payload, or the confirmation's own


@dataclass(frozen=True)
class Imported:
    """One row of a subscriber CSV file."""

    email: str
    components: tuple[str, ...]
    created: datetime
    confirmed: datetime | None


def _subscriber(row: Sequence[Any]) -> Subscriber:
    return Subscriber(
        id=row[0],
        kind=row[1],
        email=row[2],
        url=row[3],
        components=tuple(json.loads(row[4])),
        created=from_epoch_us(row[5]),
        confirmed=None if row[6] is None else from_epoch_us(row[6]),
        secret=row[7],
        failures=int(row[8]),
        disabled=None if row[9] is None else from_epoch_us(row[9]),
    )


def _components(names: Iterable[str]) -> str:
    return json.dumps(sorted(set(names)))


class Subscriptions:
    """The Store's subscribers and their messages (store.subscriptions)."""

    def __init__(self, database: Database) -> None:
        self._db = database

    # --- what the subscription service and `subscribers` change ----------------------------

    def request_subscription(
        self,
        kind: str,
        email: str,
        url: str,
        components: Sequence[str],
        now: datetime,
        *,
        new_id: str,
        new_secret: str | None,
        limit: int,
        window: timedelta,
    ) -> Requested:
        """Store a pending subscription (or renew one) and queue its confirmation email,
        unless `limit` confirmations went to it within `window`.

        A pending subscription takes the new components and time; a confirmed one keeps
        both until its owner confirms the new choice (the confirmation carries it).
        """
        now_us = epoch_us(now)
        with self._db.writing("store the subscription") as conn:
            conn.execute(
                text(
                    "INSERT INTO subscriber (id, kind, email, url, components, created_us,"
                    " confirmed_us, secret, failures, disabled_us) VALUES (:id, :k, :e, :u, :c,"
                    " :t, NULL, :s, 0, NULL) ON CONFLICT (kind, email, url) DO NOTHING"
                ),
                {
                    "id": new_id,
                    "k": kind,
                    "e": email,
                    "u": url,
                    "c": _components(components),
                    "t": now_us,
                    "s": new_secret,
                },
            )
            # Always an UPDATE: it takes the row's lock before the count below.
            conn.execute(
                text(
                    "UPDATE subscriber SET"
                    " components = CASE WHEN confirmed_us IS NULL THEN :c ELSE components END,"
                    " created_us = CASE WHEN confirmed_us IS NULL THEN :t ELSE created_us END"
                    " WHERE kind = :k AND email = :e AND url = :u"
                ),
                {"c": _components(components), "t": now_us, "k": kind, "e": email, "u": url},
            )
            subscriber_id = conn.execute(
                text("SELECT id FROM subscriber WHERE kind = :k AND email = :e AND url = :u"),
                {"k": kind, "e": email, "u": url},
            ).scalar_one()
            sent = (
                conn.execute(
                    text(
                        "SELECT occurred_us FROM subscriber_delivery WHERE subscriber_id = :i"
                        " AND kind = :kind AND occurred_us > :since ORDER BY occurred_us"
                    ),
                    {
                        "i": subscriber_id,
                        "kind": EventKind.SUBSCRIPTION_CONFIRM,
                        "since": epoch_us(now - window),
                    },
                )
                .scalars()
                .all()
            )
            if len(sent) >= limit:
                free_at = from_epoch_us(sent[len(sent) - limit]) + window
                return Requested(subscriber_id, max((free_at - now).total_seconds(), 1.0))
            _queue(
                conn,
                subscriber_id,
                f"confirm/{now_us}/{len(sent)}",  # unique under the row lock
                kind=EventKind.SUBSCRIPTION_CONFIRM,
                at_us=now_us,
                components=components,
            )
        return Requested(subscriber_id, None)

    def confirm_subscription(
        self, subscriber_id: str, components: Sequence[str], now: datetime
    ) -> tuple[Subscriber | None, bool]:
        """Confirm with the chosen components (a disabled webhook starts again); returns
        the subscriber (None: removed meanwhile) and whether it was pending until now."""
        with self._db.writing("confirm the subscription") as conn:
            before = conn.execute(
                text("SELECT confirmed_us FROM subscriber WHERE id = :i"), {"i": subscriber_id}
            ).first()
            if before is None:
                return None, False
            conn.execute(
                text(
                    "UPDATE subscriber SET components = :c, confirmed_us = :t, failures = 0,"
                    " disabled_us = NULL WHERE id = :i"
                ),
                {
                    "c": _components(components),
                    "t": before[0] if before[0] is not None else epoch_us(now),
                    "i": subscriber_id,
                },
            )
            row = conn.execute(
                text(f"SELECT {_COLUMNS} FROM subscriber WHERE id = :i"), {"i": subscriber_id}
            ).one()
        return _subscriber(row), before[0] is None

    def remove_subscriber(self, subscriber_id: str) -> bool:
        """Delete the subscriber and every message queued for it; False if there was none."""
        with self._db.writing("remove the subscriber") as conn:
            return _delete(conn, [subscriber_id]) > 0

    def remove_addresses(self, emails: Sequence[str]) -> dict[str, int]:
        """Delete every subscription (email and webhook) of these addresses, all or none:
        returns the subscriptions removed per address (0: none held, nothing removed)."""
        with self._db.writing("remove subscribers") as conn:
            ids: dict[str, list[str]] = {email: [] for email in emails}
            for email in ids:
                ids[email] = list(
                    conn.execute(
                        text("SELECT id FROM subscriber WHERE email = :e"), {"e": email}
                    ).scalars()
                )
            if all(ids.values()):
                _delete(conn, [i for found in ids.values() for i in found])
        return {email: len(found) for email, found in ids.items()}

    def add_subscribers(
        self,
        emails: Sequence[str],
        components: Sequence[str],
        now: datetime,
        *,
        confirmed: bool,
        new_ids: Sequence[str],
    ) -> list[bool]:
        """The operator's `subscribers add`: store or update each email subscriber with
        these components (confirmed at once with `confirmed`, else a confirmation is
        queued); returns for each whether it is new."""
        now_us = epoch_us(now)
        created = []
        with self._db.writing("add subscribers") as conn:
            for email, new_id in zip(emails, new_ids, strict=True):
                inserted = conn.execute(
                    text(
                        "INSERT INTO subscriber (id, kind, email, url, components, created_us,"
                        " confirmed_us, secret, failures, disabled_us) VALUES (:id, :k, :e, '',"
                        " :c, :t, :conf, NULL, 0, NULL) ON CONFLICT (kind, email, url) DO NOTHING"
                    ),
                    {
                        "id": new_id,
                        "k": SubscriberKind.EMAIL,
                        "e": email,
                        "c": _components(components),
                        "t": now_us,
                        "conf": now_us if confirmed else None,
                    },
                ).rowcount
                created.append(bool(inserted))
                conn.execute(
                    text(
                        "UPDATE subscriber SET components = :c, confirmed_us ="
                        " CASE WHEN :conf = 1 THEN COALESCE(confirmed_us, :t) ELSE confirmed_us"
                        " END WHERE kind = :k AND email = :e AND url = ''"
                    ),
                    {
                        "c": _components(components),
                        "conf": int(confirmed),
                        "t": now_us,
                        "k": SubscriberKind.EMAIL,
                        "e": email,
                    },
                )
                row = conn.execute(
                    text(
                        "SELECT id, confirmed_us FROM subscriber"
                        " WHERE kind = :k AND email = :e AND url = ''"
                    ),
                    {"k": SubscriberKind.EMAIL, "e": email},
                ).one()
                if row[1] is None:
                    _queue(
                        conn,
                        row[0],
                        f"confirm/{now_us}",
                        kind=EventKind.SUBSCRIPTION_CONFIRM,
                        at_us=now_us,
                        components=components,
                    )
        return created

    def import_subscribers(self, rows: Iterable[Imported], new_ids: Iterable[str]) -> int:
        """Store every row (an address already held takes the file's values), all or none;
        `rows` may raise as it checks its lines: nothing is stored then."""
        count = 0
        with self._db.writing("import subscribers") as conn:
            for row, new_id in zip(rows, new_ids, strict=False):
                values = {
                    "id": new_id,
                    "k": SubscriberKind.EMAIL,
                    "e": row.email,
                    "c": _components(row.components),
                    "t": epoch_us(row.created),
                    "conf": None if row.confirmed is None else epoch_us(row.confirmed),
                }
                conn.execute(
                    text(
                        "INSERT INTO subscriber (id, kind, email, url, components, created_us,"
                        " confirmed_us, secret, failures, disabled_us) VALUES (:id, :k, :e, '',"
                        " :c, :t, :conf, NULL, 0, NULL) ON CONFLICT (kind, email, url) DO UPDATE"
                        " SET components = excluded.components, created_us = excluded.created_us,"
                        " confirmed_us = excluded.confirmed_us"
                    ),
                    values,
                )
                count += 1
        return count

    # --- reading ---------------------------------------------------------------------------

    def subscribers(self) -> list[Subscriber]:
        """Every subscriber, by address."""
        with self._db.reading("read subscribers") as conn:
            rows = conn.execute(
                text(f"SELECT {_COLUMNS} FROM subscriber ORDER BY email, kind, url")
            ).all()
        return [_subscriber(row) for row in rows]

    def subscriber(self, subscriber_id: str) -> Subscriber | None:
        with self._db.reading("read the subscriber") as conn:
            row = conn.execute(
                text(f"SELECT {_COLUMNS} FROM subscriber WHERE id = :i"), {"i": subscriber_id}
            ).first()
        return None if row is None else _subscriber(row)

    # --- the fan-out -----------------------------------------------------------------------

    def fan_out(
        self,
        event_key: str,
        outbox_channel: str,
        chosen: Sequence[str],
        channels: Sequence[str],
        now: datetime,
    ) -> int:
        """Queue the event for every active subscriber of `channels` whose components meet
        `chosen` (or who chose none), and mark the event's outbox delivery on
        `outbox_channel` sent, in one transaction; returns the messages queued.

        Run twice (a crash before the commit), it queues each message once.
        """
        now_us = epoch_us(now)
        touched = set(chosen)
        with self._db.writing("fan out a notice") as conn:
            head = conn.execute(
                text(
                    "SELECT e.kind, e.occurred_us FROM notify_delivery d JOIN notify_event e"
                    " ON e.key = d.event_key WHERE d.event_key = :k AND d.channel = :c"
                    " AND d.state = :pending"
                ),
                {"k": event_key, "c": outbox_channel, "pending": DeliveryState.PENDING},
            ).first()
            if head is None:
                return 0  # fanned out already (or given up)
            kind, occurred_us = head
            marks = ", ".join(f":c{i}" for i in range(len(channels)))
            rows = conn.execute(
                text(
                    "SELECT id, kind, components FROM subscriber WHERE confirmed_us IS NOT NULL"
                    f" AND disabled_us IS NULL AND kind IN ({marks}) ORDER BY id"
                ),
                {f"c{i}": channel for i, channel in enumerate(channels)},
            ).all()
            queued = [
                {
                    "i": subscriber_id,
                    "k": event_key,
                    "ch": subscriber_kind,
                    "kind": kind,
                    "t": occurred_us,
                    "s": DeliveryState.PENDING,
                    "n": now_us,
                }
                for subscriber_id, subscriber_kind, components in rows
                if _meets(json.loads(components), touched)
            ]
            if queued:
                conn.execute(
                    text(
                        "INSERT INTO subscriber_delivery (subscriber_id, key, channel, kind,"
                        " occurred_us, state, attempts, next_attempt_us, done_us, payload)"
                        " VALUES (:i, :k, :ch, :kind, :t, :s, 0, :n, NULL, NULL)"
                        " ON CONFLICT (subscriber_id, key) DO NOTHING"
                    ),
                    queued,
                )
            conn.execute(
                text(
                    "UPDATE notify_delivery SET state = :s, done_us = :now"
                    " WHERE event_key = :k AND channel = :c AND state = :pending"
                ),
                {
                    "s": DeliveryState.SENT,
                    "now": now_us,
                    "k": event_key,
                    "c": outbox_channel,
                    "pending": DeliveryState.PENDING,
                },
            )
        return len(queued)

    def due_messages(self, channel: str, now: datetime, limit: int) -> list[Due]:
        """Pending messages of `channel` due by `now`, oldest event first, then by subscriber."""
        with self._db.reading("read pending subscriber messages") as conn:
            rows = conn.execute(
                text(
                    f"SELECT {', '.join('s.' + c.strip() for c in _COLUMNS.split(','))},"
                    " d.key, d.channel, d.kind, d.occurred_us, d.attempts, d.payload, e.payload"
                    " FROM subscriber_delivery d JOIN subscriber s ON s.id = d.subscriber_id"
                    " LEFT JOIN notify_event e ON e.key = d.key"
                    " WHERE d.channel = :c AND d.state = :s AND d.next_attempt_us <= :now"
                    " ORDER BY d.occurred_us, d.key, d.subscriber_id LIMIT :n"
                ),
                {"c": channel, "s": DeliveryState.PENDING, "now": epoch_us(now), "n": limit},
            ).all()
        payloads: dict[str, dict[str, Any]] = {}  # one event's payload, parsed once
        found = []
        for row in rows:
            key, own, event = row[10], row[15], row[16]
            if own is not None:
                payload = json.loads(own)
            else:
                if key not in payloads:
                    payloads[key] = json.loads(event) if event is not None else {}
                payload = payloads[key]
            found.append(
                Due(
                    subscriber=_subscriber(row[:10]),
                    key=key,
                    channel=row[11],
                    kind=row[12],
                    occurred=from_epoch_us(row[13]),
                    attempts=int(row[14]),
                    payload=payload,
                )
            )
        return found

    def finish_message(
        self, subscriber_id: str, key: str, state: str, now: datetime, *, attempted: bool = True
    ) -> None:
        """Mark a message sent or given up (only if still pending: never twice)."""
        with self._db.writing("mark a subscriber message") as conn:
            conn.execute(_FINISH, _finish_values(subscriber_id, key, state, now, attempted))

    @contextmanager
    def message_marks(self) -> Iterator[Callable[[str, str, str, datetime], None]]:
        """`mark(subscriber_id, key, state, now)` for a run of sends: each mark its own
        committed transaction, on one kept connection, through the driver itself (a sender
        marks every message right after the server takes it, hundreds a second; the
        SQLAlchemy layer cost three times the statement)."""
        sql = _FINISH_SQL.format(m=self._db.dialect.mark)
        with self._db.connection("mark subscriber messages") as conn:
            raw = conn.connection.driver_connection
            assert raw is not None
            failed: type[Exception] = conn.dialect.loaded_dbapi.Error

            def mark(subscriber_id: str, key: str, state: str, now: datetime) -> None:
                values = (state, epoch_us(now), subscriber_id, key, DeliveryState.PENDING.value)
                try:
                    cursor = raw.cursor()
                    try:
                        cursor.execute(sql, values)
                    finally:
                        cursor.close()
                    raw.commit()
                except failed as exc:
                    with contextlib.suppress(failed):
                        raw.rollback()
                    detail = scrub(str(exc).splitlines()[0], self._db.url)
                    raise StoreError(
                        f"{redact_url(self._db.url)}: cannot mark subscriber messages: {detail}"
                    ) from None

            yield mark

    def retry_message(self, subscriber_id: str, key: str, at: datetime) -> None:
        with self._db.writing("mark a failed subscriber message") as conn:
            conn.execute(
                text(
                    "UPDATE subscriber_delivery SET attempts = attempts + 1, next_attempt_us = :t"
                    " WHERE subscriber_id = :i AND key = :k AND state = :pending"
                ),
                {"t": epoch_us(at), "i": subscriber_id, "k": key, "pending": DeliveryState.PENDING},
            )

    def webhook_outcome(
        self, subscriber_id: str, ok: bool, now: datetime, *, disable_after: int
    ) -> bool:
        """Count a webhook delivery: a success ends the run of failures; the
        `disable_after`-th failure in a row disables the webhook, gives up its pending
        deliveries and queues one email to its owner. True when it was disabled now."""
        now_us = epoch_us(now)
        with self._db.writing("count a webhook delivery") as conn:
            if ok:
                conn.execute(
                    text("UPDATE subscriber SET failures = 0 WHERE id = :i AND failures > 0"),
                    {"i": subscriber_id},
                )
                return False
            disabled = conn.execute(
                text(
                    "UPDATE subscriber SET failures = failures + 1, disabled_us = CASE WHEN"
                    " failures + 1 >= :most THEN :t ELSE NULL END WHERE id = :i"
                    " AND disabled_us IS NULL"
                    " RETURNING disabled_us"
                ),
                {"most": disable_after, "t": now_us, "i": subscriber_id},
            ).scalar()
            if disabled is None:
                return False
            conn.execute(
                text(
                    "UPDATE subscriber_delivery SET state = :given_up, done_us = :t"
                    " WHERE subscriber_id = :i AND channel = :c AND state = :pending"
                ),
                {
                    "given_up": DeliveryState.GIVEN_UP,
                    "t": now_us,
                    "i": subscriber_id,
                    "c": SubscriberKind.WEBHOOK,
                    "pending": DeliveryState.PENDING,
                },
            )
            _queue(
                conn,
                subscriber_id,
                f"disabled/{now_us}",
                kind=EventKind.WEBHOOK_DISABLED,
                at_us=now_us,
            )
        return True

    def prune_subscribers(
        self, now: datetime, *, pending_for: timedelta, keep_done: timedelta
    ) -> tuple[int, int]:
        """Forget subscriptions never confirmed within `pending_for` (their links are dead)
        and messages done longer than `keep_done` ago; returns (subscribers, messages)."""
        with self._db.writing("prune subscribers") as conn:
            stale = list(
                conn.execute(
                    text(
                        "SELECT id FROM subscriber WHERE confirmed_us IS NULL AND created_us < :t"
                    ),
                    {"t": epoch_us(now - pending_for)},
                ).scalars()
            )
            _delete(conn, stale)
            done = conn.execute(
                text("DELETE FROM subscriber_delivery WHERE state <> :pending AND done_us < :t"),
                {"pending": DeliveryState.PENDING, "t": epoch_us(now - keep_done)},
            ).rowcount
        return len(stale), done

    def pending_messages(self) -> dict[str, int]:
        """Pending messages per channel (the outbox depth gauge)."""
        with self._db.reading("count pending subscriber messages") as conn:
            rows = conn.execute(
                text(
                    "SELECT channel, count(*) FROM subscriber_delivery WHERE state = :s"
                    " GROUP BY channel"
                ),
                {"s": DeliveryState.PENDING},
            ).all()
        return {channel: int(count) for channel, count in rows}


# The same for the driver's own parameter marks ({m}); values in this order.
_FINISH_SQL = (
    "UPDATE subscriber_delivery SET state = {m}, done_us = {m}, attempts = attempts + 1"
    " WHERE subscriber_id = {m} AND key = {m} AND state = {m}"
)
_FINISH = text(
    "UPDATE subscriber_delivery SET state = :s, done_us = :now, attempts = attempts + :a"
    " WHERE subscriber_id = :i AND key = :k AND state = :pending"
)


def _finish_values(
    subscriber_id: str, key: str, state: str, now: datetime, attempted: bool
) -> dict[str, Any]:
    return {
        "s": state,
        "now": epoch_us(now),
        "a": int(attempted),
        "i": subscriber_id,
        "k": key,
        "pending": DeliveryState.PENDING,
    }


def _meets(components: list[str], touched: set[str]) -> bool:
    """A subscriber who chose no component hears about every one; an event that names no
    component (an operator incident about everything) reaches every subscriber."""
    return not components or not touched or not touched.isdisjoint(components)


def _queue(
    conn: Connection,
    subscriber_id: str,
    key: str,
    *,
    kind: str,
    at_us: int,
    components: Iterable[str] = (),
) -> None:
    """An email to the subscriber (a confirmation carries the component choice it confirms)."""
    conn.execute(
        text(
            "INSERT INTO subscriber_delivery (subscriber_id, key, channel, kind, occurred_us,"
            " state, attempts, next_attempt_us, done_us, payload) VALUES (:i, :k, :ch, :kind,"
            " :t, :s, 0, :t, NULL, :p) ON CONFLICT (subscriber_id, key) DO NOTHING"
        ),
        {
            "i": subscriber_id,
            "k": key,
            "ch": SubscriberKind.EMAIL,
            "kind": kind,
            "t": at_us,
            "s": DeliveryState.PENDING,
            "p": json.dumps({"components": sorted(set(components))}),
        },
    )


def _delete(conn: Connection, ids: Sequence[str]) -> int:
    deleted = 0
    for start in range(0, len(ids), _IN_LIST):
        part = list(ids[start : start + _IN_LIST])
        marks = ", ".join(f":i{n}" for n in range(len(part)))
        values = {f"i{n}": value for n, value in enumerate(part)}
        conn.execute(
            text(f"DELETE FROM subscriber_delivery WHERE subscriber_id IN ({marks})"), values
        )
        gone = conn.execute(text(f"DELETE FROM subscriber WHERE id IN ({marks})"), values)
        deleted += gone.rowcount
    return deleted
