"""Probe rows in columns: what the writer and the importer hand the store.

A `Batch` is rows keyed by series id, ready to insert and to fold into rollups. The
writer's rows are full `ProbeResult`s; an import's rows (`Imported`) carry only the
columns a CSV row has (`Measured`), the others stay NULL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from monitor.probing.results import (
    NO_REASON,
    PHASES,
    REASON_CODES,
    ProbeResult,
    Reason,
    slice_states,
)
from sla.slices import epoch_us, from_epoch_us

MEASURED_COLUMNS = ("series_id", "started_us", "success", "reason", "status_code", "latency_ms")
SeriesKey = tuple[str, str, str]  # target, family, location


@dataclass(frozen=True)
class Measured:
    """What imported rows say about their probes, in columns (the arrays of a Batch)."""

    success: np.ndarray  # bool
    reason: np.ndarray  # int8 REASON_CODES, NO_REASON for none
    status_code: np.ndarray  # int32, 0 for none
    latency_ms: np.ndarray  # float64, NaN for none

    def take(self, index: np.ndarray) -> Measured:
        return Measured(
            self.success[index], self.reason[index], self.status_code[index], self.latency_ms[index]
        )


@dataclass(frozen=True)
class Imported:
    """Checked import rows whose series are still names: ids are the store's business."""

    series: list[SeriesKey]
    which: np.ndarray  # each row's index into series
    started_us: np.ndarray  # int64
    measured: Measured


@dataclass(frozen=True)
class Batch:
    """Probe rows in columns, keyed by series id: the shape both writers and imports use."""

    series_id: np.ndarray  # int64
    started_us: np.ndarray  # int64
    state: np.ndarray  # uint8 LastState
    # Same order as the arrays: full rows in PROBE_COLUMNS order, or an import's columns.
    rows: list[tuple[Any, ...]] | Measured

    def outcomes(self) -> np.ndarray:
        """Each row's `outcome_code`: what tells two rows of one probe apart."""
        if isinstance(self.rows, Measured):
            return self.rows.reason.astype(np.int64) * 2 + self.rows.success
        return np.fromiter(
            (outcome_code(bool(row[2]), row[3]) for row in self.rows), np.int64, len(self.rows)
        )

    @classmethod
    def of_rows(cls, rows: list[tuple[Any, ...]]) -> Batch:
        """From full rows (series_id, started_us, success, reason...)."""
        return cls(
            series_id=np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)),
            started_us=np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows)),
            state=stored_states([r[2] for r in rows], [r[3] for r in rows]),
            rows=rows,
        )

    @classmethod
    def of_import(cls, imported: Imported, series_ids: np.ndarray) -> Batch:
        """From import rows, given the id of each of their series."""
        measured = imported.measured
        return cls(
            series_ids[imported.which],
            imported.started_us,
            slice_states(measured.success, measured.reason),
            measured,
        )


def outcome_code(success: bool, reason: str | None) -> int:
    """A probe's outcome (success and reason) as one number, whatever path stored it."""
    return (NO_REASON if reason is None else REASON_CODES[reason]) * 2 + success


def stored_states(success: Sequence[bool], reason: Sequence[str | None]) -> np.ndarray:
    """slice_states of rows as the database holds them (reason as text or NULL)."""
    codes = np.fromiter(
        (NO_REASON if r is None else REASON_CODES[r] for r in reason), np.int8, count=len(reason)
    )
    return slice_states(np.asarray(success, dtype=bool), codes)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000.0, 3)


def probe_row(series_id: int, r: ProbeResult) -> tuple[Any, ...]:
    """A full row in PROBE_COLUMNS order."""
    return (
        series_id,
        epoch_us(r.started),
        r.success,
        None if r.reason is None else str(r.reason),
        r.status_code,
        round(r.latency_ms, 3),
        *(_ms(r.phases.get(phase)) for phase in PHASES),
        r.tls_version,
        None if r.cert_expiry is None else epoch_us(r.cert_expiry),
        r.address,
    )


def probe_result(row: Sequence[Any]) -> ProbeResult:
    """The domain object of a (target, family, location, *PROBE_COLUMNS[1:]) row."""
    (target, family, location, started, success, reason, status, latency, *phases) = row
    phases, (tls_version, cert_expiry, address) = phases[:5], phases[5:]
    return ProbeResult(
        target=target,
        family=family,
        location=location,
        started=from_epoch_us(started),
        success=bool(success),
        reason=None if reason is None else Reason(reason),
        status_code=status,
        duration_seconds=(latency or 0.0) / 1000.0,
        phases={p: v / 1000.0 for p, v in zip(PHASES, phases, strict=True) if v is not None},
        tls_version=tls_version,
        cert_expiry=None if cert_expiry is None else from_epoch_us(cert_expiry),
        address=address,
    )
