"""The store, against a SQLite file and a real PostgreSQL server alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, inspect

from monitor.errors import StoreError
from monitor.metrics.collectors import ProbeMetrics
from monitor.probing.results import ProbeResult, Reason
from monitor.store import Store
from monitor.store.writer import BatchWriter
from sla.model import LastState

T0 = datetime(2026, 2, 1, tzinfo=UTC)
MINUTE0 = int(T0.timestamp()) // 60


def probe(
    seconds: float,
    ok: bool = True,
    family: str = "ipv4",
    reason: Reason | None = None,
    target: str = "api",
) -> ProbeResult:
    return ProbeResult(
        target=target,
        family=family,
        location="eu",
        started=T0 + timedelta(seconds=seconds),
        success=ok,
        reason=reason if reason or ok else Reason.CONNECT,
        status_code=200 if ok else None,
        duration_seconds=0.0421,
        phases={"connect": 0.001, "tls": 0.002},
        tls_version="1.3",
        cert_expiry=datetime(2027, 1, 1, tzinfo=UTC),
        address="::1",
    )


def test_results_round_trip_as_domain_objects(store: Store) -> None:
    original = probe(0.123456, ok=False)
    store.write([original])
    (stored,) = store.results()
    assert stored.started == original.started  # microsecond exact
    assert (stored.success, stored.reason, stored.tls_version) == (False, Reason.CONNECT, "1.3")
    assert stored.phases == {"connect": 0.001, "tls": 0.002}
    assert stored.cert_expiry == original.cert_expiry


def test_writing_the_same_probe_twice_stores_it_once(store: Store) -> None:
    batch = [probe(i * 20) for i in range(6)]
    assert store.write(batch) == 6
    assert store.write([*batch, probe(200)]) == 1
    assert len(store.results()) == 7


def test_rollups_count_probes_failures_and_the_last_outcome_per_slice(store: Store) -> None:
    # Minute 0: ok at 0 s, fail at 30 s. Minute 1: 429 at 70 s. Minute 2: nothing.
    store.write([probe(0), probe(30, ok=False), probe(70, reason=Reason.RATE_LIMITED)])
    (series,) = store.load_slices(60, MINUTE0, MINUTE0 + 3, ["api"])
    assert series.total.tolist() == [2, 1, 0]
    assert series.failed.tolist() == [1, 0, 0]
    assert series.rate_limited.tolist() == [0, 1, 0]
    assert series.last_state.tolist() == [LastState.FAILED, LastState.RATE_LIMITED, LastState.NONE]
    assert series.last_offset_us[:2].tolist() == [30_000_000, 10_000_000]


def test_a_new_slice_length_is_built_from_the_raw_rows(store: Store) -> None:
    store.write([probe(s, ok=s != 90) for s in range(0, 600, 30)])
    (five_minutes,) = store.load_slices(300, MINUTE0 // 5, MINUTE0 // 5 + 2, ["api"])
    assert five_minutes.total.tolist() == [10, 10]
    assert five_minutes.failed.tolist() == [1, 0]
    store.write([probe(610, ok=False)])  # kept current from now on
    (again,) = store.load_slices(300, MINUTE0 // 5, MINUTE0 // 5 + 3, ["api"])
    assert again.failed.tolist() == [1, 0, 1]


def test_series_are_separate_per_family_and_only_requested_targets_load(store: Store) -> None:
    store.write([probe(0), probe(0, family="ipv6", ok=False), probe(0, target="other")])
    loaded = store.load_slices(60, MINUTE0, MINUTE0 + 1, ["api"])
    assert sorted((s.family, int(s.failed[0])) for s in loaded) == [("ipv4", 0), ("ipv6", 1)]


def test_reading_targets_as_one_block_gives_what_reading_one_at_a_time_does(
    store: Store,
) -> None:
    store.write(
        [probe(0), probe(60, ok=False), probe(0, family="ipv6", ok=False), probe(60, target="b")]
    )
    with store.slice_reader(60, MINUTE0 - 1, MINUTE0 + 2) as one_at_a_time:
        expected = [series for t in ("api", "b") for series in one_at_a_time(t)]
    with store.block_reader(60, MINUTE0 - 1, MINUTE0 + 2) as at_once:
        block = at_once(["api", "b", "unknown"])
        assert at_once(["unknown"]).series == ()
    assert sorted(block.series) == sorted((s.target, s.family, s.location) for s in expected)
    assert block.first_slice == MINUTE0 - 1
    for series in expected:
        row = block.series.index((series.target, series.family, series.location))
        lead = series.first_slice - block.first_slice  # nothing stored before: no probe
        for name in ("total", "failed", "rate_limited", "last_offset_us", "last_state"):
            column = getattr(block, name)[row]
            assert column[:lead].tolist() == [0] * lead
            assert column[lead:].tolist() == getattr(series, name).tolist()
    assert int(block.failed.sum()) == 2


def test_the_batch_writer_stores_everything_submitted_before_stop(store: Store) -> None:
    metrics = ProbeMetrics()
    writer = BatchWriter(store, metrics, interval=0.05)
    writer.start()
    for i in range(250):
        writer.submit(probe(i))
    writer.stop()
    assert len(store.results()) == 250
    assert (metrics.written, metrics.buffered, metrics.dropped) == (250, 0, 0)


def test_the_batch_writer_buffers_through_a_failing_database_and_drops_beyond_its_limit(
    store: Store,
) -> None:
    metrics = ProbeMetrics()
    writer = BatchWriter(DownStore(), metrics, interval=3600, limit=3)  # type: ignore[arg-type]
    for i in range(5):
        writer.submit(probe(i))
    writer.flush()
    assert (metrics.buffered, metrics.dropped, metrics.write_errors) == (3, 2, 1)
    writer._store = store  # the database is back
    writer.flush()
    assert [r.started.second for r in store.results()] == [2, 3, 4]
    assert metrics.buffered == 0


class DownStore:
    """A database that refuses every write."""

    def write(self, _batch: object) -> int:
        raise StoreError("database is down")


class SlowStore:
    """A database whose write waits while the test submits more results, then ends as told:
    stored in `store`, or refused."""

    def __init__(self, store: Store | None, submit_during: list[ProbeResult]) -> None:
        self.store, self.submit_during = store, submit_during
        self.writer: BatchWriter | None = None

    def write(self, batch: list[ProbeResult]) -> int:
        assert self.writer is not None
        for result in self.submit_during:  # the buffer is full: each evicts a batch member
            self.writer.submit(result)
        if self.store is None:
            raise StoreError("database is down")
        return self.store.write(batch)


def full_writer(store: Store | None) -> tuple[BatchWriter, ProbeMetrics, SlowStore]:
    """A writer of limit 3 holding results 0, 1 and 2, whose next write (to `store`, or
    refused) sees 10 and 11 submitted meanwhile: each pushes the oldest out of the buffer."""
    metrics = ProbeMetrics()
    slow = SlowStore(store, [probe(10), probe(11)])
    writer = BatchWriter(slow, metrics, interval=3600, limit=3)  # type: ignore[arg-type]
    slow.writer = writer
    for i in range(3):
        writer.submit(probe(i))
    return writer, metrics, slow


def test_results_evicted_from_a_batch_being_written_count_as_written_not_dropped(
    store: Store,
) -> None:
    writer, metrics, slow = full_writer(store)
    writer.flush()  # writes 0, 1, 2 while 10 and 11 push 0 and 1 out of the buffer
    assert [r.started.second for r in store.results()] == [0, 1, 2]
    assert (metrics.written, metrics.dropped, metrics.buffered) == (3, 0, 2)
    slow.submit_during = []
    writer.flush()
    assert [r.started.second for r in store.results()] == [0, 1, 2, 10, 11]
    assert (metrics.written, metrics.dropped, metrics.buffered) == (5, 0, 0)


def test_results_evicted_from_a_batch_whose_write_fails_count_as_dropped() -> None:
    writer, metrics, _ = full_writer(None)
    writer.flush()  # fails: 0 and 1 were pushed out meanwhile, and are lost
    assert (metrics.written, metrics.dropped, metrics.buffered) == (0, 2, 3)


def test_a_bad_database_url_is_a_clear_error_without_the_password() -> None:
    with pytest.raises(StoreError) as caught:
        Store("postgresql+psycopg://app:hunter2@127.0.0.1:1/uptime")
    assert "hunter2" not in str(caught.value)
    assert "***" in str(caught.value)


def test_opening_without_create_leaves_the_database_as_it_was(database_url: str) -> None:
    Store(database_url, create=False).close()
    engine = create_engine(database_url)
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()
    Store(database_url).close()  # the default creates the schema
    engine = create_engine(database_url)
    try:
        assert "probe_result" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_failed_probes_are_counted_per_slice_family_and_reason(store: Store) -> None:
    """What a report's incidents say failed: `local` never (the monitor's own network),
    a 429 only when `sla.rate_limited_counts_as: down`, nothing outside the slices asked."""
    store.write(
        [
            probe(0, ok=False, reason=Reason.TIMEOUT),
            probe(30, ok=False, reason=Reason.TIMEOUT),
            probe(30, ok=False, reason=Reason.DNS, family="ipv6"),
            probe(45, ok=False, reason=Reason.LOCAL, family="ipv6"),
            probe(61, ok=True, reason=Reason.RATE_LIMITED),
            probe(90, ok=True),
            probe(125, ok=False, reason=Reason.STATUS),  # the third slice: not asked for
            probe(10, ok=False, reason=Reason.TIMEOUT, target="other"),
        ]
    )
    failed = store.failed_probes("api", 60, MINUTE0, MINUTE0 + 2)
    assert failed.rows == ((MINUTE0, "ipv4", "timeout", 2), (MINUTE0, "ipv6", "dns", 1))
    down = store.failed_probes("api", 60, MINUTE0, MINUTE0 + 2, rate_limited=True)
    assert down.rows == (*failed.rows, (MINUTE0 + 1, "ipv4", "rate_limited", 1))
