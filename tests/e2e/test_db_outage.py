"""`uptime-sla run` while its PostgreSQL goes away and comes back.

The first test stops the database for 60 s, as the issue describes: probing and /metrics
carry on, results pile up in memory, errors are counted, one log line, everything written
once on recovery. The second needs only ~8 s to overflow a buffer of 5 and see the oldest
results dropped (the buffer is bounded by count, not time).

Each test owns its PostgreSQL server (running_postgres()), since it stops it.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support import postgres
from support.lab import lab_config, target_yaml
from support.pgrows import key_counts, pair_with_requests, stored_probes
from support.processes import Monitor, scrape, wait_for

pytestmark = pytest.mark.postgres

FAMILIES = ("ipv4", "ipv6")
# A probe of the healthy loopback server almost never fails, but on a loaded machine one may
# time out before its request reaches the server: the accounting below counts such failures
# (from /metrics and the stored rows) as results without a request. A slow probe otherwise
# only makes its series skip a run.
TIMEOUT = 5.0
FAILING = "database write failed"
DROPPING = "buffer full"


@pytest.fixture
def own_postgres() -> Iterator[postgres.PostgresServer]:
    if not postgres.available():
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) are not installed")
    with postgres.running_postgres() as server:
        yield server


def value(metrics: dict, name: str, **labels: str) -> float:
    key = (name, frozenset({"target": "api", "location": "lab", **labels}.items()))
    return metrics.get(key if labels else (name, frozenset()), 0.0)


def failures(metrics: dict) -> float:
    """Every failed probe so far, whatever its reason and family."""
    return sum(v for (name, _), v in metrics.items() if name == "probe_failures_total")


def probes(metrics: dict) -> float:
    return sum(value(metrics, "probe_total", ip_family=f) for f in FAMILIES)


def run_outage(
    tmp_path: Path, https_server, pg: postgres.PostgresServer, buffer_limit: int, outage: float
) -> dict:
    """Run a monitor, stop PostgreSQL for `outage` s, start it, stop the monitor; observe."""
    server = https_server()
    database = "outage"
    lab = lab_config(
        tmp_path,
        [target_yaml("api", server.url("/health"))],
        ca_file=server.ca_file,
        storage_url=pg.create_database(database),
        storage=f"batch_interval: 0.2s, buffer_limit: {buffer_limit}",
        metrics="sla_refresh: 1h",
        timeout=f"{TIMEOUT:g}s",
    )
    config, port = lab.config, lab.port
    monitor = Monitor(config)
    seen: dict = {"samples": []}
    try:
        wait_for(lambda: value(scrape(port), "uptime_sla_writer_written_results_total") >= 4)
        pg.stop()
        seen["down_at"] = datetime.now(UTC)
        deadline = time.monotonic() + outage
        while time.monotonic() < deadline:
            time.sleep(1.0)
            seen["samples"].append(scrape(port))  # /metrics must answer throughout
        pg.start()
        seen["up_at"] = datetime.now(UTC)
        wait_for(
            lambda: (
                value(scrape(port), "uptime_sla_writer_buffered_results") == 0
                and "recovered" in monitor.output()
            )
        )
        time.sleep(2.0)  # a few probes after the recovery, written the ordinary way

        def drained() -> bool:
            """Nothing waits in the buffer (between two batches, every 0.2 s)."""
            seen["final"] = scrape(port)
            return value(seen["final"], "uptime_sla_writer_buffered_results") == 0

        wait_for(drained)
        seen["stop_at"] = datetime.now(UTC)
    finally:
        exit_code = monitor.stop(signal.SIGTERM)
    assert exit_code == 0, monitor.output()
    seen["log"] = monitor.output()
    seen["requests"] = server.requests
    seen["stored"] = stored_probes(pg, database)
    seen["keys"] = key_counts(pg, database)
    last = seen["samples"][-1]
    print(
        f"outage {outage:.0f}s: buffered {value(last, 'uptime_sla_writer_buffered_results'):.0f},"
        f" errors {value(last, 'uptime_sla_writer_errors_total'):.0f},"
        f" dropped {value(seen['final'], 'uptime_sla_writer_dropped_results_total'):.0f},"
        f" stored {len(seen['stored'])}, requests {len(seen['requests'])},"
        f" failed {failures(seen['final']):.0f}, rows/distinct"
        f" {seen['keys']}"
    )
    return seen


def test_results_buffered_during_a_database_outage_are_all_written_after_it(
    tmp_path: Path, https_server, own_postgres
):
    seen = run_outage(tmp_path, https_server, own_postgres, buffer_limit=100_000, outage=60.0)
    samples = seen["samples"]

    # Probing and /metrics went on while the database was down.
    totals = [probes(m) for m in samples]
    assert totals == sorted(totals), totals
    assert totals[-1] - totals[0] >= 20, totals
    buffered = [value(m, "uptime_sla_writer_buffered_results") for m in samples]
    assert buffered == sorted(buffered), buffered
    assert buffered[-1] >= totals[-1] - totals[0], (buffered, totals)  # all kept, none written
    errors = [value(m, "uptime_sla_writer_errors_total") for m in samples]
    assert errors == sorted(errors), errors
    assert errors[-1] >= 10, errors
    assert value(samples[-1], "uptime_sla_writer_dropped_results_total") == 0

    # One line says writes fail and results are buffered, not one per retry.
    log = seen["log"]
    failing = [line for line in log.splitlines() if FAILING in line]
    assert len(failing) == 1, failing
    assert "buffering" in failing[0]
    assert sum("recovered" in line for line in log.splitlines()) == 1

    # Every probe the server answered is stored once, and nothing else.
    final = seen["final"]
    assert value(final, "uptime_sla_writer_buffered_results") == 0
    assert value(final, "uptime_sla_writer_dropped_results_total") == 0
    rows, distinct = seen["keys"]
    assert rows == distinct == len(seen["stored"])
    tail_from = seen["stop_at"] - timedelta(seconds=1)
    stored = seen["stored"]
    for family in FAMILIES:
        mine = [p.started for p in stored if p.family == family]
        requests = [r for r in seen["requests"] if r.family == family]
        for started, at in pair_with_requests(mine, requests, tail_from):
            # The request reaches the server after its probe started and before its timeout.
            assert timedelta(0) <= at - started < timedelta(seconds=TIMEOUT), (family, at)
        # The buffered ones, written later: all that were made while the database was down
        # (between the first and last samples; one probe may have started before the outage).
        during = [s for s in mine if seen["down_at"] < s < seen["up_at"]]
        made = [value(m, "probe_total", ip_family=family) for m in (samples[0], samples[-1])]
        assert len(during) >= made[1] - made[0] - 1, (family, len(during), made)
    assert all(p.success and p.location == "lab" for p in stored)
    assert len(stored) >= probes(final)


def test_a_full_buffer_drops_the_oldest_results_and_says_so(
    tmp_path: Path, https_server, own_postgres
):
    limit = 5
    seen = run_outage(tmp_path, https_server, own_postgres, buffer_limit=limit, outage=8.0)
    samples = seen["samples"]

    assert all(value(m, "uptime_sla_writer_buffered_results") <= limit for m in samples)
    assert value(samples[-1], "uptime_sla_writer_buffered_results") == limit
    dropped = value(seen["final"], "uptime_sla_writer_dropped_results_total")
    assert dropped >= 1, dropped  # ~11 on a quiet machine (8 s x 2 series, 5 kept)

    log = seen["log"].splitlines()
    assert sum(FAILING in line for line in log) == 1, log
    dropping = [line for line in log if DROPPING in line]
    assert len(dropping) == 1, log  # once per outage, not once per dropped result
    recovered = [line for line in log if "recovered" in line]
    assert len(recovered) == 1, recovered
    assert f"{int(dropped)} dropped" in recovered[0], recovered

    # What the server saw = what is stored + what was dropped (the tail aside); no duplicates.
    rows, distinct = seen["keys"]
    assert rows == distinct == len(seen["stored"])
    tail_from = seen["stop_at"] - timedelta(seconds=1)
    requests = seen["requests"]
    must = sum(1 for r in requests if r.at < tail_from)
    failed = failures(seen["final"]) + sum(
        1 for p in seen["stored"] if not p.success and p.started >= tail_from
    )
    assert must <= len(seen["stored"]) + dropped <= len(requests) + failed
    # The dropped ones are the oldest of the outage: the newest `limit` survived.
    during = [p for p in seen["stored"] if seen["down_at"] < p.started < seen["up_at"]]
    assert 1 <= len(during) <= limit + 2, during  # + probes finishing just after the restart
