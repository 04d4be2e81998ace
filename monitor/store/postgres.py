"""PostgreSQL's side of the store: COPY for rows, row locks for rollups, an advisory lock.

An import's columns become binary COPY data in numpy, without a Python object per value.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from monitor.probing.results import REASONS
from monitor.store import rollup
from monitor.store.dialect import Dialect
from monitor.store.rows import MEASURED_COLUMNS, Measured

SCHEMA_LOCK_KEY = 0x75707469_6D65  # any constant bigint, the same in every uptime-sla
_EMPTY_CHUNK = rollup.encode(rollup.empty_chunk())


class Postgres(Dialect):
    mark = "%s"

    def configure(self, engine: Engine) -> None:
        """Nothing to add: psycopg's defaults are what the store needs."""

    def lock_schema(self, conn: Connection) -> None:
        """Two monitors starting together would both CREATE TABLE (or register a length)."""
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SCHEMA_LOCK_KEY})

    def select_by_series(
        self, cursor: Any, sql: str, series_ids: list[int], params: tuple[Any, ...]
    ) -> Iterator[tuple[Any, ...]]:
        cursor.execute(sql.format(series="series_id = ANY(%s)", mark="%s"), (series_ids, *params))
        yield from cursor.fetchall()

    def insert_rows(self, raw: Any, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY probe_result ({','.join(columns)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)

    def insert_measured(
        self, raw: Any, series_id: np.ndarray, started_us: np.ndarray, measured: Measured
    ) -> None:
        copy_sql = f"COPY probe_result ({','.join(MEASURED_COLUMNS)}) FROM STDIN (FORMAT binary)"
        with raw.cursor() as cursor, cursor.copy(copy_sql) as copy:
            copy.write(copy_binary(series_id, started_us, measured))

    def lock_rollups(self, raw: Any, slice_seconds: int, keys: list[tuple[int, int]]) -> str:
        # A row to lock even for a new chunk, so two writers of one series queue up
        # instead of both merging into an empty chunk.
        with raw.cursor() as cursor:
            cursor.executemany(
                f"{self.upsert_rollup()} DO NOTHING",
                [(s, slice_seconds, c, _EMPTY_CHUNK) for s, c in keys],
            )
        return " ORDER BY series_id, chunk FOR UPDATE"  # one order: no deadlocks


# One row of binary COPY at its longest: each field is its byte length (-1: NULL), then
# its bytes, big-endian. A row sends the bytes its shape uses (_SHAPE_BYTES).
_RECORD = np.dtype(
    [
        ("fields", ">i2"),
        ("series_len", ">i4"),
        ("series_id", ">i4"),
        ("started_len", ">i4"),
        ("started_us", ">i8"),
        ("success_len", ">i4"),
        ("success", "u1"),
        ("reason_len", ">i4"),
        ("reason", f"S{max(map(len, REASONS))}"),
        ("status_len", ">i4"),
        ("status_code", ">i4"),
        ("latency_len", ">i4"),
        ("latency_ms", ">f8"),
    ]
)
_REASON_BYTES = np.array([*(r.encode() for r in REASONS), b""], dtype=_RECORD["reason"])
_REASON_LEN = np.array([*map(len, REASONS), -1], dtype=np.int32)
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, no header extension
_COPY_TRAILER = b"\xff\xff"


def _offset(field: str) -> int:
    """Where a field of _RECORD starts in each record."""
    fields = _RECORD.fields
    if fields is None:
        raise TypeError("_RECORD must be a structured dtype")
    return int(fields[field][1])


def _shape_bytes() -> np.ndarray:
    """Bytes of _RECORD sent, per shape = (reason + 1) * 4 + 2 * (no status) + (no latency)."""
    shapes = np.arange((len(REASONS) + 1) * 4)
    at = np.arange(_RECORD.itemsize)
    sent = np.ones((len(shapes), _RECORD.itemsize), dtype=bool)
    reason_at, width = _offset("reason"), _RECORD["reason"].itemsize
    reason_len = np.array([0, *map(len, REASONS)])[shapes // 4]
    sent &= (at < reason_at + reason_len[:, None]) | (at >= reason_at + width)
    status_at, latency_at = _offset("status_code"), _offset("latency_ms")
    sent[(shapes & 2) != 0, status_at : status_at + 4] = False
    sent[(shapes & 1) != 0, latency_at : latency_at + 8] = False
    return sent


_SHAPE_BYTES = _shape_bytes()


def copy_binary(series_id: np.ndarray, started_us: np.ndarray, measured: Measured) -> bytes:
    """PostgreSQL binary COPY data of MEASURED_COLUMNS (series_id and status_code int4)."""
    no_status, no_latency = measured.status_code == 0, np.isnan(measured.latency_ms)
    record = np.empty(len(series_id), dtype=_RECORD)
    record["fields"] = len(MEASURED_COLUMNS)
    record["series_len"], record["series_id"] = 4, series_id
    record["started_len"], record["started_us"] = 8, started_us
    record["success_len"], record["success"] = 1, measured.success
    record["reason_len"] = _REASON_LEN[measured.reason]
    record["reason"] = _REASON_BYTES[measured.reason]
    record["status_len"] = np.where(no_status, -1, 4)
    record["status_code"] = measured.status_code
    record["latency_len"] = np.where(no_latency, -1, 8)
    record["latency_ms"] = measured.latency_ms
    shape = (measured.reason.astype(np.int64) + 1) * 4 + no_status * 2 + no_latency
    sent = record.view(np.uint8).reshape(len(record), _RECORD.itemsize)[_SHAPE_BYTES[shape]]
    return _COPY_HEADER + sent.tobytes() + _COPY_TRAILER
