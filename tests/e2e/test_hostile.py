"""Hostile targets (issue 7, point 4): `uptime-sla run` with 100 healthy targets beside 125
hostile ones.

On real loopback HTTPS servers, 50 targets accept connections and never answer (25 after
reading the request, 25 before even starting TLS), 20 trickle their body one byte a second,
10 send a 50 MB body (5 declare it, 5 stream it without Content-Length) and 10 present an
expired or a wrong-host certificate. Every target sets `body_contains`, so a prober without
the `max_body_bytes` cap would keep each 50 MB body in memory.

Then the answers of issue 19, 5 targets each: compression bombs (a 3.4 KB `gzip, gzip` body
standing for 2 GiB of zeros, 256 MiB in `br`, 512 MiB in `deflate, br`), a Content-Length
longer than the body on a connection held open, an endless flood of interim 1xx responses,
and 429s whose Retry-After asks for a year or for 10^14 seconds (their targets allow a hold of
at most 30 s, so the hold must end within the watch). Each probe of them ends with its reason
at its timeout.

What must hold: the healthy targets keep their schedule (no run missed, doubled or held
back by a hostile one, every probe answered), the monitor's peak memory stays far below what
the bodies would take, and every hostile series fails on every probe with its own reason, in
the phase where it misbehaves. The one allowance is for the machine, not the monitor: a
probe it left without CPU for seconds may time out, healthy or hostile, at most 5 % of a
group's probes and never any other way (busy_timeouts); a hostile probe holding healthy
ones back would show as late runs (the median judged) and timeouts by the dozen.

The load is kept modest on purpose (22 probes/s, every target every 20 s): CI shares two
cores with the suite's other workers and maybe other jobs, and what is tested is isolation
from hostile targets, not raw capacity (that is bench/bench_capacity.py's job, at 5,000
targets). Issue 7 asked for 500 targets; with 410 healthy ones every 10 s, a machine running
two other CPU-bound jobs left the monitor too little CPU to answer them all within their
timeout, which says nothing about isolation. The monitor and the servers run ahead of the
suite's other workers (`ahead_of_other_jobs`), and every margin leaves room for a busy
machine: an answer on loopback takes milliseconds and the timeout is seconds; a busy machine
delays some runs (the tail), while a hostile probe holding the others back would delay the
typical one (the median), which is what the lateness bounds judge.
"""

from __future__ import annotations

import math
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from statistics import median, quantiles

import pytest
from support.bombs import encode, zeros
from support.commands import sqlite_rows, uptime_sla
from support.https import HttpsServer, Route
from support.lab import Lab, lab_config, target_yaml
from support.processes import (
    Monitor,
    ahead_of_other_jobs,
    memory_mb,
    scrape,
    wait_for,
)

from monitor.probing.probe import HEAD_LIMIT
from monitor.probing.results import PHASES

ServerFactory = Callable[..., HttpsServer]
Metrics = dict[tuple[str, frozenset[tuple[str, str]]], float]

INTERVAL = 20.0
TIMEOUT = 5.0  # a run ends long before the next one is due
WATCH = 80.0  # seconds of probing observed: at least four runs of every target
HEALTHY = 100
FAMILIES = ("ipv4", "ipv6")
BODY_CAP = 1_048_576  # the default max_body_bytes
FLOOD = 50 * 1024**2
RSS_BOUND_MB = 300  # 10 targets x 2 families x 50 MB, kept whole, would be 1,000 MB
GIB = 1024**3
MAX_RETRY_AFTER = 30.0  # the Retry-After targets' max_retry_after: longer than an interval
# The share of a group's probes (the healthy ones, or one hostile kind's) a busy machine may
# time out: a hostile probe holding the others back would time out far more (busy_timeouts).
BUSY_SHARE = 0.05
PHASE_COLUMNS = tuple(f"{phase}_ms" for phase in PHASES)  # as the store names them


