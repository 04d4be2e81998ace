"""`run`'s status site: rewritten every `status_page.refresh`, swapped in whole.

The work happens in a worker thread, off the event loop that schedules probes; the
builder keeps finished slices between refreshes, so each refresh re-reads only the
last hour of rollups.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from monitor.config import Config
from monitor.errors import MonitorError
from monitor.status.publish import Published, publish
from monitor.status.site import SiteRenderer
from monitor.status.state import StatusBuilder

log = logging.getLogger(__name__)


class SiteRefresher:
    def __init__(
        self,
        config: Config,
        builder: StatusBuilder,
        clock: Callable[[], datetime],
        output_dir: Path,
    ) -> None:
        self._config = config
        self._clock = clock
        self._output_dir = output_dir
        self._builder = builder
        self._renderer = SiteRenderer()
        self._published: Published | None = None

    async def run(self, stop: asyncio.Event) -> None:
        page = self._config.status_page
        assert page is not None
        first = True
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.refresh)
                if first:
                    settle()
                    first = False
            except MonitorError as exc:
                log.warning("status site not refreshed: %s", exc)
            except OSError as exc:
                log.warning("status site not written to %s: %s", self._output_dir, exc.strerror)
            except Exception:  # the page is a side dish: never let it stop probing
                log.exception("status site not refreshed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=page.refresh)

    def refresh(self) -> Path:
        """Build a snapshot and publish it; `run` calls `settle()` after the first."""
        started = time.process_time()
        now = self._clock()
        snapshot = self._builder.snapshot(now)
        self._published = publish(
            self._renderer.files(snapshot), self._output_dir, now, self._published
        )
        folder = self._published.folder
        log.debug(
            "status site %s written in %.3f s CPU (%s)",
            folder.name,
            time.process_time() - started,
            snapshot.description,
        )
        return folder


def settle() -> None:
    """After the first (cold) refresh: the builder's kept days and incidents, a hundred
    thousand objects on a large page, leave the cycle collector's sight, or each full
    collection walks them all again (a fifth of a refresh at 5,000 targets)."""
    gc.collect()
    gc.freeze()
