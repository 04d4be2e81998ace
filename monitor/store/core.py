"""The Store: what both databases share. Their differences are a Dialect each.

Writes go in batches inside one transaction each, and every batch also updates the
per-slice rollups (monitor.store.rollup) so a monthly report never has to read raw rows. A
probe is identified by (series, start time): writing it twice stores it once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Row

from monitor.config import sqlite_file
from monitor.errors import StoreError
from monitor.probing.results import ProbeResult
from monitor.store import rollup
from monitor.store.incidents import Incidents
from monitor.store.promises import Promises
from monitor.store.rows import (
    Batch,
    Imported,
    SeriesKey,
    outcome_code,
    probe_result,
    probe_row,
    stored_states,
)
from monitor.store.subscribers import Subscribers
from monitor.store.tables import PROBE_COLUMNS
from monitor.text.redact import redact_url
from sla.model import FailedProbes, SeriesBlock, SeriesSlices
from sla.slices import epoch_us

# The newest revision in monitor/migrations (a test keeps the two equal): a database
# already there is opened without loading Alembic at all.
SCHEMA_REVISION = "0009"
_SERIES_ID = "SELECT id FROM series WHERE target=:t AND family=:f AND location=:l"


BLOCK_TARGETS = 500  # target names in one query of block_reader (SQLite allows 32,766)
# A row of rollup chunks: (family, location, chunk, data, target), or the first four.
_ChunkRow = Row[*tuple[Any, ...]]


def _driver(conn: Connection) -> Any:
    """The DB-API connection under SQLAlchemy's: the bulk paths use its cursor directly."""
    raw = conn.connection.driver_connection
    if raw is None:  # only once the connection is closed or invalidated
        raise StoreError("the database connection was lost")
    return raw


