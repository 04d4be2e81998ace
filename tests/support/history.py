"""Probe history as import CSV, with a slice-by-slice reference evaluation of it.

Probes every 5 minutes per series (stale after 10: each probe's outcome carries to the
next), so three months of three targets over two families stay small. The reference
decides each slice in plain Python straight from the probes, independently of the
engine: the slice takes the outcome of its series' latest probe; a target slice is BAD
when either family's is (`family_policy: any`) and EXCLUDED when a window covers it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

HEADER = ("time", "target", "family", "location", "success", "status_code", "latency_ms", "reason")
STEP = timedelta(minutes=5)


@dataclass(frozen=True)
class Outage:
    target: str
    family: str
    start: datetime
    end: datetime
    reason: str = "timeout"


@dataclass(frozen=True)
class Row:
    time: datetime
    target: str
    family: str
    location: str
    success: bool
    status_code: int | None
    latency_ms: float | None
    reason: str

    def cells(self) -> list[str]:
        return [
            self.time.isoformat().replace("+00:00", "Z"),
            self.target,
            self.family,
            self.location,
            "true" if self.success else "false",
            "" if self.status_code is None else str(self.status_code),
            "" if self.latency_ms is None else f"{self.latency_ms:.1f}",
            self.reason,
        ]


def probes(
    targets: Sequence[str],
    start: datetime,
    end: datetime,
    outages: Iterable[Outage] = (),
    *,
    locations: Sequence[str] = ("eu-west",),
    families: Sequence[str] = ("ipv4", "ipv6"),
    step: timedelta = STEP,
) -> list[Row]:
    """One probe per series every `step` (at :07 s) in [start, end), oldest first."""
    outages = list(outages)
    rows = []
    when = start + timedelta(seconds=7)
    while when < end:
        for target in targets:
            for family in families:
                for location in locations:
                    down = next(
                        (
                            o
                            for o in outages
                            if (o.target, o.family) == (target, family) and o.start <= when < o.end
                        ),
                        None,
                    )
                    rows.append(_row(when, target, family, location, down))
        when += step
    return rows


def _row(when: datetime, target: str, family: str, location: str, down: Outage | None) -> Row:
    if down is None:
        return Row(when, target, family, location, True, 200, 42.0, "")
    if down.reason == "rate_limited":
        return Row(when, target, family, location, True, 429, 12.5, "rate_limited")
    status = 503 if down.reason == "status" else None
    return Row(when, target, family, location, False, status, None, down.reason)


def write_csv(path: Path, rows: Iterable[Row]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(HEADER)
        out.writerows(row.cells() for row in rows)
    return path


def reference(
    rows: Sequence[Row],
    target: str,
    start: datetime,
    end: datetime,
    windows: Sequence[tuple[datetime, datetime]] = (),
) -> tuple[int, int]:
    """(eligible, bad) minutes of `target` in [start, end), decided one minute at a time."""
    latest: dict[str, bool] = {}
    by_minute: dict[datetime, list[Row]] = {}
    for row in rows:
        if row.target == target:
            by_minute.setdefault(row.time.replace(second=0, microsecond=0), []).append(row)
    eligible = bad = 0
    minute = start - timedelta(minutes=10)  # the probes carried into the first slices
    while minute < end:
        for row in by_minute.get(minute, ()):
            latest[row.family] = row.success
        if minute >= start and not any(
            low < minute + timedelta(minutes=1) and high > minute for low, high in windows
        ):
            eligible += 1
            bad += not all(latest.values())
        minute += timedelta(minutes=1)
    return eligible, bad


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)
