"""The probe_result and series tables: every probe stored once, by (series, start time).

Writes go in batches inside one transaction each, and every batch also folds its probes into
the slice rollups (`rollups`), so a monthly report never has to read raw rows. A probe
written twice is stored once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.engine import Connection, Row

from monitor.probing.results import ProbeResult
from monitor.store.base import Database, driver_connection
from monitor.store.rollups import SliceRollups
from monitor.store.rows import (
    Batch,
    Imported,
    SeriesKey,
    outcome_code,
    probe_result,
    probe_row,
)
from monitor.store.tables import PROBE_COLUMNS
from sla.model import FailedProbes
from sla.slices import epoch_us

_SERIES_ID = "SELECT id FROM series WHERE target=:t AND family=:f AND location=:l"
_Row = Row[*tuple[Any, ...]]


class ProbeResults:
    """The Store's probes (tables Series and ProbeRow); writing them also folds them into
    the rollups."""

    def __init__(self, database: Database, rollups: SliceRollups) -> None:
        self._db = database
        self._rollups = rollups
        # Series ids by key: cached across transactions, forgotten when one fails.
        self._series_ids: dict[SeriesKey, int] = {}

    @contextmanager
    def _writing(self, doing: str) -> Iterator[Connection]:
        """A write transaction; if it fails, the series ids it created do not exist."""
        try:
            with self._db.writing(doing) as conn:
                yield conn
        except BaseException:
            self._series_ids.clear()
            raise

    # --- writing ---------------------------------------------------------------------

    def write(self, results: Sequence[ProbeResult]) -> int:
        """Store a batch from the prober in one transaction; returns rows newly stored."""
        if not results:
            return 0
        with self._writing("write probe results") as conn:
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
        with self._writing("import probe results") as conn:
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
        raw = driver_connection(conn)
        dialect = self._db.dialect
        if isinstance(batch.rows, list):
            dialect.insert_rows(raw, PROBE_COLUMNS, [batch.rows[i] for i in keep])
        else:
            dialect.insert_measured(
                raw, batch.series_id[keep], batch.started_us[keep], batch.rows.take(keep)
            )
        self._rollups.fold(conn, batch.series_id[keep], batch.started_us[keep], batch.state[keep])
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
        for series_id, started_us, success, reason in self._db.select_by_series(
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

    def prune_raw(self, before: datetime) -> int:
        """Delete raw probe rows that started before `before`; the slice rollups stay.

        Reports read only rollups, so old months keep their figures. What is lost: the
        rows themselves, and rebuilding rollups for a new `sla.slice` over pruned time.
        """
        with self._writing("prune old probe results") as conn:
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
        with self._db.reading("read probe results") as conn:
            rows = conn.execute(text(query + " ORDER BY p.started_us"), params).all()
        return [probe_result(row) for row in rows]

    def probe_rows(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        targets: Sequence[str] | None = None,
    ) -> Iterator[_Row]:
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
        with self._db.reading("read probe results") as conn:
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
        with self._db.reading("read latencies") as conn:
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
        with self._db.reading("read failed probes") as conn:
            rows = conn.execute(text(query), params).all()
        return FailedProbes(target, tuple((int(a), b, c, int(d)) for a, b, c, d in rows))
