"""Runs every target on its interval with APScheduler, both families at once.

Each target is one job (max_instances=1: runs of a target never overlap); first runs
are spread over the interval so 5,000 targets do not fire in the same second; a
global semaphore bounds concurrent probes; each probe is bounded by its timeout, so
a hung target only ever holds its own job. A 429's Retry-After pauses that series.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from monitor.config import Target
from monitor.probing.probe import Prober
from monitor.probing.results import ProbeResult

log = logging.getLogger(__name__)

Sink = Callable[[ProbeResult], None]


class ProbeScheduler:
    def __init__(
        self,
        targets: tuple[Target, ...],
        prober: Prober,
        sinks: list[Sink],
        *,
        clock: Callable[[], datetime],
        concurrency: int = 512,
        on_lag: Callable[[float], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._targets = targets
        self._prober = prober
        self._sinks = sinks
        self._clock = clock
        self._limit = asyncio.Semaphore(concurrency)
        self._on_lag = on_lag or (lambda _lag: None)
        self._rng = rng or random.Random()
        self._not_before: dict[tuple[str, str], datetime] = {}
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        self._running: set[asyncio.Task[object]] = set()
        self._stopping = False

    def start(self) -> None:
        now = self._clock()
        for target in self._targets:
            first = now + timedelta(seconds=self._rng.uniform(0, min(target.interval, 60.0)))
            self._scheduler.add_job(
                self.run_target,
                IntervalTrigger(seconds=target.interval, start_date=first, timezone="UTC"),
                args=(target, first),
                id=target.name,
                name=target.name,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=max(1, int(target.interval)),
                next_run_time=first,
            )
        self._scheduler.start()

    async def shutdown(self) -> None:
        """Stop planning runs and cancel those in flight: an unfinished probe has no result.

        Runs are cancelled here, not by APScheduler's shutdown (which AsyncIOScheduler defers
        to the next loop iteration, while its timer may still submit runs): it would cancel
        runs this method has not seen, even before they start, and log each as a job error
        with a traceback.
        """
        self._stopping = True
        self._scheduler.pause()  # no run is submitted from now on
        await asyncio.sleep(0)  # runs submitted just before start, so they are in _running
        for task in self._running:
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
        self._scheduler.shutdown(wait=False)
        await asyncio.sleep(0)  # ... and let that deferred shutdown run before returning

    async def run_target(self, target: Target, first: datetime) -> None:
        planned = _planned_start(first, target.interval, self._clock())
        self._on_lag((self._clock() - planned).total_seconds())
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            await asyncio.gather(*(self.run_series(target, f) for f in target.families))
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            # Cut short by shutdown(): not a job failure. Raised on, APScheduler would log
            # an ERROR with a traceback for every probe in flight (hung targets always are).
        finally:
            self._running.discard(task)

    async def run_series(self, target: Target, family: str) -> ProbeResult | None:
        """Probe one series unless a Retry-After holds it back; hand the result to the sinks."""
        hold = self._not_before.get((target.name, family))
        if hold is not None and self._clock() < hold:
            return None
        async with self._limit:
            result = await self._prober.probe(target, family)
        if log.isEnabledFor(logging.DEBUG):  # `-v`: each probe's outcome (details hold no secret)
            log.debug(
                "probe %s/%s: %s in %.0f ms%s",
                target.name,
                family,
                "up" if result.success else (result.reason or "down"),
                result.latency_ms,
                f" ({result.detail})" if result.detail else "",
            )
        if result.retry_after_seconds is not None:
            self._not_before[(target.name, family)] = result.started + timedelta(
                seconds=result.retry_after_seconds
            )
        for sink in self._sinks:
            try:
                sink(result)
            except Exception:  # a sink bug must not kill the schedule
                log.exception("result sink failed for %s/%s", target.name, family)
        return result


def _planned_start(first: datetime, interval: float, now: datetime) -> datetime:
    """The latest run time the trigger planned at or before now."""
    elapsed = (now - first).total_seconds()
    runs = max(int(elapsed // interval), 0)
    return first + timedelta(seconds=runs * interval)