@dataclass(frozen=True)
class Kind:
    """One kind of hostile target, and how each of its probes must fail."""

    name: str
    count: int
    reason: str
    ends_in: str  # the last phase the probe reached
    detail: str  # as the `probe` command shows it
    success: bool = False  # only a 429 (rate_limited) counts as up


KINDS = (
    Kind("hang", 25, "timeout", "processing", f"no answer within {TIMEOUT:g} s (processing)"),
    Kind("silent", 25, "timeout", "tls", f"no answer within {TIMEOUT:g} s (tls)"),
    Kind("trickle", 20, "timeout", "transfer", f"no answer within {TIMEOUT:g} s (transfer)"),
    Kind("flood-declared", 5, "body", "transfer", f"body larger than {BODY_CAP} bytes"),
    Kind("flood-streamed", 5, "body", "transfer", f"body larger than {BODY_CAP} bytes"),
    Kind("expired", 5, "tls", "tls", "certificate verify failed: certificate has expired"),
    Kind("wrong-host", 5, "tls", "tls", "certificate verify failed: Hostname mismatch"),
    *(
        Kind(f"bomb-{name}", 5, "body", "transfer", f"body larger than {BODY_CAP} bytes once"
             f" decoded ({coding})")
        for name, coding in (("gzip", "gzip, gzip"), ("br", "br"), ("deflate-br", "deflate, br"))
    ),
    Kind("lying-length", 5, "timeout", "transfer", f"no answer within {TIMEOUT:g} s (transfer)"),
    Kind("interim-flood", 5, "error", "processing",
         f"response head larger than {HEAD_LIMIT} bytes (interim 1xx responses included)"),
    *(
        Kind(f"retry-{name}", 5, "rate_limited", "processing",
             f"rate limited (429), retry after {asked} s, held {MAX_RETRY_AFTER:g} s"
             " (max_retry_after)", success=True)
        for name, asked in (("year", "31536000"), ("huge", "99999999999999"))
    ),
)  # fmt: skip
HOSTILE = sum(kind.count for kind in KINDS)
RETRY_KINDS = {kind.name for kind in KINDS if kind.name.startswith("retry-")}


@dataclass(frozen=True)
class Probe:
    """One stored probe_result row, as far as this test needs it."""

    started: float  # unix seconds
    seconds: float  # how long it took
    success: bool
    reason: str | None
    last_phase: str | None


@pytest.fixture
def ahead() -> Iterator[None]:
    """The monitor and the servers of this test ahead of the suite's other workers (as root):
    they need a steady share of the CPU, and a starved monitor times out healthy and hostile
    probes alike."""
    with ahead_of_other_jobs():
        yield


