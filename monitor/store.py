"""Where probe results live: SQLite by default, PostgreSQL by URL.

The SQLModel tables are defined here and nowhere else; callers see ProbeResult and
SeriesSlices. Writes go in batches inside one transaction each, and every batch also
updates the per-slice rollups (monitor.rollup) so a monthly report never has to read
raw rows. A probe is identified by (series, start time): writing it twice stores it once.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain, groupby
from operator import itemgetter
from typing import Any

import numpy as np
from sqlalchemy import Column, Index, LargeBinary, event, inspect, text
from sqlalchemy.engine import Connection, Engine, Row, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.types import BigInteger
from sqlmodel import Field, SQLModel, create_engine

from monitor import bulk, rollup
from monitor.errors import StoreError
from monitor.results import PHASES, ProbeResult, Reason
from sla.model import LastState, SeriesSlices


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


class RollupChunk(SQLModel, table=True):
    __tablename__ = "slice_rollup"
    series_id: int = Field(primary_key=True)
    slice_seconds: int = Field(primary_key=True)
    chunk: int = Field(primary_key=True)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class RollupLength(SQLModel, table=True):
    """Slice lengths whose rollups are complete; every writer keeps all of them current."""

    __tablename__ = "rollup_length"
    slice_seconds: int = Field(primary_key=True)


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


class IncidentRow(SQLModel, table=True):
    """An operator incident of the status page; its status is its latest update's."""

    __tablename__ = "status_incident"
    id: str = Field(primary_key=True)
    title: str
    impact: str
    components: str  # JSON list of component names
    created_us: int = Field(sa_column=Column(BigInteger, nullable=False))


class IncidentUpdateRow(SQLModel, table=True):
    __tablename__ = "status_incident_update"
    id: str = Field(primary_key=True)
    incident_id: str = Field(index=True)
    status: str
    message: str
    created_us: int = Field(sa_column=Column(BigInteger, nullable=False))


@dataclass(frozen=True)
class StoredUpdate:
    id: str
    status: str
    message: str
    created: datetime


@dataclass(frozen=True)
class StoredIncident:
    id: str
    title: str
    impact: str
    components: tuple[str, ...]
    created: datetime
    updates: tuple[StoredUpdate, ...]  # oldest first; the first is the opening message


# Column order of a probe row as the bulk paths write it.
COLUMNS = tuple(ProbeRow.model_fields)
_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EMPTY_CHUNK = rollup.encode(rollup.empty_chunk())
log = logging.getLogger(__name__)
_SQLITE_IN_LIST = 500  # series ids per "IN (...)": well under SQLite's parameter limit
_SCHEMA_LOCK_KEY = 0x75707469_6D65  # any constant bigint, the same in every uptime-sla
# The newest revision in monitor/migrations (a test keeps the two equal): a database
# already there is opened without loading Alembic at all.
SCHEMA_REVISION = "0005"


