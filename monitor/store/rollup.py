"""Per-slice rollups of probe results, kept in compressed chunks of CHUNK_SLICES slices.

A month is 44,640 one-minute slices per series; reading 36 million raw probes row by
row takes minutes, reading 400 x 31 compressed chunks takes well under a second. The
SLA engine only needs, per slice: how many probes started, how many failed or were
rate limited, and when the last one started and how it ended (for carry-forward).
The chunk format changes only together with an Alembic revision that rewrites the
stored chunks (see 0006_wide_rollups): for pruned months they are the only record.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
from zlib_ng import zlib_ng

from sla.model import LastState
from sla.slices import US, slice_index

CHUNK_SLICES = 1440
# Wide enough for the longest slice the config accepts (config.MAX_SLICE_SECONDS, a day):
# its offsets in microseconds need more than 32 bits, a probe a second more than 16.

DTYPE = np.dtype(
    [
        ("total", "<u4"),
        ("failed", "<u4"),
        ("rate_limited", "<u4"),
        ("last_offset_us", "<u8"),
        ("last_state", "u1"),
    ]
)
CHUNK_BYTES = CHUNK_SLICES * DTYPE.itemsize


def empty_chunk() -> np.ndarray:
    return np.zeros(CHUNK_SLICES, dtype=DTYPE)


def encode(chunk: np.ndarray) -> bytes:
    """The slices up to the last one with a probe: after it every record is zero, and the
    chunk a running monitor rewrites each batch (today's) ends in hours of those."""
    used = np.flatnonzero(chunk["total"])
    end = int(used[-1]) + 1 if len(used) else 0
    return zlib.compress(chunk[:end].tobytes(), 1)


def decode(blob: bytes) -> np.ndarray:
    """A writable chunk, filled up with empty slices (copied as bytes: a structured array's
    own copy is 4x slower)."""
    raw = zlib_ng.decompress(blob)
    chunk = empty_chunk()
    chunk.view(np.uint8)[: len(raw)] = np.frombuffer(raw, np.uint8)
    return chunk


def records(blob: bytes) -> bytes:
    """The chunk's DTYPE records up to its last probe, as bytes: readers copy them into
    place as they are and take the slices after them as empty."""
    # zlib-ng reads zlib's format 3x as fast; a whole day in one allocation.
    return zlib_ng.decompress(blob, bufsize=CHUNK_BYTES)


@dataclass(frozen=True)
class Probes:
    """Columns of probe outcomes for one series (what a rollup is made from)."""

    started_us: np.ndarray  # int64 epoch microseconds
    state: np.ndarray  # uint8 LastState: OK, RATE_LIMITED, FAILED, or NONE (left out)


def chunk_keys(started_us: np.ndarray, slice_seconds: int) -> np.ndarray:
    """The chunk number of each probe start."""
    return slice_index(started_us, slice_seconds) // CHUNK_SLICES


def merge(chunk: np.ndarray, chunk_no: int, probes: Probes, slice_seconds: int) -> None:
    """Add new probes (all inside `chunk_no`, none already counted) to the chunk in place."""
    probed = probes.state != LastState.NONE  # `local`: as if the probe had not run
    if not probed.all():
        if not probed.any():
            return
        probes = Probes(probes.started_us[probed], probes.state[probed])
    slice_idx = slice_index(probes.started_us, slice_seconds)
    pos = slice_idx - chunk_no * CHUNK_SLICES
    offset = (probes.started_us - slice_idx * (slice_seconds * US)).astype(np.uint64)
    state = probes.state
    # bincount: many times faster than np.add.at.
    for field, counted in (
        ("total", pos),
        ("failed", pos[state == LastState.FAILED]),
        ("rate_limited", pos[state == LastState.RATE_LIMITED]),
    ):
        chunk[field] += np.bincount(counted, minlength=CHUNK_SLICES).astype(np.uint32)
    # The latest probe of each slice: sort by (pos, offset) and keep each slice's last row.
    order = np.lexsort((offset, pos))
    pos, offset, state = pos[order], offset[order], state[order]
    last = np.r_[pos[1:] != pos[:-1], True]
    pos, offset, state = pos[last], offset[last], state[last]
    newer = (chunk["last_state"][pos] == LastState.NONE) | (offset > chunk["last_offset_us"][pos])
    chunk["last_offset_us"][pos[newer]] = offset[newer]
    chunk["last_state"][pos[newer]] = state[newer]
