"""The scheduler against real HTTPS servers: Retry-After holds, hung targets stay their own."""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import UTC, datetime
from itertools import pairwise
from statistics import median

import pytest
from support.https import Route

from monitor.config import Target
from monitor.probing.probe import Prober
from monitor.probing.results import ProbeResult, Reason
from monitor.probing.scheduler import ProbeScheduler


def target(server, name: str, path: str, **settings) -> Target:
    return Target(name=name, **server.target_fields(path), **settings)


def run_for(seconds: float, targets: list[Target]) -> list[ProbeResult]:
    """Run a real scheduler for a while and collect every result."""
    results: list[ProbeResult] = []

    async def main() -> None:
        prober = Prober("lab")
        scheduler = ProbeScheduler(
            tuple(targets), prober, [results.append], clock=lambda: datetime.now(UTC)
        )
        scheduler.start()
        await asyncio.sleep(seconds)
        await scheduler.shutdown()
        await prober.aclose()

    asyncio.run(main())
    return results


def started_gaps(results: list[ProbeResult]) -> list[float]:
    """Seconds between the starts of consecutive probes."""
    starts = sorted(r.started for r in results)
    return [(later - earlier).total_seconds() for earlier, later in pairwise(starts)]


def test_a_429_with_retry_after_holds_that_series_back(https_server):
    server = https_server(routes={"/busy": Route(status=429, headers={"Retry-After": "5"})})
    busy = target(server, "busy", "/busy", interval=1.0, timeout=2.0, families=("ipv4",))
    results = run_for(9.0, [busy])  # the second probe is due at 5-7 s: seconds to spare
    assert results[0].reason == Reason.RATE_LIMITED
    assert results[0].success
    assert len(server.requests) == len(results) >= 2, "probing resumes once Retry-After passed"
    # Never again within the 5 s it asked for (1 s interval otherwise), counted from the
    # start of the probe that was told, as the hold is (the server sees each request a
    # handshake later, and handshakes take longer on a busy machine).
    assert min(started_gaps(results)) >= 5


@pytest.mark.parametrize("retry_after", ["31536000", "99999999999999"])
def test_a_retry_after_of_a_year_or_more_holds_only_for_max_retry_after(
    https_server, caplog, retry_after
):
    server = https_server(routes={"/busy": Route(status=429, headers={"Retry-After": retry_after})})
    busy = target(
        server, "busy", "/busy", interval=1.0, timeout=2.0, families=("ipv4",), max_retry_after=2
    )

    with caplog.at_level(logging.WARNING):
        results = run_for(6.5, [busy])

    # No OverflowError, no job error. (A run skipped while the previous one still runs is
    # a busy machine's doing, a probe taking over the 1 s interval, not the hold's.)
    busy_machine = "maximum number of running instances reached"
    assert [r.getMessage() for r in caplog.records if busy_machine not in r.getMessage()] == []
    assert all(r.reason == Reason.RATE_LIMITED and r.retry_after_seconds == 2 for r in results)
    assert len(results) >= 2, "probing resumes once max_retry_after has passed"
    assert len(results) == len(server.requests)  # every probe made is a stored result
    assert min(started_gaps(results)) >= 2  # held the 2 s max_retry_after allows, not 1 s


def test_a_hung_target_times_out_while_a_healthy_one_keeps_its_schedule(https_server):
    server = https_server(routes={"/hang": Route(hang=True), "/ok": Route()})
    hung = target(server, "hung", "/hang", interval=1.0, timeout=2.5)
    healthy = target(server, "healthy", "/ok", interval=1.0, timeout=2.5)
    results = run_for(6.0, [hung, healthy])
    hung_results = [r for r in results if r.target == "hung"]
    healthy_times = sorted(
        r.started for r in results if r.target == "healthy" and r.family == "ipv4"
    )
    assert hung_results
    assert all(r.reason == Reason.TIMEOUT for r in hung_results)
    assert all(2.4 <= r.duration_seconds < 5.0 for r in hung_results)  # at its timeout
    # One run a second, not one per hung probe (2.5 s): held back by the hung target, every
    # healthy run would wait for it. A busy machine may skip a run now and then (the next
    # one is due before a late one ends), so the typical gap is judged, not the longest.
    assert len(healthy_times) >= 3
    gaps = [(b - a).total_seconds() for a, b in pairwise(healthy_times)]
    assert median(gaps) < 1.5
    # Runs of the hung target never overlap: one at a time, each ending at its timeout.
    hung_v4 = sorted(r.started for r in hung_results if r.family == "ipv4")
    assert all((b - a).total_seconds() >= 2.4 for a, b in pairwise(hung_v4))


class _FirstRunNow(random.Random):
    """Every target's first run at start, so a test knows which runs exist when."""

    def uniform(self, a: float, b: float) -> float:
        return a


@pytest.mark.parametrize(
    ("stop_when", "requests"), [("submitted", 0), ("started", 0), ("in-flight", 2)]
)
def test_shutting_down_cancels_runs_without_logging_job_errors(
    https_server, caplog, stop_when, requests
):
    """A stop with a run submitted but not started yet, just started, or with the probes of a
    hung target in flight, is a clean stop: APScheduler must not log a failed job."""
    server = https_server(routes={"/hang": Route(hang=True)})
    hung = target(server, "hung", "/hang", interval=1.0, timeout=5.0)
    results: list[ProbeResult] = []

    async def main() -> None:
        prober = Prober("lab")
        scheduler = ProbeScheduler(
            (hung,),
            prober,
            [results.append],
            clock=lambda: datetime.now(UTC),
            rng=_FirstRunNow(),
        )
        scheduler.start()
        if stop_when == "submitted":  # what APScheduler's own wakeup is about to do
            scheduler._scheduler._process_jobs()
        else:
            await asyncio.sleep(0.0 if stop_when == "started" else 0.5)
        await scheduler.shutdown()
        await prober.aclose()

    with caplog.at_level(logging.INFO):
        asyncio.run(main())
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert results == []  # the cancelled probes have no result
    assert server.request_count() == requests
