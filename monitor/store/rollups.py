"""The slice_rollup table: per-slice counts of every series, what reports and the page read.

Every batch of probes written is folded into the rollups of each slice length kept (in the
batch's own transaction), so a monthly report never reads raw rows. A length not kept yet is
built from the raw rows once. The chunks' format itself is `monitor.store.rollup`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import groupby
from operator import itemgetter
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.engine import Connection, Row

from monitor.store import rollup
from monitor.store.base import Database, driver_connection
from monitor.store.rows import stored_states
from sla.model import SeriesBlock, SeriesSlices

BLOCK_TARGETS = 500  # target names in one query of block_reader (SQLite allows 32,766)
# A row of rollup chunks: (family, location, chunk, data, target), or the first four.
_ChunkRow = Row[*tuple[Any, ...]]


class SliceRollups:
    """The Store's rollups (tables RollupChunk and RollupLength)."""

    def __init__(self, database: Database) -> None:
        self._db = database

    # --- writing (inside a caller's transaction) ---------------------------------------

    def fold(
        self, conn: Connection, series_ids: np.ndarray, started_us: np.ndarray, states: np.ndarray
    ) -> None:
        """Fold newly stored probes into the rollups of every slice length kept."""
        lengths = conn.execute(text("SELECT slice_seconds FROM rollup_length")).scalars().all()
        for slice_seconds in lengths:
            self._merge(conn, slice_seconds, series_ids, started_us, states)

    def register_length(self, conn: Connection, slice_seconds: int) -> None:
        """Make sure rollups of this slice length exist, building them from raw rows once."""
        if _length_known(conn, slice_seconds):
            return
        conn.execute(text("DELETE FROM slice_rollup WHERE slice_seconds=:n"), {"n": slice_seconds})
        for series_id, started_us, states in _raw_by_series(conn):
            self._merge(
                conn, slice_seconds, np.full(len(started_us), series_id), started_us, states
            )
        conn.execute(
            text("INSERT INTO rollup_length (slice_seconds) VALUES (:n)"), {"n": slice_seconds}
        )

    def _merge(
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
        raw = driver_connection(conn)
        dialect = self._db.dialect
        lock = dialect.lock_rollups(raw, slice_seconds, keys)
        sql = (
            "SELECT series_id, chunk, data FROM slice_rollup WHERE {series}"
            " AND slice_seconds={mark} AND chunk BETWEEN {mark} AND {mark}" + lock
        )
        stored = {
            (series_id, chunk_no): blob
            for series_id, chunk_no, blob in self._db.select_by_series(
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
                f"{dialect.upsert_rollup()} DO UPDATE SET data = excluded.data", merged
            )
        finally:
            cursor.close()

    # --- reading ---------------------------------------------------------------------

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
        query = self._query(f"s.target={self._db.dialect.mark}")
        chunks = _chunk_span(slice_seconds, first_slice, end_slice)
        with self._db.reading("read slice rollups") as conn:

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
        with self._db.reading("read slice rollups") as conn:

            def load(targets: Sequence[str]) -> SeriesBlock:
                rows: list[_ChunkRow] = []
                for start in range(0, len(targets), BLOCK_TARGETS):
                    names = targets[start : start + BLOCK_TARGETS]
                    marks = ", ".join([self._db.dialect.mark] * len(names))
                    query = self._query(f"s.target IN ({marks})")
                    rows += conn.exec_driver_sql(query, (*names, *chunks)).all()
                return _block(rows, first_slice, end_slice)

            yield load

    def _query(self, which: str) -> str:
        """Driver SQL (compiling a statement per call costs as much as running it): the
        (family, location, chunk, data, target) rows of the chunks `_chunk_span` gives."""
        mark = self._db.dialect.mark
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
        with self._db.reading("read slice rollups") as conn:
            known = _length_known(conn, slice_seconds)
        if not known:
            with self._db.writing("build slice rollups") as conn:
                self._db.dialect.lock_schema(conn)
                self.register_length(conn, slice_seconds)


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
