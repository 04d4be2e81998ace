"""Several `uptime-sla run` monitors, one per location, writing to one PostgreSQL database.

"eu" and "us" probe the same HTTPS server under the same target name, but "us" reaches it
through a broken route: its own config points the target at a path that answers 503. The
report (docs/concepts.md, Slices) must only call a slice BAD when `sla.location_quorum`
locations say so, and a location that stops reporting must only lose its own data.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.commands import uptime_sla
from support.https import Route
from support.lab import Lab, lab_config, target_yaml
from support.pgrows import open_stores_at_once, stored_probes
from support.processes import Monitor, scrape, wait_for

pytestmark = pytest.mark.postgres


def config(
    path: Path, location: str, url: str, target_url: str, ca_file: str, quorum: object = None
) -> Lab:
    quorum_option = "" if quorum is None else f", location_quorum: {quorum}"
    return lab_config(
        path.parent,
        [target_yaml("api", target_url)],
        ca_file=ca_file,
        name=path.name,
        location=location,
        storage_url=url,
        metrics="sla_refresh: 1h",
        sla=f"slice: 1s{quorum_option}",
    )


def target_report(lab: Lab) -> dict:
    month = datetime.now(UTC).strftime("%Y-%m")
    done = uptime_sla("-c", str(lab.config), "report", "--month", month, "--format", "json")
    assert done.returncode == 0, done.stderr
    (target,) = json.loads(done.stdout)["targets"]
    assert target["name"] == "api"
    return target


def probed(port: int, location: str) -> float:
    metrics = scrape(port)
    return sum(
        value
        for (name, labels), value in metrics.items()
        if name == "probe_total" and ("location", location) in labels
    )


def test_location_quorum_decides_and_a_stopped_location_only_loses_its_own_slices(
    tmp_path: Path, https_server, postgres_server
):
    server = https_server(routes={"/health": Route(), "/health-us": Route(status=503)})
    url = postgres_server.create_database(f"loc_{uuid.uuid4().hex[:12]}")
    ca = server.ca_file
    eu = config(tmp_path / "eu.yaml", "eu", url, server.url("/health"), ca)
    us = config(tmp_path / "us.yaml", "us", url, server.url("/health-us"), ca)
    majority = config(tmp_path / "majority.yaml", "eu", url, server.url("/health"), ca)
    quorum_one = config(tmp_path / "one.yaml", "eu", url, server.url("/health"), ca, quorum=1)

    # eu first and last, so that every slice "us" has data for, "eu" has data for too
    # (with one location reporting, that location alone is the majority).
    eu_monitor = Monitor(eu.config)
    us_monitor = None
    try:
        wait_for(lambda: probed(eu.port, "eu") >= 4)
        us_monitor = Monitor(us.config)
        wait_for(lambda: probed(us.port, "us") >= 4)
        time.sleep(6)
        assert us_monitor.stop() == 0, us_monitor.output()
        us_stopped = datetime.now(UTC)
        time.sleep(3)  # longer than stale_after (2 x 1 s): "us" has no data from here on

        first = {"majority": target_report(majority), "one": target_report(quorum_one)}
        time.sleep(5)
        second = {"majority": target_report(majority), "one": target_report(quorum_one)}
    finally:
        if us_monitor is not None:
            us_monitor.stop()
        assert eu_monitor.stop() == 0, eu_monitor.output()

    print("location reports:", json.dumps({"first": first, "second": second}))
    us_fails = server.request_count(path="/health-us")
    assert us_fails >= 8
    assert server.request_count(path="/health") >= 16

    # Two locations, one says BAD: the majority (both) is not reached.
    for report in (first["majority"], second["majority"]):
        assert report["bad_slices"] == 0, report
        assert report["availability_percent"] == 100.0, report
    # One location is enough: every slice "us" had data for is BAD ...
    bad = first["one"]["bad_slices"]
    assert bad >= 6, first["one"]
    assert first["one"]["availability_percent"] < 100.0
    # ... and after it stopped, no new ones: its later slices are NO_DATA for "us" only,
    # the target's slices are decided by "eu" (eligible, GOOD), none is NO_DATA.
    assert second["one"]["bad_slices"] == bad, (first, second)
    for variant in ("majority", "one"):
        grown = second[variant]["eligible_slices"] - first[variant]["eligible_slices"]
        assert grown >= 4, (variant, first, second)
        assert second[variant]["no_data_slices"] == first[variant]["no_data_slices"], variant
    for report in (first, second):  # the quorum changes BAD/GOOD, never which slices have data
        assert report["majority"]["no_data_slices"] == report["one"]["no_data_slices"]
    assert second["one"]["availability_percent"] > first["one"]["availability_percent"]

    # The raw data agrees: "us" stored only failures, none after it stopped; "eu" went on.
    stored = stored_probes(postgres_server, url.rsplit("/", 1)[1])
    mine = {loc: [p for p in stored if p.location == loc] for loc in ("eu", "us")}
    assert mine["us"]
    assert not any(p.success for p in mine["us"])
    assert all(p.success for p in mine["eu"])
    assert max(p.started for p in mine["us"]) < us_stopped
    assert sum(p.started > us_stopped for p in mine["eu"]) >= 2 * 7
    assert {p.family for p in mine["us"]} == {p.family for p in mine["eu"]} == {"ipv4", "ipv6"}
    # The quorum-1 bad slices are the slices "us" probed in, plus the stale carry-over.
    us_slices = {int(p.started.timestamp()) for p in mine["us"]}
    assert len(us_slices) <= bad <= max(us_slices) - min(us_slices) + 1 + 2, (us_slices, bad)


def test_monitors_starting_together_on_a_fresh_database_all_create_the_schema(postgres_server):
    """Every location's monitor runs `CREATE TABLE ...` on first start; when they start at
    once, none may fail with "relation already exists" (one creates, the others wait)."""
    for _ in range(4):
        url = postgres_server.create_database(f"fresh_{uuid.uuid4().hex[:12]}")
        assert open_stores_at_once(url, 4) == []
