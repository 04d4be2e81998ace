"""`kill -9` of `uptime-sla run`: at most the last second is lost, nothing is corrupt, the
restart resumes, and the time the monitor was down is NO_DATA in the report, not downtime."""

from __future__ import annotations

import json
import math
import signal
import sqlite3
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from support.commands import sqlite_rows
from support.https import Route
from support.lab import lab_config, up_and_down
from support.processes import Monitor, wait_for

from monitor.cli import main
from monitor.probing.results import ProbeResult
from monitor.store import Store

SERIES = [(target, family) for target in ("up", "down") for family in ("ipv4", "ipv6")]
LOSS_ALLOWED = timedelta(seconds=1.5)  # "at most the last second" plus scheduling slack
DOWN_FOR = 5.0  # seconds between the kill and the restart
STALE = 2.0  # sla.stale_after by default: 2 x the 1 s interval


def stored_per_series(database: Path, since: datetime | None = None) -> dict[tuple, int]:
    since_us = 0 if since is None else int(since.timestamp() * 1e6)
    rows = sqlite_rows(
        database,
        "SELECT s.target, s.family, count(*) FROM probe_result p JOIN series s"
        f" ON s.id = p.series_id WHERE p.started_us >= {since_us} GROUP BY s.id",
    )
    return {(target, family): count for target, family, count in rows}


def every_series_has(database: Path, count: int, since: datetime | None = None) -> bool:
    try:
        stored = stored_per_series(database, since)
    except sqlite3.Error:  # not created yet
        return False
    return all(stored.get(series, 0) >= count for series in SERIES)


def read_store(database: Path) -> list[ProbeResult]:
    store = Store(f"sqlite:///{database}", rollup_seconds=1)
    try:
        return store.results()
    finally:
        store.close()


def unmatched_requests(requests, stored: list[ProbeResult]) -> list:
    """Requests with no stored probe of their own: the probe started just before the request
    arrived (connect and TLS take milliseconds on loopback; at most the 2 s timeout)."""
    starts: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for result in stored:
        starts[(result.target, result.family)].append(result.started)
    used: set[tuple[str, str, datetime]] = set()
    missing = []
    for request in sorted(requests, key=lambda r: r.at):
        series = (request.path.strip("/"), request.family)
        candidates = [
            s
            for s in starts[series]
            if request.at - timedelta(seconds=2) <= s <= request.at + timedelta(seconds=0.05)
            and (*series, s) not in used
        ]
        if candidates:
            used.add((*series, max(candidates)))
        else:
            missing.append(request)
    return missing


def rollup_totals(database: Path, stored: list[ProbeResult]) -> dict[tuple[str, str], int]:
    """Probe counts per series as the per-slice rollups (what reports read) have them."""
    first = math.floor(min(r.started for r in stored).timestamp()) - 1
    end = math.ceil(max(r.started for r in stored).timestamp()) + 2
    store = Store(f"sqlite:///{database}", rollup_seconds=1)
    try:
        series = store.load_slices(1, first, end, ["up", "down"])
    finally:
        store.close()
    return {(s.target, s.family): int(s.total.sum()) for s in series}


def no_data_slices_between(last_before: datetime, first_after: datetime) -> int:
    """1 s slices with no probe of their own and no probe less than stale_after before them."""
    return max(0, math.floor(first_after.timestamp()) - math.ceil(last_before.timestamp() + STALE))


def slices_a_run_can_cover(first: datetime, last: datetime) -> int:
    """Slices from the one holding the run's first probe to the last one its final probe
    carries into (less than stale_after later)."""
    return math.ceil(last.timestamp() + STALE) - math.floor(first.timestamp())


def covered_by(target: str, *runs: list[ProbeResult]) -> int:
    """Slices the target's runs can cover, each run from its first probe to its last."""
    return sum(
        slices_a_run_can_cover(min(starts), max(starts))
        for starts in ([r.started for r in run if r.target == target] for run in runs)
    )


def test_a_killed_monitor_loses_at_most_the_last_second_and_its_downtime_is_no_data(
    https_server, tmp_path: Path, capsys
):
    server = https_server(routes={"/up": Route(), "/down": Route(status=503)})
    lab = lab_config(
        tmp_path,
        up_and_down(server),
        ca_file=server.ca_file,
        metrics="sla_refresh: 1h",
    )
    config, database = lab.config, lab.database

    # 1. Run until every series has stored a few probes, then kill -9 mid-flight.
    first_run = Monitor(config)
    try:
        wait_for(lambda: every_series_has(database, 4))
        time.sleep(0.6)  # let the kill land between batches, with probes in flight
        killed_at = datetime.now(UTC)
        first_run.process.kill()  # SIGKILL: no signal handler, no flush, no clean close
        assert first_run.process.wait(10) == -signal.SIGKILL
    finally:
        first_run.stop()
    requests_before_kill = server.requests
    first_run.log.rename(tmp_path / "first-run.log")

    # 2. Nothing is corrupt: SQLite recovers its WAL, the store opens and reads.
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    stored = read_store(database)
    assert {(r.target, r.family) for r in stored} == set(SERIES)
    assert all(r.success == (r.target == "up") for r in stored)

    # 3. At most the last second is lost: every request the server answered before that has
    #    its stored result, and nothing was invented.
    old_enough = [r for r in requests_before_kill if r.at < killed_at - LOSS_ALLOWED]
    assert len(old_enough) >= 8
    assert unmatched_requests(old_enough, stored) == []
    assert len(stored) <= len(requests_before_kill)
    # The rollups were written in the same transactions as the rows: they agree exactly.
    raw_counts = {s: sum(1 for r in stored if (r.target, r.family) == s) for s in SERIES}
    assert rollup_totals(database, stored) == raw_counts

    # 4. The restart resumes on the same database.
    time.sleep(max(0.0, DOWN_FOR - (datetime.now(UTC) - killed_at).total_seconds()))
    restarted_at = datetime.now(UTC)
    second_run = Monitor(config)
    try:
        wait_for(lambda: every_series_has(database, 2, since=restarted_at))
    finally:
        exit_code = second_run.stop()
    assert exit_code == 0, second_run.output()
    after = [r for r in read_store(database) if r.started >= restarted_at]
    assert {(r.target, r.family) for r in after} == set(SERIES)

    # 5. The month report: the gap is NO_DATA, never downtime, and never counted at all.
    month = datetime.now(UTC).strftime("%Y-%m")
    capsys.readouterr()
    assert main(["-c", str(config), "report", "--month", month, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    up = next(t for t in report["targets"] if t["name"] == "up")
    up_before = [r.started for r in stored if r.target == "up"]
    up_after = [r.started for r in after if r.target == "up"]
    gap = no_data_slices_between(max(up_before), min(up_after))
    assert gap >= 2, "the monitor was down long enough for NO_DATA slices"
    assert report["month_to_date"] is True
    assert up["bad_slices"] == 0
    assert up["availability_percent"] == 100.0
    assert up["no_data_slices"] >= gap
    # The gap is not eligible (not carried over it): each target's slices are those its own
    # two runs cover (on a busy machine one target's runs may start or end later than the
    # other's).
    assert 0 < up["eligible_slices"] <= covered_by("up", stored, after)
    down = next(t for t in report["targets"] if t["name"] == "down")
    assert 0 < down["bad_slices"] <= covered_by("down", stored, after)
