"""When the promise checks run: each target with `promises:` every `promises.every`.

Off the probing path by design: the checks run in a process of their own (see
monitor.promises.runner), at most `concurrency` at once, and a target whose last round is
still running skips a round rather than piling up. First rounds are spread over the first
minute (or `every`, when shorter) so a thousand targets do not start together.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import math
import random
from collections.abc import Callable, Sequence

from monitor.config import Target
from monitor.promises.checks import Outcome, PromiseChecks

log = logging.getLogger(__name__)


class PromiseScheduler:
    def __init__(
        self,
        targets: Sequence[Target],
        checks: PromiseChecks,
        sink: Callable[[Outcome], None],
        *,
        concurrency: int = 8,
        rng: random.Random | None = None,
    ) -> None:
        self._targets = [t for t in targets if t.promises is not None]
        self._checks = checks
        self._sink = sink
        self._limit = asyncio.Semaphore(concurrency)
        self._rng = rng or random.Random()

    async def run(self, stop: asyncio.Event) -> None:
        """Check on schedule until `stop` is set; rounds in flight are then cancelled."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        due = [
            (start + self._rng.uniform(0, min(self._every(t), 60.0)), i)
            for i, t in enumerate(self._targets)
        ]
        heapq.heapify(due)
        running: dict[int, asyncio.Task[None]] = {}
        try:
            while due and not stop.is_set():
                when, index = due[0]
                wait = when - loop.time()
                if wait > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=wait)
                    continue
                every = self._every(self._targets[index])
                missed = max(math.ceil((loop.time() - when) / every), 1)
                heapq.heapreplace(due, (when + missed * every, index))
                if index in running and not running[index].done():
                    log.info("promise checks of %s still running: round skipped", self._name(index))
                    continue
                running[index] = asyncio.create_task(self.round(self._targets[index]))
        finally:
            for task in running.values():
                task.cancel()
            await asyncio.gather(*running.values(), return_exceptions=True)

    async def round(self, target: Target) -> None:
        """Every family of the target, each under the concurrency limit."""
        await asyncio.gather(*(self._family(target, family) for family in target.families))

    async def _family(self, target: Target, family: str) -> None:
        async with self._limit:
            try:
                outcomes = await self._checks.check(target, family)
            except asyncio.CancelledError:
                raise
            except Exception:  # a check bug must not end the schedule
                log.exception("promise checks of %s/%s failed", target.name, family)
                return
        for outcome in outcomes:
            self._sink(outcome)

    def _every(self, target: Target) -> float:
        assert target.promises is not None
        return target.promises.every

    def _name(self, index: int) -> str:
        return self._targets[index].name
