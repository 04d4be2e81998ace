"""Where promise check outcomes go: the metrics at once, the database in runs.

A run is the consecutive checks of one (promise, target, family) with one result, within
one month of sla.timezone: at 1,000 targets checked every minute the database gets an
update per run and flush, not a row per check, and a month's figures are exact sums.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from monitor.errors import MonitorError
from monitor.metrics.promises import Counts
from monitor.promises.checks import Outcome
from monitor.store import Store
from sla.promises import BROKEN, KEPT, CheckRun

log = logging.getLogger(__name__)


@dataclass(eq=False)  # compared by identity
class _Open:
    """The latest run of one key: its row id once stored, and whether it changed since."""

    run: CheckRun
    month: tuple[int, int]
    id: int | None = None
    dirty: bool = True


class CheckRecorder:
    """Thread-safe: `record` from any thread (the probes' 429s, the checks), `flush` from
    one at a time."""

    def __init__(self, store: Store, metrics: Counts, location: str, zone: ZoneInfo):
        self._store = store
        self._metrics = metrics
        self._location = location
        self._zone = zone
        self._lock = threading.Lock()
        self._open: dict[tuple[str, str, str], _Open] = {}
        self._closed: list[_Open] = []  # replaced runs not stored in full yet
        self._flushing = threading.Lock()

    def record(self, outcome: Outcome) -> None:
        self._metrics.check(
            outcome.promise, outcome.target, outcome.family, KEPT if outcome.kept else BROKEN
        )
        local = outcome.at.astimezone(self._zone)
        month = (local.year, local.month)
        key = (outcome.promise, outcome.target, outcome.family)
        with self._lock:
            current = self._open.get(key)
            if current is not None and current.run.kept == outcome.kept and current.month == month:
                current.run = replace(
                    current.run,
                    last=max(current.run.last, outcome.at),
                    checks=current.run.checks + 1,
                    detail=outcome.detail,
                )
                current.dirty = True
                return
            self._open[key] = _Open(
                CheckRun(
                    promise=outcome.promise,
                    target=outcome.target,
                    family=outcome.family,
                    location=self._location,
                    kept=outcome.kept,
                    first=outcome.at,
                    last=outcome.at,
                    checks=1,
                    detail=outcome.detail,
                ),
                month,
            )
            # The run it replaces may not be stored in full yet: keep it until flushed.
            if current is not None and current.dirty:
                self._closed.append(current)

    def flush(self) -> int:
        """Store every run changed since the last flush; returns how many. A failure is
        logged and retried at the next flush (the runs stay marked)."""
        with self._flushing:
            with self._lock:
                pending = [*self._closed, *(o for o in self._open.values() if o.dirty)]
                self._closed = []
                snapshot = [(o, o.id, o.run) for o in pending]
                for o in pending:
                    o.dirty = False
            if not snapshot:
                return 0
            try:
                ids = self._store.promises.write_promise_runs([(i, run) for _o, i, run in snapshot])
            except MonitorError as exc:
                log.warning("promise checks not stored yet (retried): %s", exc)
                with self._lock:
                    for o, _i, _run in snapshot:
                        o.dirty = True
                        if o not in self._open.values():
                            self._closed.append(o)
                return 0
            with self._lock:
                for (o, _i, _run), stored in zip(snapshot, ids, strict=True):
                    o.id = stored
            return len(snapshot)