class Store(Incidents, Promises, Subscribers):
    """The database; safe to share between threads (SQLAlchemy pools the connections).

    `create=True` (what `run` and `import` need) creates the schema or upgrades it to
    SCHEMA_REVISION, and makes sure rollups of `rollup_seconds` slices exist.
    `create=False` opens the database as it is and changes nothing on opening;
    `Store.existing` also makes sure it is there, at this version's schema.
    """

    def __init__(self, url: str, rollup_seconds: int = 60, *, create: bool = True) -> None:
        _check_sqlite_folder(url)
        super().__init__(url)
        if create:
            self.upgrade(rollup_seconds)

    @classmethod
    def existing(cls, url: str, rollup_seconds: int = 60) -> Store:
        """The database for commands that only read (docs/cli.md): never created nor
        upgraded. A missing one, or one at an older or newer schema, is a StoreError that
        says what to do."""
        missing = missing_sqlite_file(url)
        if missing is not None:
            raise StoreError(
                f"{redact_url(url)}: no database at {missing} (nothing stored there yet:"
                " check storage.url)"
            )
        store = cls(url, rollup_seconds, create=False)
        try:
            stored = store.revision()
            if stored is None:
                raise StoreError(
                    f"{store.describe()}: holds no uptime-sla schema (check storage.url, or"
                    " create it with `uptime-sla migrate`)"
                )
            if stored != SCHEMA_REVISION:
                # Revisions are numbered (NNNN_purpose.py): the order of their names.
                if stored < SCHEMA_REVISION:
                    raise StoreError(
                        f"{store.describe()}: the database schema is at revision {stored},"
                        f" older than this uptime-sla's {SCHEMA_REVISION}: run"
                        " `uptime-sla migrate` to upgrade it"
                    )
                raise StoreError(
                    f"{store.describe()}: the database schema is at revision {stored}, newer"
                    f" than this uptime-sla understands ({SCHEMA_REVISION}): upgrade uptime-sla"
                )
        except BaseException:
            store.close()
            raise
        return store

    def revision(self) -> str | None:
        """The schema revision stored in the database (None: no uptime-sla schema at all)."""
        with self.reading("read the schema revision") as conn:
            tables = inspect(conn)
            if tables.has_table("alembic_version"):
                return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            if not tables.has_table("series"):
                return None
        from monitor.migrations import FIRST_REVISION  # noqa: PLC0415 (Alembic: 0.2 s)

        return FIRST_REVISION  # tables from before migrations

    def upgrade(self, rollup_seconds: int) -> None:
        """Create the schema or upgrade it to SCHEMA_REVISION, and make sure rollups of
        `rollup_seconds` slices exist (`uptime-sla migrate`, and every writer on opening)."""
        # One transaction, serialized: several monitors may start at once on a fresh database.
        with self.writing("create the schema") as conn:
            self._dialect.lock_schema(conn)
            self._migrate(conn)
            self._register_length(conn, rollup_seconds)

    # --- writing ---------------------------------------------------------------------

    def write(self, results: Sequence[ProbeResult]) -> int:
        """Store a batch from the prober in one transaction; returns rows newly stored."""
        if not results:
            return 0
        with self.writing("write probe results") as conn:
            rows = [
                probe_row(self._series_id(conn, (r.target, r.family, r.location)), r)
                for r in results
            ]
            return self._write_batch(conn, Batch.of_rows(rows))[0]

    def write_imported(self, blocks: Iterable[Imported]) -> tuple[int, int]:
        """Store every block in one transaction, all or none; returns the rows newly stored
        and the rows whose probe is stored already with another outcome (the stored one is
        kept, and the caller says so).

        `blocks` may be a generator that checks its rows as it goes: whatever it raises
        rolls the whole import back and reaches the caller unchanged.
        """
        stored = conflicts = 0
        with self.writing("import probe results") as conn:
            for block in blocks:
                ids = np.array([self._series_id(conn, key) for key in block.series], np.int64)
                new, differing = self._write_batch(conn, Batch.of_import(block, ids))
                stored, conflicts = stored + new, conflicts + differing
        return stored, conflicts

    def _series_id(self, conn: Connection, key: SeriesKey) -> int:
        if key not in self._series_ids:
            names = dict(zip("tfl", key, strict=True))
            found = conn.execute(text(_SERIES_ID), names).scalar()
            if found is None:
                # Another process may insert the same series now: its row then wins.
                conn.execute(
                    text(
                        "INSERT INTO series (target, family, location) VALUES (:t, :f, :l)"
                        " ON CONFLICT (target, family, location) DO NOTHING"
                    ),
                    names,
                )
                found = conn.execute(text(_SERIES_ID), names).scalar_one()
            self._series_ids[key] = found
        return self._series_ids[key]

    def _write_batch(self, conn: Connection, batch: Batch) -> tuple[int, int]:
        """Insert the rows not stored yet and fold them into every kept rollup; returns
        (rows stored, rows left out whose probe is stored with another outcome)."""
        # Key order also turns B-tree inserts into appends.
        order = np.lexsort((batch.started_us, batch.series_id))
        fresh, conflicts = self._new_only(conn, batch, order)
        if not fresh.any():
            return 0, conflicts
        keep = order[fresh[order]]
        raw = _driver(conn)
        if isinstance(batch.rows, list):
            self._dialect.insert_rows(raw, PROBE_COLUMNS, [batch.rows[i] for i in keep])
        else:
            self._dialect.insert_measured(
                raw, batch.series_id[keep], batch.started_us[keep], batch.rows.take(keep)
            )
        lengths = conn.execute(text("SELECT slice_seconds FROM rollup_length")).scalars().all()
        for slice_seconds in lengths:
            self._merge_rollups(
                conn,
                slice_seconds,
                batch.series_id[keep],
                batch.started_us[keep],
                batch.state[keep],
            )
        return len(keep), conflicts

    def _new_only(
        self, conn: Connection, batch: Batch, order: np.ndarray
    ) -> tuple[np.ndarray, int]:
        """Mask of rows that are neither stored already nor repeated earlier in the batch,
        and how many of the others say another outcome than the probe kept.

        One query fetches the stored keys (and outcomes) of the batch's series and time
        span; `order` sorts the batch by (series, start), stably, so each series is one
        slice of it and a repeated key's first row comes first.
        """
        series, started = batch.series_id[order], batch.started_us[order]
        outcome = batch.outcomes()[order]
        fresh = np.ones(len(order), dtype=bool)
        fresh[1:] = (np.diff(series) != 0) | (np.diff(started) != 0)
        # A repeat within the batch differs from the first row of its key.
        first_of_key = np.maximum.accumulate(np.where(fresh, np.arange(len(order)), 0))
        conflicts = int(np.count_nonzero(~fresh & (outcome != outcome[first_of_key])))
        stored: dict[int, list[tuple[int, int]]] = defaultdict(list)
        sql = (
            "SELECT series_id, started_us, success, reason FROM probe_result"
            " WHERE {series} AND started_us BETWEEN {mark} AND {mark}"
        )
        for series_id, started_us, success, reason in self._select_by_series(
            conn, sql, np.unique(series).tolist(), int(started.min()), int(started.max())
        ):
            stored[series_id].append((started_us, outcome_code(bool(success), reason)))
        if stored:
            bounds = np.flatnonzero(np.diff(series)) + 1
            for first, end in zip(np.r_[0, bounds], np.r_[bounds, len(order)], strict=True):
                known = stored.get(int(series[first]))
                if known:
                    times, outcomes = np.array(sorted(known), np.int64).T
                    at = np.searchsorted(times, started[first:end]).clip(0, len(times) - 1)
                    there = times[at] == started[first:end]
                    conflicts += int(np.count_nonzero(there & (outcomes[at] != outcome[first:end])))
                    fresh[first:end] &= ~there
        mask = np.empty_like(fresh)
        mask[order] = fresh
        return mask, conflicts

    def _select_by_series(
        self, conn: Connection, sql: str, series_ids: list[int], *params: Any
    ) -> list[tuple[Any, ...]]:
        cursor = _driver(conn).cursor()
        try:
            return list(self._dialect.select_by_series(cursor, sql, series_ids, params))
        finally:
            cursor.close()

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
        raw = _driver(conn)
        lock = self._dialect.lock_rollups(raw, slice_seconds, keys)
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
            cursor.executemany(
                f"{self._dialect.upsert_rollup()} DO UPDATE SET data = excluded.data", merged
            )
        finally:
            cursor.close()

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
        if _length_known(conn, slice_seconds):
            return
        conn.execute(text("DELETE FROM slice_rollup WHERE slice_seconds=:n"), {"n": slice_seconds})
        for series_id, started_us, states in _raw_by_series(conn):
            self._merge_rollups(
                conn, slice_seconds, np.full(len(started_us), series_id), started_us, states
            )
        conn.execute(
            text("INSERT INTO rollup_length (slice_seconds) VALUES (:n)"), {"n": slice_seconds}
        )

    def prune_raw(self, before: datetime) -> int:
        """Delete raw probe rows that started before `before`; the slice rollups stay.

        Reports read only rollups, so old months keep their figures. What is lost: the
        rows themselves, and rebuilding rollups for a new `sla.slice` over pruned time.
        """
        with self.writing("prune old probe results") as conn:
            deleted = conn.execute(
                text("DELETE FROM probe_result WHERE started_us < :t"), {"t": epoch_us(before)}
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
        with self.reading("read probe results") as conn:
            rows = conn.execute(text(query + " ORDER BY p.started_us"), params).all()
        return [probe_result(row) for row in rows]

    def probe_rows(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        targets: Sequence[str] | None = None,
    ) -> Iterator[_ChunkRow]:
        """Stored probes in [start, end) of these targets (default: all), oldest first, as
        (started_us, target, family, location, success, status_code, latency_ms, reason):
        streamed, so an export of years holds one batch of rows at a time."""
        query = (
            "SELECT p.started_us, s.target, s.family, s.location, p.success, p.status_code,"
            " p.latency_ms, p.reason FROM probe_result p JOIN series s ON s.id = p.series_id"
            " WHERE p.started_us >= :start AND p.started_us < :end"
        )
        params: dict[str, Any] = {
            "start": -(2**63) if start is None else epoch_us(start),
            "end": 2**63 - 1 if end is None else epoch_us(end),
        }
        if targets is not None:
            names = {f"t{n}": name for n, name in enumerate(targets)}
            query += f" AND s.target IN ({', '.join(':' + key for key in names)})"
            params.update(names)
        query += " ORDER BY p.started_us, s.target, s.family, s.location"
        with self.reading("read probe results") as conn:
            yield from conn.execution_options(yield_per=10_000).execute(text(query), params)

    def answered_latencies(
        self, target: str, since: datetime, until: datetime
    ) -> list[tuple[int, float]]:
        """(start in epoch microseconds, latency in ms) of the target's answered probes
        (any HTTP status) that started in [since, until), oldest first."""
        query = (
            "SELECT p.started_us, p.latency_ms FROM series s"
            " JOIN probe_result p ON p.series_id = s.id"
            " WHERE s.target = :t AND p.started_us >= :since AND p.started_us < :until"
            " AND p.status_code IS NOT NULL AND p.latency_ms IS NOT NULL"
            " ORDER BY p.started_us"
        )
        bounds = {"t": target, "since": epoch_us(since), "until": epoch_us(until)}
        with self.reading("read latencies") as conn:
            return [(int(row[0]), float(row[1])) for row in conn.execute(text(query), bounds)]

    def failed_probes(
        self,
        target: str,
        slice_seconds: int,
        first_slice: int,
        end_slice: int,
        *,
        rate_limited: bool = False,
    ) -> FailedProbes:
        """The target's failed probes (not `local`; with `rate_limited`, 429s too, for
        `sla.rate_limited_counts_as: down`) that started in [first_slice, end_slice),
        counted per slice, family and reason: what a report's incidents say failed. Read
        from the stored probes, so nothing is left of those `storage.raw_retention` pruned."""
        slice_us = slice_seconds * 1_000_000
        query = (
            "SELECT p.started_us / :slice_us AS slice, s.family, COALESCE(p.reason, 'error'),"
            " COUNT(*) FROM series s JOIN probe_result p ON p.series_id = s.id"
            " WHERE s.target = :t AND p.started_us >= :start AND p.started_us < :end"
            " AND (p.success = :no AND (p.reason IS NULL OR p.reason <> 'local')"
            " OR :down AND p.reason = 'rate_limited')"
            " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
        )
        params = {
            "slice_us": slice_us,
            "t": target,
            "start": first_slice * slice_us,
            "end": end_slice * slice_us,
            "no": False,
            "down": rate_limited,
        }
        with self.reading("read failed probes") as conn:
            rows = conn.execute(text(query), params).all()
        return FailedProbes(target, tuple((int(a), b, c, int(d)) for a, b, c, d in rows))

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
        self._ensure_length(slice_seconds)
        query = self._rollup_query(f"s.target={self._dialect.mark}")
        chunks = _chunk_span(slice_seconds, first_slice, end_slice)
        with self.reading("read slice rollups") as conn:

            def load(target: str) -> list[SeriesSlices]:
                rows = conn.exec_driver_sql(query, (target, *chunks)).all()
                return [
                    _series_slices(target, list(series), first_slice, end_slice)
                    for _, series in groupby(rows, key=itemgetter(0, 1))
                ]

            yield load

    @contextmanager
    def block_reader(
        self, slice_seconds: int, first_slice: int, end_slice: int
    ) -> Iterator[Callable[[Sequence[str]], SeriesBlock]]:
        """A loader of several targets' series at once over [first_slice, end_slice), as
        one SeriesBlock: the status page reads its last hour of every target in one go
        and its ninety days a few components at a time."""
        chunks = _chunk_span(slice_seconds, first_slice, end_slice)
        self._ensure_length(slice_seconds)
        with self.reading("read slice rollups") as conn:

            def load(targets: Sequence[str]) -> SeriesBlock:
                rows: list[_ChunkRow] = []
                for start in range(0, len(targets), BLOCK_TARGETS):
                    names = targets[start : start + BLOCK_TARGETS]
                    marks = ", ".join([self._dialect.mark] * len(names))
                    query = self._rollup_query(f"s.target IN ({marks})")
                    rows += conn.exec_driver_sql(query, (*names, *chunks)).all()
                return _block(rows, first_slice, end_slice)

            yield load

    def _rollup_query(self, which: str) -> str:
        """Driver SQL (compiling a statement per call costs as much as running it): the
        (family, location, chunk, data, target) rows of the chunks `_chunk_span` gives."""
        mark = self._dialect.mark
        # Series first, then each one's chunks by the primary key (series, length, chunk):
        # a filter on the chunk alone would scan every chunk stored.
        return (
            "SELECT s.family, s.location, r.chunk, r.data, s.target"
            " FROM series s CROSS JOIN slice_rollup r"
            f" WHERE {which} AND r.series_id = s.id AND r.slice_seconds={mark}"
            f" AND r.chunk BETWEEN {mark} AND {mark} ORDER BY s.id, r.chunk"
        )

    def _ensure_length(self, slice_seconds: int) -> None:
        """Rollups of a slice length not kept yet are built from the raw rows first."""
        with self.reading("read slice rollups") as conn:
            known = _length_known(conn, slice_seconds)
        if not known:
            with self.writing("build slice rollups") as conn:
                self._dialect.lock_schema(conn)
                self._register_length(conn, slice_seconds)


def _chunk_span(slice_seconds: int, first_slice: int, end_slice: int) -> tuple[int, int, int]:
    """The query parameters of the chunks holding [first_slice, end_slice)."""
    last = (end_slice - 1) // rollup.CHUNK_SLICES
    return slice_seconds, first_slice // rollup.CHUNK_SLICES, last


def _length_known(conn: Connection, slice_seconds: int) -> bool:
    return bool(
        conn.execute(
            text("SELECT 1 FROM rollup_length WHERE slice_seconds=:n"), {"n": slice_seconds}
        ).scalar()
    )


def _raw_by_series(conn: Connection) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    for series_id in conn.execute(text("SELECT id FROM series")).scalars().all():
        rows = conn.execute(
            text("SELECT started_us, success, reason FROM probe_result WHERE series_id=:s"),
            {"s": series_id},
        ).all()
        if rows:
            started = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            yield series_id, started, stored_states([r[1] for r in rows], [r[2] for r in rows])


def _records(
    rows: Sequence[_ChunkRow], row_of: Sequence[int], count: int, first_slice: int, slices: int
) -> np.ndarray:
    """(count, slices) DTYPE records from chunk rows, row i going to series row_of[i].

    Each series' rows come sorted by chunk. Chunks are copied in as bytes (numpy copies
    structured elements one field at a time, and even its views cost more than the
    copy); only the slices no chunk holds are zeroed: a fresh buffer is not written twice.
    """
    size, chunk = rollup.DTYPE.itemsize, rollup.CHUNK_SLICES
    buffer = np.empty(count * slices * size, np.uint8)
    dest = buffer.data  # a memoryview: slices of it are copied into as bytes
    filled = [0] * count  # each series' records written so far, from its start
    for row, number in zip(rows, row_of, strict=True):
        records = rollup.records(row[3])
        start = row[2] * chunk - first_slice
        lo, hi = max(start, 0), min(start + len(records) // size, slices)
        if lo < hi:
            at = number * slices
            if filled[number] < lo:
                buffer[(at + filled[number]) * size : (at + lo) * size] = 0  # nothing stored
            dest[(at + lo) * size : (at + hi) * size] = memoryview(records)[
                (lo - start) * size : (hi - start) * size
            ]
            filled[number] = hi
    for number, done in enumerate(filled):
        if done < slices:
            buffer[(number * slices + done) * size : (number + 1) * slices * size] = 0
    return buffer.view(rollup.DTYPE).reshape(count, slices)


def _columns(records: np.ndarray) -> dict[str, np.ndarray]:
    """SeriesSlices' arrays of (series, slices) records: the rollup's own narrow columns,
    as views (the engine reads each of them once or twice)."""
    columns = {name: records[name] for name in rollup.DTYPE.names or ()}
    columns["last_state"] = columns["last_state"].view(np.int8)
    return columns


def _series_slices(
    target: str, rows: list[_ChunkRow], first_slice: int, end_slice: int
) -> SeriesSlices:
    """One series from its (family, location, chunk, data) rows, sorted by chunk."""
    first_slice = max(first_slice, rows[0].chunk * rollup.CHUNK_SLICES)
    records = _records(rows, [0] * len(rows), 1, first_slice, end_slice - first_slice)
    columns = _columns(records[0])
    return SeriesSlices(target, rows[0].family, rows[0].location, first_slice, **columns)


def _block(rows: Sequence[_ChunkRow], first_slice: int, end_slice: int) -> SeriesBlock:
    """The series of (family, location, chunk, data, target) rows as one SeriesBlock."""
    keys: dict[tuple[str, str, str], int] = {}
    row_of = [keys.setdefault((target, family, location), len(keys))
              for family, location, _, _, target in rows]  # fmt: skip
    records = _records(rows, row_of, len(keys), first_slice, end_slice - first_slice)
    return SeriesBlock(tuple(keys), first_slice, **_columns(records))  # type: ignore[arg-type]


def missing_sqlite_file(url: str) -> str | None:
    """The path of a SQLite database file that does not exist (None: it does, or the URL is
    not a SQLite file): opening it would create it."""
    database = sqlite_file(url)
    return None if database is None or Path(database).exists() else database


def make_sqlite_folder(url: str) -> None:
    """The folder of a SQLite file, created if missing, 0750 like the file's data (`run`,
    `import` and `migrate` call this; commands that only read never create anything)."""
    database = sqlite_file(url)
    if database is None:
        return
    missing = []
    folder = Path(database).absolute().parent
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    try:
        for folder in reversed(missing):
            folder.mkdir()
            folder.chmod(0o750)
    except OSError as exc:
        raise StoreError(
            f"storage.url: cannot create the folder {folder} for the SQLite database:"
            f" {exc.strerror or exc}"
        ) from None


def _check_sqlite_folder(url: str) -> None:
    """SQLite's own word for a missing folder is "unable to open database file"."""
    database = sqlite_file(url)
    if database is not None and not Path(database).absolute().parent.is_dir():
        raise StoreError(
            f"{redact_url(url)}: the folder {Path(database).absolute().parent} of the SQLite"
            " database does not exist (`uptime-sla migrate` creates it, as `run` and"
            " `import` do)"
        )
