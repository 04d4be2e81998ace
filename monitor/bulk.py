"""Probe rows for the bulk insert paths, built from columns: what makes `import` fast.

pysqlite spends more time binding a row per statement than SQLite spends storing it, so
rows go ROWS_PER_INSERT to an INSERT. For PostgreSQL, an import's columns become binary
COPY data in numpy, without a Python object per value. Imported rows carry only the
columns a CSV row has (`Measured`); the others stay NULL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from monitor.results import Reason
from sla.model import LastState

REASONS: tuple[str, ...] = tuple(reason.value for reason in Reason)
RATE_LIMITED = REASONS.index(Reason.RATE_LIMITED)
MEASURED_COLUMNS = ("series_id", "started_us", "success", "reason", "status_code", "latency_ms")
ROWS_PER_INSERT = 16  # 16 x 14 columns stays under the 999 parameters of old SQLite builds


@dataclass(frozen=True)
class Measured:
    """What imported rows say about their probes, in columns (the arrays of a Batch)."""

    success: np.ndarray  # bool
    reason: np.ndarray  # int8 index into REASONS, -1 for none
    status_code: np.ndarray  # int32, 0 for none
    latency_ms: np.ndarray  # float64, NaN for none

    def take(self, index: np.ndarray) -> Measured:
        return Measured(
            self.success[index], self.reason[index], self.status_code[index], self.latency_ms[index]
        )

    def states(self) -> np.ndarray:
        """uint8 LastState per row, as store.outcome_state gives it."""
        states = np.where(self.success, LastState.OK, LastState.FAILED).astype(np.uint8)
        states[self.reason == RATE_LIMITED] = LastState.RATE_LIMITED
        return states


def sqlite_insert(connection: Any, table: str, columns: Sequence[str], values: list[Any]) -> None:
    """Rows given flat (one after the other), ROWS_PER_INSERT per statement (sqlite3)."""
    head = f"INSERT INTO {table} ({','.join(columns)}) VALUES "
    one = f"({','.join('?' * len(columns))})"
    whole = len(values) - len(values) % (len(columns) * ROWS_PER_INSERT)
    connection.executemany(
        head + ",".join([one] * ROWS_PER_INSERT),
        zip(*[iter(values[:whole])] * (len(columns) * ROWS_PER_INSERT), strict=True),
    )
    if whole < len(values):
        rest = (len(values) - whole) // len(columns)
        connection.execute(head + ",".join([one] * rest), values[whole:])


_REASON_TEXT = np.array([*REASONS, None], dtype=object)  # index -1: no reason


def measured_values(series_id: np.ndarray, started_us: np.ndarray, measured: Measured) -> list[Any]:
    """MEASURED_COLUMNS row after row as Python values, None for NULL (for sqlite_insert)."""
    status, latency = measured.status_code, measured.latency_ms
    columns = [
        series_id.tolist(),
        started_us.tolist(),
        measured.success.tolist(),
        _REASON_TEXT[measured.reason].tolist(),
        _or_none(status, status == 0),
        _or_none(latency, np.isnan(latency)),
    ]
    values: list[Any] = [None] * (len(columns) * len(series_id))
    for at, column in enumerate(columns):
        values[at :: len(columns)] = column
    return values


def _or_none(values: np.ndarray, null: np.ndarray) -> list[Any]:
    out = values.tolist()
    for i in np.flatnonzero(null).tolist():
        out[i] = None
    return out


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


def _shape_bytes() -> np.ndarray:
    """Bytes of _RECORD sent, per shape = (reason + 1) * 4 + 2 * (no status) + (no latency)."""
    shapes = np.arange((len(REASONS) + 1) * 4)
    at = np.arange(_RECORD.itemsize)
    sent = np.ones((len(shapes), _RECORD.itemsize), dtype=bool)
    reason_at, width = _RECORD.fields["reason"][1], _RECORD["reason"].itemsize
    reason_len = np.array([0, *map(len, REASONS)])[shapes // 4]
    sent &= (at < reason_at + reason_len[:, None]) | (at >= reason_at + width)
    status_at, latency_at = _RECORD.fields["status_code"][1], _RECORD.fields["latency_ms"][1]
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
