"""Slice rollups wide enough for every slice up to a day: 32-bit counts, 64-bit offsets.

Until now a rollup kept each slice's probe counts in 16 bits and the offset of its last
probe in 32-bit microseconds, which wraps after 4,295 s: with `sla.slice` above 71
minutes a slice after the last probe could turn NO_DATA instead of carrying that probe's
state. Every chunk is rewritten in the wide format, never dropped: for months whose raw
rows `storage.raw_retention` has pruned, the chunks are the only record. For slices
longer than 4,295 s the last probe of each slice that still has raw rows is read again
from them (the stored offset may have wrapped); where they are pruned, what was stored
stays.

Revision ID: 0006
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import numpy as np
import sqlalchemy as sa
from alembic import op

from monitor.probing.results import NO_REASON, REASON_CODES, slice_states
from sla.model import LastState

revision = "0006"
down_revision = "0005"

# The two chunk formats, frozen here: up to 1,440 slices (a chunk may end after its last
# slice with a probe), zlib level 1 over the raw records.
CHUNK_SLICES = 1440
NARROW = np.dtype(
    [
        ("total", "<u2"),
        ("failed", "<u2"),
        ("rate_limited", "<u2"),
        ("last_offset_us", "<u4"),
        ("last_state", "u1"),
    ]
)
WIDE = np.dtype(
    [
        ("total", "<u4"),
        ("failed", "<u4"),
        ("rate_limited", "<u4"),
        ("last_offset_us", "<u8"),
        ("last_state", "u1"),
    ]
)
NARROW_OFFSET_US = 1 << 32


def upgrade() -> None:
    conn = op.get_bind()
    _convert(conn, NARROW, WIDE)
    for slice_seconds in _lengths(conn):
        if slice_seconds * 1_000_000 > NARROW_OFFSET_US:
            _last_probes_from_raw(conn, slice_seconds)


def downgrade() -> None:
    """Back to the narrow format, wrapping what does not fit as that version did."""
    _convert(op.get_bind(), WIDE, NARROW)


def _lengths(conn: sa.Connection) -> list[int]:
    return list(conn.execute(sa.text("SELECT DISTINCT slice_seconds FROM slice_rollup")).scalars())


def _chunks(conn: sa.Connection, fmt: np.dtype) -> Iterator[tuple[int, int, int, np.ndarray]]:
    """Every chunk decoded, one series at a time (a whole table may not fit in memory)."""
    for series_id in conn.execute(sa.text("SELECT id FROM series")).scalars().all():
        rows = conn.execute(
            sa.text("SELECT slice_seconds, chunk, data FROM slice_rollup WHERE series_id=:s"),
            {"s": series_id},
        ).all()
        for slice_seconds, chunk_no, blob in rows:
            yield series_id, slice_seconds, chunk_no, _decode(blob, fmt)


def _decode(blob: bytes, fmt: np.dtype) -> np.ndarray:
    """A whole chunk of 1,440 slices, writable."""
    raw = zlib.decompress(blob)
    chunk = np.zeros(CHUNK_SLICES, fmt)
    chunk.view(np.uint8)[: len(raw)] = np.frombuffer(raw, np.uint8)
    return chunk


def _store(conn: sa.Connection, rows: list[dict[str, object]]) -> None:
    if rows:
        conn.execute(
            sa.text(
                "UPDATE slice_rollup SET data=:data"
                " WHERE series_id=:s AND slice_seconds=:n AND chunk=:c"
            ),
            rows,
        )


def _convert(conn: sa.Connection, old: np.dtype, new: np.dtype) -> None:
    rows = []
    for series_id, slice_seconds, chunk_no, chunk in _chunks(conn, old):
        converted = np.zeros(len(chunk), new)
        for field in new.names or ():
            converted[field] = chunk[field]  # widening is exact; narrowing wraps
        data = zlib.compress(converted.tobytes(), 1)
        rows.append({"s": series_id, "n": slice_seconds, "c": chunk_no, "data": data})
        if len(rows) >= 1000:
            _store(conn, rows)
            rows = []
    _store(conn, rows)


def _last_probes_from_raw(conn: sa.Connection, slice_seconds: int) -> None:
    """The offset and state of each slice's last probe, from the raw rows still stored."""
    slice_us = slice_seconds * 1_000_000
    for series_id in conn.execute(sa.text("SELECT id FROM series")).scalars().all():
        rows = conn.execute(
            sa.text(
                "SELECT started_us, success, reason FROM probe_result"
                " WHERE series_id=:s ORDER BY started_us"
            ),
            {"s": series_id},
        ).all()
        started = np.array([row[0] for row in rows], np.int64)
        reasons = [NO_REASON if row[2] is None else REASON_CODES[row[2]] for row in rows]
        states = slice_states(np.array([bool(row[1]) for row in rows]), np.array(reasons))
        counted = states != LastState.NONE
        started, states = started[counted], states[counted]
        if not len(started):
            continue
        slices = started // slice_us
        last = np.r_[slices[1:] != slices[:-1], True]  # sorted by time: each slice's last row
        slices, started, states = slices[last], started[last], states[last]
        chunk_of = slices // CHUNK_SLICES
        updates = []
        for chunk_no in np.unique(chunk_of).tolist():
            blob = conn.execute(
                sa.text(
                    "SELECT data FROM slice_rollup"
                    " WHERE series_id=:s AND slice_seconds=:n AND chunk=:c"
                ),
                {"s": series_id, "n": slice_seconds, "c": chunk_no},
            ).scalar()
            if blob is None:
                continue
            chunk = _decode(blob, WIDE)
            here = chunk_of == chunk_no
            position = slices[here] - chunk_no * CHUNK_SLICES
            chunk["last_offset_us"][position] = started[here] - slices[here] * slice_us
            chunk["last_state"][position] = states[here]
            data = zlib.compress(chunk.tobytes(), 1)
            updates.append({"s": series_id, "n": slice_seconds, "c": chunk_no, "data": data})
        _store(conn, updates)
