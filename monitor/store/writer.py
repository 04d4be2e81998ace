"""One thread that writes results in batches, so probing never waits on the database.

Results queue up in memory; every `interval` the thread writes what is there in one
transaction. When the database is down the batch stays buffered (up to `limit`
results, the oldest dropped first beyond that) and is retried on the next round.
"""

from __future__ import annotations

import logging
import threading
from collections import deque

from monitor.errors import StoreError
from monitor.metrics.collectors import ProbeMetrics
from monitor.probing.results import ProbeResult
from monitor.store import Store

log = logging.getLogger(__name__)


class BatchWriter:
    def __init__(
        self, store: Store, metrics: ProbeMetrics, interval: float = 1.0, limit: int = 100_000
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._interval = interval
        self._limit = limit
        self._pending: deque[ProbeResult] = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="batch-writer", daemon=True)
        self._failing = False
        self._dropped_since_write = 0  # results dropped since the last successful write
        # The batch being written, by id: a result submit() evicts from it meanwhile is not
        # dropped yet, the write decides (written if it succeeds, dropped if it fails).
        self._writing: set[int] = set()
        self._evicted_while_writing = 0

    def start(self) -> None:
        self._thread.start()

    def submit(self, result: ProbeResult) -> None:
        """Called from the event loop: O(1), never blocks on I/O."""
        with self._lock:
            first_drop = False
            if len(self._pending) >= self._limit:
                oldest = self._pending.popleft()
                if id(oldest) in self._writing:
                    self._evicted_while_writing += 1
                else:
                    first_drop = self._count_dropped(1)
            self._pending.append(result)
            self._metrics.buffered = len(self._pending)
        if first_drop:
            self._say_dropping()

    def _count_dropped(self, count: int) -> bool:
        """Count results lost (lock held); whether they are the first since a write."""
        first = self._dropped_since_write == 0
        self._metrics.dropped += count
        self._dropped_since_write += count
        return first

    def _say_dropping(self) -> None:
        """Once per episode, not once per dropped result."""
        log.error(
            "write buffer full (storage.buffer_limit %d): dropping the oldest results",
            self._limit,
        )

    def stop(self) -> None:
        """Write everything still pending (one last try), then end the thread."""
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.flush()
        self.flush()

    def flush(self) -> None:
        with self._lock:
            batch = list(self._pending)
            self._writing = {id(result) for result in batch}
            self._evicted_while_writing = 0
        if not batch:
            return
        try:
            self._store.write(batch)
        except StoreError as exc:
            with self._lock:  # what submit() evicted from the batch meanwhile is lost now
                self._writing = set()
                lost = self._evicted_while_writing
                first_drop = self._count_dropped(lost) if lost else False
            if first_drop:
                self._say_dropping()
            self._metrics.write_errors += 1
            if not self._failing:
                log.error("database write failed, buffering %d results: %s", len(batch), exc)
            self._failing = True
            return
        with self._lock:  # what submit() evicted from the batch meanwhile was written
            self._writing = set()
            dropped, self._dropped_since_write = self._dropped_since_write, 0
        if self._failing:
            log.warning(
                "database writes recovered, %d buffered results written, %d dropped",
                len(batch),
                dropped,
            )
            self._failing = False
        with self._lock:
            # Drop exactly what was written: submit() may have appended, and evicted some of
            # the batch, meanwhile. What was written is still at the front, in order.
            written = {id(result) for result in batch}
            while self._pending and id(self._pending[0]) in written:
                self._pending.popleft()
            self._metrics.buffered = len(self._pending)
        self._metrics.written += len(batch)
