"""`uptime-sla run` as users run it: a subprocess probing real HTTPS servers on loopback."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

from support.https import Route
from support.lab import lab_config, up_and_down
from support.processes import Monitor, metrics_text, scrape, wait_for

from monitor import __version__
from monitor.store import Store

SECRET = "sk-live-e2e-7b3c9d"
PLAN_AND_CONTRACT = """\
plans: {pro: {objective: 99.9, credits: [{below: 99.9, percent: 10}]}}
contracts:
  - {customer: acme, plan: pro, service: api, monthly_fee: "100.00", start: 2026-01-01}
"""


def labels(target: str, family: str, **extra: str) -> frozenset[tuple[str, str]]:
    return frozenset({"target": target, "ip_family": family, "location": "lab", **extra}.items())


def test_run_serves_probe_metrics_and_stores_every_reported_probe(https_server, tmp_path: Path):
    server = https_server(routes={"/up": Route(), "/down": Route(status=503)})
    lab = lab_config(
        tmp_path,
        up_and_down(server),
        ca_file=server.ca_file,
        metrics="sla_refresh: 1s",
        defaults=[
            'headers: {Authorization: "Bearer ${OUTFAME_API_KEY}"}',
            'tls_min_version: "1.3"',
        ],
        extra=PLAN_AND_CONTRACT,
    )
    config, port, database = lab.config, lab.port, lab.database
    monitor = Monitor(config, env={"OUTFAME_API_KEY": SECRET})
    try:
        wait_for(lambda: scrape(port).get(("probe_total", labels("down", "ipv6")), 0) >= 3)
        # The month-to-date gauge drops below 100 once a slice with the down target's
        # failures has ended and the refresher (every 1 s) has run after it.
        availability = ("uptime_sla_availability_ratio", frozenset({("service", "api")}))
        wait_for(lambda: scrape(port).get(availability, 1.0) < 1.0)
        metrics = scrape(port)
        text = metrics_text(port)
    finally:
        exit_code = monitor.stop()
    assert exit_code == 0, monitor.output()

    for family, protocol in (("ipv4", 4.0), ("ipv6", 6.0)):
        assert metrics[("probe_success", labels("up", family))] == 1.0
        assert metrics[("probe_success", labels("down", family))] == 0.0
        assert metrics[("probe_http_status_code", labels("up", family))] == 200.0
        assert metrics[("probe_http_status_code", labels("down", family))] == 503.0
        assert metrics[("probe_ip_protocol", labels("up", family))] == protocol
        assert metrics[("probe_tls_version_info", labels("up", family, version="TLS 1.3"))] == 1.0
        assert metrics[("probe_failures_total", labels("down", family, reason="status"))] >= 1
        expiry = metrics[("probe_ssl_earliest_cert_expiry", labels("up", family))]
        assert expiry > datetime.now(UTC).timestamp()
        for phase in ("resolve", "connect", "tls", "processing", "transfer"):
            assert ("probe_http_duration_seconds", labels("up", family, phase=phase)) in metrics
        assert metrics[("probe_latency_seconds_count", labels("up", family))] >= 1
        assert metrics[("probe_http_version", labels("up", family))] == 1.1
        assert metrics[("probe_http_content_length", labels("up", family))] == len(
            Route().body_bytes
        )
    assert metrics[availability] < 1
    objective = ("uptime_sla_objective_ratio", frozenset({("service", "api"), ("plan", "pro")}))
    assert metrics[objective] == 0.999
    assert metrics[("uptime_sla_build_info", frozenset({("version", __version__)}))] == 1
    assert metrics[("process_resident_memory_bytes", frozenset())] > 0
    lint = subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert (lint.returncode, lint.stdout + lint.stderr) == (0, ""), "promtool: naming problems"

    store = Store(f"sqlite:///{database}")
    try:
        stored = store.results()
    finally:
        store.close()
    for target in ("up", "down"):
        for family in ("ipv4", "ipv6"):
            reported = metrics[("probe_total", labels(target, family))]
            mine = [r for r in stored if (r.target, r.family) == (target, family)]
            assert len(mine) >= reported, (target, family)
            assert all(r.success == (target == "up") for r in mine)
    assert len(stored) <= len(server.requests)  # nothing invented

    assert server.requests[0].headers["authorization"] == f"Bearer {SECRET}"
    assert SECRET not in monitor.output()
    assert SECRET not in text
    assert SECRET.encode() not in database.read_bytes()
    assert "stopped" in monitor.output()
