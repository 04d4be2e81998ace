"""`uptime-sla import`: probe history from CSV, all rows or none.

Rows are parsed and checked in Python (each error names its line), then written in
large batches through the store's bulk path inside a single transaction, so a bad
row on line 3,000,000 leaves the database exactly as it was.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from monitor.config import FAMILIES, Config
from monitor.errors import InputError
from monitor.results import Reason
from monitor.store import Store, batch_of, to_us

HEADER = ["time", "target", "family", "location", "success", "status_code", "latency_ms", "reason"]
BATCH_ROWS = 200_000
_BOOLS = {"true": True, "false": False}
_REASONS = {r.value: r.value for r in Reason}
_EMPTY_TAIL = (None,) * 8  # phases, tls_version, cert expiry, address: not in the CSV


def import_csv(path: Path, config: Config, store: Store) -> tuple[int, int]:
    """Load the file; returns (rows read, rows newly stored). Raises InputError, stores nothing."""
    targets = {t.name: t for t in config.targets}
    read = stored = 0
    try:
        with path.open(newline="", encoding="utf-8") as handle, store.transaction() as conn:
            for rows in _batches(path, handle, targets):
                keyed = [
                    (store.series_id(conn, target, family, location), *rest)
                    for target, family, location, *rest in rows
                ]
                read += len(keyed)
                stored += store.write_rows(conn, batch_of(keyed))
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}:{_first_non_utf8_line(path)}: not UTF-8 text") from None
    except BaseException:
        store.forget_series_cache()  # ids created in the rolled-back transaction are gone
        raise
    return read, stored


def _first_non_utf8_line(path: Path) -> int:
    """The decoder's offset is within its chunk, not the file: find the line again."""
    with path.open("rb") as raw:
        for number, line in enumerate(raw, 1):  # b"\n" never occurs inside a UTF-8 sequence
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 1


def _rows(path: Path, reader: Any) -> Iterator[list[str]]:
    """csv.reader's own errors (a field over the size limit...) with their line."""
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(f"{path}:{reader.line_num}: {exc}") from None
        yield fields


def _batches(path: Path, handle: Any, targets: dict[str, Any]) -> Iterator[list[tuple[Any, ...]]]:
    reader = csv.reader(handle)
    rows = _rows(path, reader)
    header = next(rows, None)
    if header != HEADER:
        raise InputError(f"{path}:1: header must be {','.join(HEADER)}")
    batch: list[tuple[Any, ...]] = []
    for fields in rows:
        try:
            batch.append(_parse(fields, targets))
        except ValueError as exc:
            raise InputError(f"{path}:{reader.line_num}: {exc}") from None
        if len(batch) >= BATCH_ROWS:
            yield batch
            batch = []
    if batch:
        yield batch


@lru_cache(maxsize=4096)
def _epoch_us(when: str) -> int:
    """Cached: every series probed in one round shares the same time text."""
    try:
        started = datetime.fromisoformat(when)
    except ValueError:
        raise ValueError("time: not an RFC 3339 time") from None
    if started.tzinfo is None:
        raise ValueError("time: needs a UTC offset (e.g. Z or +00:00)")
    return to_us(started)


def _parse(fields: list[str], targets: dict[str, Any]) -> tuple[Any, ...]:
    """One row to (target, family, location, started_us, success, reason, status, latency...)."""
    if len(fields) != len(HEADER):
        raise ValueError(f"expected {len(HEADER)} columns, found {len(fields)}")
    when, target, family, location, success_text, status_text, latency_text, reason = fields
    started_us = _epoch_us(when)
    if target not in targets:
        raise ValueError("target: not defined in the config")
    if family not in FAMILIES:
        raise ValueError("family: must be ipv4 or ipv6")
    if not location:
        raise ValueError("location: is empty")
    if "\x00" in location:  # PostgreSQL text cannot hold it: refuse it on every database
        raise ValueError("location: contains a NUL character")
    success = _BOOLS.get(success_text.lower())
    if success is None:
        raise ValueError("success: must be true or false")
    return (
        target,
        family,
        location,
        started_us,
        success,
        _reason(reason, success),
        _status(status_text),
        _latency(latency_text),
        *_EMPTY_TAIL,
    )


def _reason(text: str, success: bool) -> str | None:
    if not text:
        return None
    reason = _REASONS.get(text)
    if reason is None:
        raise ValueError("reason: not a known reason")
    if success != (reason == Reason.RATE_LIMITED):
        raise ValueError(f"reason: {reason} does not go with success {str(success).lower()}")
    return reason


_STATUS: dict[str, int | None] = {"": None, **{str(code): code for code in range(100, 600)}}


def _status(text: str) -> int | None:
    try:
        return _STATUS[text]
    except KeyError:
        raise ValueError("status_code: must be empty or an HTTP status code") from None


def _latency(text: str) -> float | None:
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError("latency_ms: must be empty or a number") from None
    if not 0 <= value < math.inf:  # also rejects NaN
        raise ValueError("latency_ms: must be a finite number, not negative")
    return value