def to_us(moment: datetime) -> int:
    """Exact epoch microseconds (no float rounding)."""
    delta = moment - _UNIX_EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(value: int) -> datetime:
    return datetime.fromtimestamp(value // 1_000_000, UTC).replace(microsecond=value % 1_000_000)


def outcome_state(success: bool, reason: str | None) -> LastState:
    if reason == Reason.RATE_LIMITED:
        return LastState.RATE_LIMITED
    return LastState.OK if success else LastState.FAILED


@dataclass(frozen=True)
class Batch:
    """Probe rows in columns, keyed by series id: the shape both writers and imports use."""

    series_id: np.ndarray  # int64
    started_us: np.ndarray  # int64
    state: np.ndarray  # uint8 LastState
    # Same order as the arrays: full rows in COLUMNS order, or an import's columns.
    rows: list[tuple[Any, ...]] | bulk.Measured


def redact_url(url: str) -> str:
    """The database URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid database URL>"


class Store:
    """The database; safe to share between threads (SQLAlchemy pools the connections)."""

    def __init__(self, url: str, rollup_seconds: int = 60) -> None:
        self.url = url
        self.rollup_seconds = rollup_seconds
        self._series_ids: dict[tuple[str, str, str], int] = {}
        try:
            self.engine: Engine = create_engine(url, pool_pre_ping=True)
        except (ArgumentError, ImportError) as exc:
            raise StoreError(f"storage.url: cannot use {redact_url(url)}: {exc}") from None
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._mark = "?" if self.is_sqlite else "%s"  # the driver's own parameter marker
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
            # pysqlite opens transactions lazily; take the write lock up front instead.
            event.listen(self.engine, "begin", _sqlite_begin)
        # Writers take SQLite's write lock up front; readers never do (WAL lets them read on).
        self._writing = self.engine.execution_options(write=True)
        # One transaction, serialized: several monitors may start at once on a fresh database.
        with self._errors("create the schema"), self._writing.begin() as conn:
            self._lock_schema(conn)
            self._migrate(conn)
            self._register_length(conn, rollup_seconds)

    def describe(self) -> str:
        return redact_url(self.url)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        try:
            yield
        except SQLAlchemyError as exc:
            detail = str(getattr(exc, "orig", exc)).splitlines()[0]
            raise StoreError(f"{redact_url(self.url)}: cannot {doing}: {detail}") from None

    # --- writing ---------------------------------------------------------------------

    def write(self, results: Sequence[ProbeResult]) -> int:
        """Store a batch from the prober in one transaction; returns rows newly stored."""
        if not results:
            return 0
        with self._errors("write probe results"), self._writing.begin() as conn:
            ids = [self.series_id(conn, r.target, r.family, r.location) for r in results]
            rows = [_row(series_id, r) for series_id, r in zip(ids, results, strict=True)]
            return self.write_rows(conn, batch_of(rows))

    def transaction(self) -> Any:
        """A write transaction for a caller that writes several batches atomically (import)."""
        return self._writing.begin()

    def series_id(self, conn: Connection, target: str, family: str, location: str) -> int:
        key = (target, family, location)
        if key not in self._series_ids:
            found = conn.execute(
                text("SELECT id FROM series WHERE target=:t AND family=:f AND location=:l"),
                {"t": target, "f": family, "l": location},
            ).scalar()
            if found is None:
                # Another process may insert the same series now: its row then wins.
                conn.execute(
                    text(
                        "INSERT INTO series (target, family, location) VALUES (:t, :f, :l)"
                        " ON CONFLICT (target, family, location) DO NOTHING"
                    ),
                    {"t": target, "f": family, "l": location},
                )
                found = conn.execute(
                    text("SELECT id FROM series WHERE target=:t AND family=:f AND location=:l"),
                    {"t": target, "f": family, "l": location},
                ).scalar_one()
            self._series_ids[key] = found
        return self._series_ids[key]

    def forget_series_cache(self) -> None:
        """After a rolled-back transaction the ids it created do not exist."""
        self._series_ids.clear()

    def write_rows(self, conn: Connection, batch: Batch) -> int:
        """Insert the rows not stored yet and fold them into every kept rollup."""
        # Key order also turns B-tree inserts into appends.
        order = np.lexsort((batch.started_us, batch.series_id))
        fresh = self._new_only(conn, batch, order)
        if not fresh.any():
            return 0
        keep = order[fresh[order]]
        self._bulk_insert(conn, batch, keep)
        lengths = conn.execute(text("SELECT slice_seconds FROM rollup_length")).scalars().all()
        for slice_seconds in lengths:
            self._merge_rollups(
                conn,
                slice_seconds,
                batch.series_id[keep],
                batch.started_us[keep],
                batch.state[keep],
            )
        return len(keep)

    def _new_only(self, conn: Connection, batch: Batch, order: np.ndarray) -> np.ndarray:
        """Mask of rows that are neither stored already nor repeated earlier in the batch.

        One query fetches the stored keys of the batch's series and time span; `order`
        sorts the batch by (series, start), so each series is one slice of it.
        """
        series, started = batch.series_id[order], batch.started_us[order]
        fresh = np.ones(len(order), dtype=bool)
        fresh[1:] = (np.diff(series) != 0) | (np.diff(started) != 0)
        stored: dict[int, list[int]] = defaultdict(list)
        sql = (
            "SELECT series_id, started_us FROM probe_result"
            " WHERE {series} AND started_us BETWEEN {mark} AND {mark}"
        )
        for series_id, started_us in self._select_by_series(
            conn, sql, np.unique(series).tolist(), int(started.min()), int(started.max())
        ):
            stored[series_id].append(started_us)
        if stored:
            bounds = np.flatnonzero(np.diff(series)) + 1
            for first, end in zip(np.r_[0, bounds], np.r_[bounds, len(order)], strict=True):
                known = stored.get(int(series[first]))
                if known:
                    fresh[first:end] &= ~np.isin(started[first:end], np.asarray(known, np.int64))
        mask = np.empty_like(fresh)
        mask[order] = fresh
        return mask

    def _select_by_series(
        self, conn: Connection, sql: str, series_ids: list[int], *params: Any
    ) -> Iterator[tuple[Any, ...]]:
        """Rows of `sql`, whose `{series}` means "series_id is one of these" and `{mark}`
        a parameter after them: an array for PostgreSQL, lists of marks for SQLite."""
        cursor = conn.connection.driver_connection.cursor()
        try:
            if not self.is_sqlite:
                cursor.execute(
                    sql.format(series="series_id = ANY(%s)", mark="%s"), (series_ids, *params)
                )
                yield from cursor.fetchall()
                return
            for start in range(0, len(series_ids), _SQLITE_IN_LIST):
                part = series_ids[start : start + _SQLITE_IN_LIST]
                marks = ",".join("?" * len(part))
                cursor.execute(
                    sql.format(series=f"series_id IN ({marks})", mark="?"), (*part, *params)
                )
                yield from cursor.fetchall()
        finally:
            cursor.close()

    def _bulk_insert(self, conn: Connection, batch: Batch, keep: np.ndarray) -> None:
        raw = conn.connection.driver_connection
        if isinstance(batch.rows, bulk.Measured):
            series_id, started_us = batch.series_id[keep], batch.started_us[keep]
            measured = batch.rows.take(keep)
            if self.is_sqlite:
                values = bulk.measured_values(series_id, started_us, measured)
                bulk.sqlite_insert(raw, "probe_result", bulk.MEASURED_COLUMNS, values)
                return
            copy_sql = f"COPY probe_result ({','.join(bulk.MEASURED_COLUMNS)}) FROM STDIN"
            with raw.cursor() as cursor, cursor.copy(f"{copy_sql} (FORMAT binary)") as copy:
                copy.write(bulk.copy_binary(series_id, started_us, measured))
            return
        rows = [batch.rows[i] for i in keep]
        if self.is_sqlite:
            bulk.sqlite_insert(raw, "probe_result", COLUMNS, list(chain.from_iterable(rows)))
        else:
            with (
                raw.cursor() as cursor,
                cursor.copy(f"COPY probe_result ({','.join(COLUMNS)}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)

    def _merge_rollups(
        self,
        conn: Connection,
        slice_seconds: int,
        series_ids: np.ndarray,
        started_us: np.ndarray,
        states: np.ndarray,
    ) -> None:
        """Fold new rows into their (series, chunk) rollups: one read, one write per batch."""
        chunks = rollup.chunk_keys(started_us, slice_seconds)
        order = np.lexsort((chunks, series_ids))
        series_ids, chunks = series_ids[order], chunks[order]
        started_us, states = started_us[order], states[order]
        edges = np.flatnonzero((np.diff(series_ids) != 0) | (np.diff(chunks) != 0)) + 1
        firsts, ends = np.r_[0, edges], np.r_[edges, len(order)]
        keys = list(zip(series_ids[firsts].tolist(), chunks[firsts].tolist(), strict=True))
        marks = ", ".join([self._mark] * 4)
        upsert = (
            f"INSERT INTO slice_rollup (series_id, slice_seconds, chunk, data) VALUES ({marks})"
            " ON CONFLICT (series_id, slice_seconds, chunk)"
        )
        raw = conn.connection.driver_connection
        lock = ""
        if not self.is_sqlite:
            # A row to lock even for a new chunk, so two writers of one series queue up
            # here instead of both merging into an empty chunk (SQLite: BEGIN IMMEDIATE).
            with raw.cursor() as cursor:
                cursor.executemany(
                    f"{upsert} DO NOTHING", [(s, slice_seconds, c, _EMPTY_CHUNK) for s, c in keys]
                )
            lock = " ORDER BY series_id, chunk FOR UPDATE"  # one order: no deadlocks
        sql = (
            "SELECT series_id, chunk, data FROM slice_rollup WHERE {series}"
            " AND slice_seconds={mark} AND chunk BETWEEN {mark} AND {mark}" + lock
        )
        stored = {
            (series_id, chunk_no): blob
            for series_id, chunk_no, blob in self._select_by_series(
                conn,
                sql,
                sorted({s for s, _ in keys}),
                slice_seconds,
                int(chunks.min()),
                int(chunks.max()),
            )
        }
        merged = []
        for (series_id, chunk_no), first, end in zip(keys, firsts, ends, strict=True):
            blob = stored.get((series_id, chunk_no))
            chunk = rollup.decode(blob) if blob is not None else rollup.empty_chunk()
            probes = rollup.Probes(started_us[first:end], states[first:end])
            rollup.merge(chunk, chunk_no, probes, slice_seconds)
            merged.append((series_id, slice_seconds, chunk_no, rollup.encode(chunk)))
        cursor = raw.cursor()
        try:
            cursor.executemany(f"{upsert} DO UPDATE SET data = excluded.data", merged)
        finally:
            cursor.close()

    def _lock_schema(self, conn: Connection) -> None:
        """Until this transaction ends, no other process changes the schema or rollup lengths.

        SQLite's BEGIN IMMEDIATE already serializes writers; PostgreSQL needs a lock, or two
        monitors starting together both try to CREATE TABLE (or register a slice length).
        """
        if not self.is_sqlite:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SCHEMA_LOCK_KEY})

    def _migrate(self, conn: Connection) -> None:
        """Bring the schema to SCHEMA_REVISION (see monitor.migrations)."""
        tables = inspect(conn)
        stored = None
        if tables.has_table("alembic_version"):
            stored = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        if stored != SCHEMA_REVISION:
            from monitor import migrations  # noqa: PLC0415 (Alembic takes 0.2 s to import)

            migrations.upgrade(conn, self.describe(), pre_migrations=tables.has_table("series"))

    def _register_length(self, conn: Connection, slice_seconds: int) -> None:
        """Make sure rollups of this slice length exist, building them from raw rows once."""
        known = _length_known(conn, slice_seconds)
        if known:
            return
        conn.execute(text("DELETE FROM slice_rollup WHERE slice_seconds=:n"), {"n": slice_seconds})
        for series_id, started_us, states in self._raw_by_series(conn):
            self._merge_rollups(
                conn, slice_seconds, np.full(len(started_us), series_id), started_us, states
            )
        conn.execute(
            text("INSERT INTO rollup_length (slice_seconds) VALUES (:n)"), {"n": slice_seconds}
        )

    def _raw_by_series(self, conn: Connection) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        for series_id in conn.execute(text("SELECT id FROM series")).scalars().all():
            rows = conn.execute(
                text("SELECT started_us, success, reason FROM probe_result WHERE series_id=:s"),
                {"s": series_id},
            ).all()
            if rows:
                started = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
                states = np.fromiter(
                    (outcome_state(bool(r[1]), r[2]) for r in rows), dtype=np.uint8, count=len(rows)
                )
                yield series_id, started, states

    def prune_raw(self, before: datetime) -> int:
        """Delete raw probe rows that started before `before`; the slice rollups stay.

        Reports read only rollups, so old months keep their figures. What is lost: the
        rows themselves, and rebuilding rollups for a new `sla.slice` over pruned time.
        """
        with self._errors("prune old probe results"), self._writing.begin() as conn:
            deleted = conn.execute(
                text("DELETE FROM probe_result WHERE started_us < :t"), {"t": to_us(before)}
            )
            return deleted.rowcount

    # --- reading ---------------------------------------------------------------------

    def results(self, target: str | None = None) -> list[ProbeResult]:
        """Stored probes as domain objects, oldest first (for tests and small tools)."""
        query = (
            "SELECT s.target, s.family, s.location, p.started_us, p.success, p.reason,"
            " p.status_code, p.latency_ms, p.resolve_ms, p.connect_ms, p.tls_ms,"
            " p.processing_ms, p.transfer_ms, p.tls_version, p.cert_expiry_us, p.address"
            " FROM probe_result p JOIN series s ON s.id = p.series_id"
        )
        params: dict[str, Any] = {}
        if target is not None:
            query += " WHERE s.target = :t"
            params["t"] = target
        with self._errors("read probe results"), self.engine.connect() as conn:
            rows = conn.execute(text(query + " ORDER BY p.started_us"), params).all()
        return [_result(row) for row in rows]

    def load_slices(
        self, slice_seconds: int, first_slice: int, end_slice: int, targets: Iterable[str]
    ) -> list[SeriesSlices]:
        """Per-slice rollups of every series of these targets over [first_slice, end_slice).

        A series starts later than `first_slice` when nothing is stored before that.
        """
        with self.slice_reader(slice_seconds, first_slice, end_slice) as load:
            return [series for target in targets for series in load(target)]

    @contextmanager
    def slice_reader(
        self, slice_seconds: int, first_slice: int, end_slice: int
    ) -> Iterator[Callable[[str], list[SeriesSlices]]]:
        """A loader of one target's series at a time over [first_slice, end_slice).

        Thousands of targets' months do not fit in memory at once, one target's does; one
        connection (and one read transaction) serves every call. A series starts at its
        first stored chunk when that is later than `first_slice`: nothing before it.
        """
        with self._errors("read slice rollups"), self.engine.connect() as conn:
            known = _length_known(conn, slice_seconds)
        if not known:
            with self._errors("build slice rollups"), self._writing.begin() as conn:
                self._lock_schema(conn)
                self._register_length(conn, slice_seconds)
        mark = self._mark  # driver SQL: one query per target, compiling it costs as much
        query = (
            "SELECT s.family, s.location, r.chunk, r.data FROM series s"
            " JOIN slice_rollup r ON r.series_id = s.id"
            f" WHERE s.target={mark} AND r.slice_seconds={mark}"
            f" AND r.chunk BETWEEN {mark} AND {mark} ORDER BY s.id, r.chunk"
        )
        chunks = (
            slice_seconds,
            first_slice // rollup.CHUNK_SLICES,
            (end_slice - 1) // rollup.CHUNK_SLICES,
        )
        with self._errors("read slice rollups"), self.engine.connect() as conn:

            def load(target: str) -> list[SeriesSlices]:
                rows = conn.exec_driver_sql(query, (target, *chunks)).all()
                return [
                    _series_slices(target, list(series), first_slice, end_slice)
                    for _, series in groupby(rows, key=itemgetter(0, 1))
                ]

            yield load

    # --- status page incidents -------------------------------------------------------

    def add_incident(self, incident: StoredIncident) -> None:
        """Store a new operator incident with its opening update(s), in one transaction."""
        with self._errors("store the incident"), self._writing.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO status_incident (id, title, impact, components, created_us)"
                    " VALUES (:i, :t, :m, :c, :at)"
                ),
                {
                    "i": incident.id,
                    "t": incident.title,
                    "m": incident.impact,
                    "c": json.dumps(list(incident.components)),
                    "at": to_us(incident.created),
                },
            )
            for update in incident.updates:
                _insert_update(conn, incident.id, update)

    def add_incident_update(self, incident_id: str, update: StoredUpdate) -> bool:
        """Add an update; False (and nothing stored) when no incident has that id."""
        with self._errors("store the incident update"), self._writing.begin() as conn:
            known = conn.execute(
                text("SELECT 1 FROM status_incident WHERE id=:i"), {"i": incident_id}
            ).scalar()
            if not known:
                return False
            _insert_update(conn, incident_id, update)
            return True

    def recent_latencies(self, target: str, since: datetime, count: int) -> list[float]:
        """Latency (ms) of the target's latest answered probes since `since`, newest first."""
        query = (
            "SELECT p.latency_ms FROM series s JOIN probe_result p ON p.series_id = s.id"
            " WHERE s.target = :t AND p.started_us >= :since AND p.status_code IS NOT NULL"
            " ORDER BY p.started_us DESC LIMIT :n"
        )
        with self._errors("read latencies"), self.engine.connect() as conn:
            rows = conn.execute(text(query), {"t": target, "since": to_us(since), "n": count})
            return [row[0] for row in rows if row[0] is not None]

    def operator_incidents(self) -> list[StoredIncident]:
        """Every operator incident with its updates, oldest first."""
        with self._errors("read incidents"), self.engine.connect() as conn:
            heads = conn.execute(
                text(
                    "SELECT id, title, impact, components, created_us FROM status_incident"
                    " ORDER BY created_us, id"
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
            updates[incident_id].append(StoredUpdate(update_id, status, message, from_us(created)))
        return [
            StoredIncident(
                id=row.id,
                title=row.title,
                impact=row.impact,
                components=tuple(json.loads(row.components)),
                created=from_us(row.created_us),
                updates=tuple(updates[row.id]),
            )
            for row in heads
        ]


def _length_known(conn: Connection, slice_seconds: int) -> bool:
    return bool(
        conn.execute(
            text("SELECT 1 FROM rollup_length WHERE slice_seconds=:n"), {"n": slice_seconds}
        ).scalar()
    )


def _place(dest: np.ndarray, first_slice: int, chunk_no: int, chunk: np.ndarray) -> None:
    start = chunk_no * rollup.CHUNK_SLICES - first_slice
    lo, hi = max(start, 0), min(start + rollup.CHUNK_SLICES, len(dest))
    if lo < hi:
        # As bytes: numpy copies structured elements one field at a time, 30x slower.
        dest[lo:hi].view(np.uint8)[:] = chunk[lo - start : hi - start].view(np.uint8)


def _series_slices(
    target: str, rows: list[Row[Any]], first_slice: int, end_slice: int
) -> SeriesSlices:
    """One series from its (family, location, chunk, data) rows, sorted by chunk."""
    first_slice = max(first_slice, rows[0].chunk * rollup.CHUNK_SLICES)
    merged = np.zeros(end_slice - first_slice, dtype=rollup.DTYPE)
    for row in rows:
        _place(merged, first_slice, row.chunk, rollup.read_only(row.data))
    return SeriesSlices(
        target=target,
        family=rows[0].family,
        location=rows[0].location,
        first_slice=first_slice,
        # Contiguous copies of the rollup's own narrow columns.
        total=merged["total"].copy(),
        failed=merged["failed"].copy(),
        rate_limited=merged["rate_limited"].copy(),
        last_offset_us=merged["last_offset_us"].copy(),
        last_state=merged["last_state"].astype(np.int8),
    )


def batch_of(rows: list[tuple[Any, ...]]) -> Batch:
    """Columns for the rollup code from full rows (series_id, started_us, success, reason...)."""
    return Batch(
        series_id=np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)),
        started_us=np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows)),
        state=np.fromiter(
            (outcome_state(r[2], r[3]) for r in rows), dtype=np.uint8, count=len(rows)
        ),
        rows=rows,
    )


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000.0, 3)


