"""The SQLModel tables: every table of the database is defined here and nowhere else.

Add a table here (and an Alembic revision in monitor/migrations/versions) to give the
store a new kind of record; `tests/monitor/test_migrations.py` checks the two agree.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, LargeBinary
from sqlalchemy.types import BigInteger
from sqlmodel import Field, SQLModel


class Series(SQLModel, table=True):
    """One (target, family, location): probes refer to it by a small integer."""

    __tablename__ = "series"
    __table_args__ = (
        Index("ux_series_key", "target", "family", "location", unique=True),
        {"sqlite_autoincrement": True},
    )
    id: int | None = Field(default=None, primary_key=True)
    target: str
    family: str
    location: str


class ProbeRow(SQLModel, table=True):
    """One probe. `series_id` has no foreign key (migration 0003): series are never deleted."""

    __tablename__ = "probe_result"
    __table_args__ = ({"sqlite_with_rowid": False},)
    series_id: int = Field(primary_key=True)
    started_us: int = Field(sa_column=Column(BigInteger, primary_key=True))
    success: bool
    reason: str | None = None
    status_code: int | None = None
    latency_ms: float | None = None
    resolve_ms: float | None = None
    connect_ms: float | None = None
    tls_ms: float | None = None
    processing_ms: float | None = None
    transfer_ms: float | None = None
    tls_version: str | None = None
    cert_expiry_us: int | None = Field(default=None, sa_column=Column(BigInteger))
    address: str | None = None


# Column order of a full probe row as the writer stores it.
PROBE_COLUMNS = tuple(ProbeRow.model_fields)


class RollupChunk(SQLModel, table=True):
    """CHUNK_SLICES slices of one series' rollup (monitor.store.rollup), compressed."""

    __tablename__ = "slice_rollup"
    series_id: int = Field(primary_key=True)
    slice_seconds: int = Field(primary_key=True)
    chunk: int = Field(primary_key=True)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class RollupLength(SQLModel, table=True):
    """Slice lengths whose rollups are complete; every writer keeps all of them current."""

    __tablename__ = "rollup_length"
    slice_seconds: int = Field(primary_key=True)


class IncidentRow(SQLModel, table=True):
    """An operator incident of the status page; its status is its latest update's."""

    __tablename__ = "status_incident"
    id: str = Field(primary_key=True)
    title: str
    impact: str
    components: str  # JSON list of component names
    created_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    # JSON object {component name: status} an operator set (`--component NAME=STATUS`)
    component_statuses: str | None = None


class IncidentUpdateRow(SQLModel, table=True):
    __tablename__ = "status_incident_update"
    id: str = Field(primary_key=True)
    incident_id: str = Field(index=True)
    status: str
    message: str
    created_us: int = Field(sa_column=Column(BigInteger, nullable=False))


class NotifyEvent(SQLModel, table=True):
    """A notification event, recorded once by whichever monitor sees it first (key wins)."""

    __tablename__ = "notify_event"
    key: str = Field(primary_key=True)
    kind: str
    occurred_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    payload: str  # JSON: what the templates need


class NotifyDelivery(SQLModel, table=True):
    """One event on one channel: pending until sent, given up, or skipped (no backfill)."""

    __tablename__ = "notify_delivery"
    __table_args__ = (Index("ix_notify_delivery_pending", "channel", "state", "occurred_us"),)
    event_key: str = Field(primary_key=True)
    channel: str = Field(primary_key=True)
    occurred_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    state: str
    attempts: int = 0
    next_attempt_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    done_us: int | None = Field(default=None, sa_column=Column(BigInteger))
    last_error: str | None = None


class NotifyLease(SQLModel, table=True):
    """Who sends on a channel (or writes a month's statements) until when: one at a time."""

    __tablename__ = "notify_lease"
    name: str = Field(primary_key=True)
    holder: str
    until_us: int = Field(sa_column=Column(BigInteger, nullable=False))


class PromiseRunRow(SQLModel, table=True):
    """Consecutive promise checks of one (promise, target, family, location) with one result.

    A run never spans two months of sla.timezone, so a month's counts are exact sums.
    """

    __tablename__ = "promise_run"
    __table_args__ = (Index("ix_promise_run_first", "first_us"), {"sqlite_autoincrement": True})
    id: int | None = Field(default=None, primary_key=True)
    promise: str
    target: str
    family: str
    location: str
    kept: bool
    first_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    checks: int
    detail: str


class WebhookEventRow(SQLModel, table=True):
    """One event a webhook receiver has seen: what tells a retry from a duplicate."""

    __tablename__ = "webhook_event"
    receiver: str = Field(primary_key=True)
    event_id: str = Field(primary_key=True)
    first_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    attempts: int  # first attempt and retries (duplicates are not attempts)
    delivered: bool  # answered 2xx


class WebhookDeliveryRow(SQLModel, table=True):
    """One delivery with a valid signature, as classified: the promise report's figures."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index("ix_webhook_delivery_received", "received_us"),
        {"sqlite_autoincrement": True},
    )
    id: int | None = Field(default=None, primary_key=True)
    receiver: str
    event_id: str
    received_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    kind: str  # first, retry, duplicate
    retry: int | None = None
    latency_s: float | None = None
    delay_s: float | None = None
    answered: int  # the HTTP status we answered


class SubscriberRow(SQLModel, table=True):
    """A customer's own subscription to notices: by email, or a webhook with its owner's email.

    What it holds is what the notices need and nothing more: the address (lower case),
    the components chosen (JSON list of names; empty: all), when it was asked for and when
    confirmed; a webhook also its URL, the secret that signs its deliveries, and its run
    of failed deliveries (disabled after too many).
    """

    __tablename__ = "subscriber"
    __table_args__ = (Index("ux_subscriber_address", "kind", "email", "url", unique=True),)
    id: str = Field(primary_key=True)  # random: it stands in the signed links
    kind: str  # email | webhook
    email: str
    url: str = ""  # the webhook's URL ("" for email subscribers)
    components: str  # JSON list of component names; [] means every component
    created_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    confirmed_us: int | None = Field(default=None, sa_column=Column(BigInteger))
    secret: str | None = None  # a webhook's signing secret
    failures: int = 0  # consecutive failed webhook deliveries
    disabled_us: int | None = Field(default=None, sa_column=Column(BigInteger))


class SubscriberDelivery(SQLModel, table=True):
    """One message to one subscriber: a notice (its key is the event's), a confirmation
    (`confirm/...`) or a webhook's disabled notice; pending until sent or given up."""

    __tablename__ = "subscriber_delivery"
    __table_args__ = (Index("ix_subscriber_delivery_due", "channel", "state", "next_attempt_us"),)
    subscriber_id: str = Field(primary_key=True)
    key: str = Field(primary_key=True)
    channel: str  # email | webhook
    kind: str  # incident_opened, ..., subscription_confirm, webhook_disabled
    occurred_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    state: str
    attempts: int = 0
    next_attempt_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    done_us: int | None = Field(default=None, sa_column=Column(BigInteger))
    payload: str | None = None  # a confirmation: the component choice its link confirms
