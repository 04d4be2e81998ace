"""The rollup chunk format: what is encoded comes back whole, whatever slices are used."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.store import rollup
from sla.model import LastState

DAY_US = 86_400 * 1_000_000


def chunk_with_probes_in(positions: list[int], slice_seconds: int = 86_400) -> np.ndarray:
    chunk = rollup.empty_chunk()
    if not positions:
        return chunk
    starts = np.array([p * slice_seconds * 1_000_000 + p for p in positions], np.int64)
    states = np.full(len(starts), LastState.FAILED, np.uint8)
    rollup.merge(chunk, 0, rollup.Probes(starts, states), slice_seconds)
    return chunk


@pytest.mark.parametrize("positions", [[], [0], [0, 5], [1439], [3, 1439]])
def test_a_chunk_decodes_to_all_its_slices_as_it_was_encoded(positions: list[int]) -> None:
    chunk = chunk_with_probes_in(positions)
    blob = rollup.encode(chunk)
    decoded = rollup.decode(blob)
    assert len(decoded) == rollup.CHUNK_SLICES
    assert decoded.tobytes() == chunk.tobytes()
    assert np.flatnonzero(decoded["total"]).tolist() == positions
    # Readers get the slices up to the last probe; every later one is empty.
    read = rollup.records(blob)
    used = positions[-1] + 1 if positions else 0
    assert read == chunk[:used].tobytes()


def test_the_empty_slices_after_the_last_probe_cost_nothing_to_store() -> None:
    early, late = chunk_with_probes_in([0]), chunk_with_probes_in([1439])
    assert len(rollup.encode(early)) < len(rollup.encode(late))


def test_a_day_slice_keeps_an_offset_past_32_bits_and_counts_past_16() -> None:
    chunk = rollup.empty_chunk()
    starts = np.arange(0, DAY_US, 1_000_000, dtype=np.int64)  # a probe a second for a day
    rollup.merge(chunk, 0, rollup.Probes(starts, np.ones(len(starts), np.uint8)), 86_400)
    decoded = rollup.decode(rollup.encode(chunk))
    assert int(decoded["total"][0]) == 86_400
    assert int(decoded["last_offset_us"][0]) == DAY_US - 1_000_000