def _row(series_id: int, r: ProbeResult) -> tuple[Any, ...]:
    return (
        series_id,
        to_us(r.started),
        r.success,
        None if r.reason is None else str(r.reason),
        r.status_code,
        round(r.latency_ms, 3),
        *(_ms(r.phases.get(phase)) for phase in PHASES),
        r.tls_version,
        None if r.cert_expiry is None else to_us(r.cert_expiry),
        r.address,
    )


def _result(row: Sequence[Any]) -> ProbeResult:
    (target, family, location, started, success, reason, status, latency, *phases) = row
    phases, (tls_version, cert_expiry, address) = phases[:5], phases[5:]
    return ProbeResult(
        target=target,
        family=family,
        location=location,
        started=from_us(started),
        success=bool(success),
        reason=None if reason is None else Reason(reason),
        status_code=status,
        duration_seconds=(latency or 0.0) / 1000.0,
        phases={p: v / 1000.0 for p, v in zip(PHASES, phases, strict=True) if v is not None},
        tls_version=tls_version,
        cert_expiry=None if cert_expiry is None else from_us(cert_expiry),
        address=address,
    )


def _sqlite_begin(conn: Connection) -> None:
    # pysqlite's own transaction handling is off (see _sqlite_pragmas): begin here.
    conn.exec_driver_sql(
        "BEGIN IMMEDIATE" if conn.get_execution_options().get("write") else "BEGIN"
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets reports read while the writer writes; NORMAL is durable at checkpoints.
    dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" event issues BEGIN itself
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB: bulk imports touch many pages
    cursor.close()


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
            "at": to_us(update.created),
        },
    )