@pytest.mark.slow
def test_hostile_targets_neither_starve_the_healthy_ones_nor_blow_up_memory(
    ahead: None, https_server: ServerFactory, tmp_path: Path
) -> None:
    healthy = https_server()  # every path answers 200 {"status":"ok"}
    hostile = https_server(
        routes={
            "/hang": Route(hang=True),
            "/trickle": Route(body=b"x" * 120, trickle=1.0),
            "/flood-declared": Route(body_size=FLOOD),
            "/flood-streamed": Route(body_size=FLOOD, content_length=False),
            "/bomb-gzip": Route(
                body=encode(zeros(2 * GIB, "gzip"), "gzip"),
                headers={"Content-Encoding": "gzip, gzip"},
            ),
            "/bomb-br": Route(body=zeros(GIB // 4, "br"), headers={"Content-Encoding": "br"}),
            "/bomb-deflate-br": Route(
                body=encode(zeros(GIB // 2, "deflate"), "br"),
                headers={"Content-Encoding": "deflate, br"},
            ),
            "/lying-length": Route(
                body=b"short", headers={"Content-Length": "100000"}, hold_open=True
            ),
            "/interim-flood": Route(interim=10**9),
            "/retry-year": Route(status=429, headers={"Retry-After": "31536000"}),
            "/retry-huge": Route(status=429, headers={"Retry-After": "99999999999999"}),
        }
    )
    own_server = {
        "silent": https_server(tls_hang=True),
        "expired": https_server(cert_not_after=datetime(2024, 1, 1, tzinfo=UTC)),
        "wrong-host": https_server(cert_hosts=["other.test"]),
    }
    urls = {"healthy": [healthy.url(f"/healthy/{i:03}") for i in range(HEALTHY)]}
    for kind in KINDS:
        server = own_server.get(kind.name, hostile)
        path = "/" if kind.name in own_server else f"/{kind.name}"
        urls[kind.name] = [server.url(f"{path}?n={i}") for i in range(kind.count)]
    names = {kind: [f"{kind}-{i:03}" for i in range(len(found))] for kind, found in urls.items()}
    assert sum(map(len, names.values())) == HEALTHY + HOSTILE

    lab = write_config(tmp_path, urls, healthy.ca_file)
    config, database, port = lab.config, lab.database, lab.port

    monitor = Monitor(config)
    pid = monitor.process.pid
    rss_mb: list[float] = []
    try:
        wait_for(lambda: bool(scrape(port)))
        up_at = time.time()
        cpu_at_up = cpu_seconds(pid), time.process_time()
        while time.time() < up_at + WATCH:
            assert monitor.process.poll() is None, monitor.output()
            rss_mb.append(memory_mb(pid, "VmRSS"))
            time.sleep(1)
        peak_mb = memory_mb(pid, "VmHWM")
        cpu = cpu_seconds(pid) - cpu_at_up[0], time.process_time() - cpu_at_up[1]
        metrics = scrape(port)
        stopped_at = time.time()
    finally:
        exit_code = monitor.stop()
    assert exit_code == 0, monitor.output()
    assert not scheduler_errors(monitor.output())  # hostile targets are results, not errors
    series = stored_series(database)
    assert len(series) == (HEALTHY + HOSTILE) * len(FAMILIES)

    # The healthy targets keep their schedule: one run per interval, none missed or doubled
    # (no run later than half an interval, so each is the run it seems), every run that had
    # time to end before the stop is stored (planned at least half an interval and a timeout
    # before it), and the probes are answered: a run the busy machine left too little CPU
    # may time out, rarely (see busy_timeouts), never fail any other way.
    lateness: list[float] = []
    healthy_probes: list[Probe] = []
    for name in names["healthy"]:
        for family in FAMILIES:
            probes = series[(name, family)]
            first = probes[0].started
            assert first <= up_at + INTERVAL + TIMEOUT, (name, family)
            runs = [round((p.started - first) / INTERVAL) for p in probes]
            assert runs == list(range(len(probes))), (name, family, runs)
            assert max(late_by(probes)) < INTERVAL / 2, (name, family, late_by(probes))
            due = math.floor((stopped_at - INTERVAL / 2 - TIMEOUT - first) / INTERVAL) + 1
            assert len(probes) >= due, (name, family, len(probes), due)
            lateness += late_by(probes)
            healthy_probes += probes
    healthy_timeouts = busy_timeouts(healthy_probes, (True, None, None))
    # Not held back by the hostile ones: a run waiting on a hostile probe would wait seconds
    # (its timeout), and hostile probes are always in flight, so the typical run would. It
    # is late by milliseconds (the capacity goal is p99 < 2 s: 10-300 ms measured on 2 shared
    # cores; p99 is printed, the median judged).
    lateness_p99 = quantiles(lateness, n=100)[98]
    lag_p50, lag_p99 = lag_quantile(metrics, 0.5), lag_quantile(metrics, 0.99)
    assert median(lateness) < 1.0
    assert lag_p50 <= 1.0

    # Memory stays bounded: the cap ends every flood long before its 50 MB.
    assert peak_mb < RSS_BOUND_MB

    # Every hostile series fails on every probe (but a rare busy-machine timeout), with its
    # kind's reason, where it misbehaves, at its timeout: typically (the median of its kind) within a second of it, each before
    # its next run; a held series probes again once its hold is over.
    slowest: dict[str, float] = {}
    durations: dict[str, list[float]] = defaultdict(list)
    kind_probes: dict[str, list[Probe]] = defaultdict(list)
    kind_timeouts: dict[str, int] = {}
    for kind in KINDS:
        for name in names[kind.name]:
            for family in FAMILIES:
                probes = series[(name, family)]
                if kind.name in RETRY_KINDS:
                    # after each 429 (a busy machine's timeout holds nothing back)
                    gaps = [
                        b.started - a.started
                        for a, b in pairwise(probes)
                        if a.reason == "rate_limited"
                    ]
                    assert len(probes) >= 2, (name, family, len(probes))
                    assert all(gap >= MAX_RETRY_AFTER for gap in gaps), (name, family, gaps)
                else:
                    assert len(probes) >= WATCH // INTERVAL - 1, (name, family)
                kind_probes[kind.name] += probes
                slowest[kind.name] = max(slowest.get(kind.name, 0.0), *(p.seconds for p in probes))
                assert slowest[kind.name] < INTERVAL, (name, family, slowest[kind.name])
                durations[kind.name] += [p.seconds for p in probes]
        expected = (kind.success, kind.reason, kind.ends_in)
        kind_timeouts[kind.name] = busy_timeouts(kind_probes[kind.name], expected)
        assert median(durations[kind.name]) <= TIMEOUT + 1, (kind.name, durations[kind.name])
    for server in own_server.values():
        assert server.request_count() == 0  # no request ever went over a bad TLS session
    failures = failures_by_reason(metrics)
    assert set(failures) == {"timeout", "body", "tls", "error"}

    # The reason alone does not say which certificate problem: the `probe` command does.
    probed = uptime_sla("-c", str(config), "probe", *(f"{kind.name}-000" for kind in KINDS))
    assert probed.returncode == 1, probed.stderr
    for kind in KINDS:
        rows = [row for row in probed.stdout.splitlines() if row.startswith(f"{kind.name}-000 ")]
        assert len(rows) == len(FAMILIES), probed.stdout
        assert all(f" {kind.reason} " in row and kind.detail in row for row in rows), rows

    third = len(rss_mb) // 3
    print(
        f"\nhostile targets: {HEALTHY + HOSTILE} targets x 2 families, interval {INTERVAL:g} s,"
        f" timeout"
        f" {TIMEOUT:g} s, watched {WATCH:g} s; {len(healthy_probes)} healthy probes, all on"
        f" time, {healthy_timeouts} timed out (busy machine, at most {BUSY_SHARE:.0%})"
        f"\n  healthy lateness vs their own best run: p50 {median(lateness) * 1e3:.1f}"
        f" ms, p99 {lateness_p99 * 1e3:.1f} ms, max {max(lateness) * 1e3:.1f} ms"
        f"\n  scheduler lag (all targets, /metrics bucket bound): p50 <= {lag_p50:g} s,"
        f" p99 <= {lag_p99:g} s"
        f"\n  monitor RSS: {rss_mb[0]:.0f} MB at start, max {max(rss_mb[:third]):.0f} /"
        f" {max(rss_mb[third:-third]):.0f} / {max(rss_mb[-third:]):.0f} MB per third of the"
        f" watch, peak (VmHWM) {peak_mb:.0f} MB; bound {RSS_BOUND_MB} MB"
        f"\n  CPU over the watch: monitor {cpu[0]:.1f} s, test servers {cpu[1]:.1f} s"
        f"\n  failures by reason (/metrics): {dict(sorted(failures.items()))}"
    )
    for kind in KINDS:
        count = sum(len(series[(n, f)]) for n in names[kind.name] for f in FAMILIES)
        print(
            f"  {kind.name}: {count} probes, {kind.reason} in {kind.ends_in}"
            f" (busy-machine timeouts: {kind_timeouts[kind.name]}),"
            f" median {median(durations[kind.name]) * 1e3:.0f} ms,"
            f" slowest {slowest[kind.name] * 1e3:.0f} ms"
        )


def write_config(folder: Path, urls: dict[str, list[str]], ca_file: str) -> Lab:
    """Every target on the same schedule, named after its kind; a Retry-After may hold a
    target back for MAX_RETRY_AFTER at most."""
    return lab_config(
        folder,
        [
            target_yaml(f"{kind}-{i:03}", url, **retry_limit(kind))
            for kind, found in urls.items()
            for i, url in enumerate(found)
        ],
        ca_file=ca_file,
        storage="batch_interval: 0.5s",
        interval=f"{INTERVAL:g}s",
        timeout=f"{TIMEOUT:g}s",
        defaults=['body_contains: \'"status":"ok"\''],
        sla=None,
    )


def retry_limit(kind: str) -> dict[str, str]:
    return {"max_retry_after": f"{MAX_RETRY_AFTER:g}s"} if kind in RETRY_KINDS else {}


def stored_series(database: Path) -> dict[tuple[str, str], list[Probe]]:
    """Every stored probe per (target, family), oldest first."""
    columns = ", ".join(f"p.{column}" for column in PHASE_COLUMNS)
    rows = sqlite_rows(
        database,
        f"SELECT s.target, s.family, p.started_us, p.latency_ms, p.success, p.reason, {columns}"
        " FROM probe_result p JOIN series s ON s.id = p.series_id ORDER BY p.started_us",
    )
    series: dict[tuple[str, str], list[Probe]] = defaultdict(list)
    for target, family, started_us, latency_ms, success, reason, *phases in rows:
        reached = [c for c, ms in zip(PHASE_COLUMNS, phases, strict=True) if ms is not None]
        last = reached[-1].removesuffix("_ms") if reached else None
        seconds = float(str(latency_ms)) / 1e3
        probe = Probe(int(str(started_us)) / 1e6, seconds, bool(success), _text(reason), last)
        series[(str(target), str(family))].append(probe)
    return series


def busy_timeouts(probes: list[Probe], expected: tuple[bool, str | None, str | None]) -> int:
    """How many probes did not end as `expected` (success, reason, last phase; a phase of
    None: any), asserting that each of those is a timeout and that they are rare (at most
    BUSY_SHARE of the probes).

    On a busy machine (the suite's other workers, other jobs) a monitor left without CPU for
    seconds times a probe out whatever its target does: no margin makes up for that, and it
    says nothing about isolation. What would: a probe that fails any other way (an error of
    another target's), or timeouts by the dozen (healthy runs held behind hostile ones, which
    are in flight all the time)."""
    success, reason, phase = expected
    others = [
        p
        for p in probes
        if (p.success, p.reason) != (success, reason) or phase not in (None, p.last_phase)
    ]
    assert all(p.reason == "timeout" for p in others), (expected, others)
    assert len(others) <= BUSY_SHARE * len(probes), (expected, len(others), len(probes))
    return len(others)


def late_by(probes: list[Probe]) -> list[float]:
    """How late each run started against the series' own schedule, as set by its most
    punctual run (the planned times themselves are not stored)."""
    offsets = [p.started - k * INTERVAL for k, p in enumerate(probes)]
    return [offset - min(offsets) for offset in offsets]


def lag_quantile(metrics: Metrics, q: float) -> float:
    """The upper bound of the schedule-lag histogram bucket that holds quantile q."""
    buckets = sorted(
        (float(dict(labels)["le"]), count)
        for (name, labels), count in metrics.items()
        if name == "uptime_sla_schedule_lag_seconds_bucket"
    )
    total = buckets[-1][1]
    assert total > 0
    return next(bound for bound, count in buckets if count >= q * total)


def scheduler_errors(log: str) -> list[str]:
    """ERROR lines from the probing side: a failed job or sink, a traceback at shutdown."""
    return [
        line
        for line in log.splitlines()
        if " ERROR apscheduler" in line or " ERROR monitor.probing.scheduler" in line
    ]


def failures_by_reason(metrics: Metrics) -> dict[str, float]:
    failures: dict[str, float] = defaultdict(float)
    for (name, labels), value in metrics.items():
        if name == "probe_failures_total":
            failures[dict(labels)["reason"]] += value
    return failures


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _text(value: object) -> str | None:
    return None if value is None else str(value)
