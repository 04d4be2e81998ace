"""Probing lag while the SMTP server hangs: `uptime-sla run` with and without a 60 s outage.

Each run probes N targets (both families, every 1 s) on a loopback HTTPS server and
notifies a local Slack receiver and a real SMTP server (aiosmtpd, STARTTLS + login) of a
maintenance window that is announced, starts and ends inside the measured window. In an
outage run the SMTP server hangs (accepts connections, never greets: every attempt waits
out smtp.timeout) for OUTAGE seconds from the start of the window, then comes back.

Lag is measured from the stored probes, not the coarse histogram: each series' probe starts
minus its own planned grid (its earliest start + k x interval). Runs are interleaved
(baseline, outage, baseline, ...) so machine noise hits both alike; the medians of the
runs' p99 are compared. Also printed: whether every email arrived after the outage, once,
in event order.

Run: .venv/bin/python bench/bench_notify_outage.py [--targets 100] [--runs 3] [--outage 60]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import trustme
from benchlib import (
    command_line,
    commit,
    free_port,
    machine,
    start_monitor,
    stop,
    table,
    wait_for,
)
from support.https import HttpsServer, Route
from support.receivers import SMTP_PASSWORD, SMTP_USER, SlackReceiver, SmtpServer

INTERVAL = 1.0


def write_config(
    work: Path,
    n: int,
    server: HttpsServer,
    slack: SlackReceiver,
    smtp: SmtpServer,
    window_from: datetime,
    outage: float,
) -> Path:
    (work / "smtp-password").write_text(SMTP_PASSWORD)
    # Announced at 20 %, started at 50 %, completed at 70 % of the outage.
    start = window_from + timedelta(seconds=outage * 0.5)
    end = window_from + timedelta(seconds=outage * 0.7)
    config = work / "uptime-sla.yaml"
    lines = [
        "location: bench",
        f'storage: {{url: "sqlite:///{work}/uptime-sla.db", batch_interval: 0.5s}}',
        f'metrics: {{listen: "127.0.0.1:{free_port()}"}}',
        f'defaults: {{interval: {INTERVAL}s, timeout: 2s, ca_file: "{server.ca_file}",'
        ' resolve: {ipv4: ["127.0.0.1"], ipv6: ["::1"]}}',
        "targets:",
        *(
            f'  - {{name: t{i:04d}, url: "{server.url(f"/t/{i}")}", service: api}}'
            for i in range(n)
        ),
        "maintenance:",
        f"  - {{start: {start.isoformat()}, end: {end.isoformat()}, reason: bench window}}",
        "notifications:",
        f'  slack: [{{name: status, webhook_url: "{slack.url()}", events: [maintenance]}}]',
        "  email:",
        f"    smtp: {{host: 127.0.0.1, port: {smtp.port}, username: {SMTP_USER},"
        f' password_file: "{work / "smtp-password"}", timeout: 10s}}',
        "    from: status@example.com",
        "    to: [subscribers@example.com]",
        "    events: [maintenance]",
        f"  maintenance_notice: {outage * 0.3:g}s",
    ]
    config.write_text("\n".join(lines) + "\n")
    return config


def lags(database: Path, since: datetime, until: datetime) -> list[float]:
    """Each probe's start minus its series' planned grid, seconds, for probes in [since, until)."""
    db = sqlite3.connect(database)
    rows = db.execute(
        "SELECT series_id, started_us FROM probe_result ORDER BY series_id, started_us"
    )
    by_series: dict[int, list[int]] = {}
    for series, started in rows:
        by_series.setdefault(series, []).append(started)
    db.close()
    lo, hi = since.timestamp() * 1e6, until.timestamp() * 1e6
    step = INTERVAL * 1e6
    out = []
    for starts in by_series.values():
        offsets = [s - round((s - starts[0]) / step) * step for s in starts]
        base = min(offsets)
        out += [(o - base) / 1e6 for s, o in zip(starts, offsets, strict=True) if lo <= s < hi]
    return out


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


def one_run(n: int, outage: float, hang: bool, ca: trustme.CA) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp, HttpsServer(routes={"/": Route()}) as server:
        work = Path(tmp)
        for i in range(n):
            server.route(f"/t/{i}")
        slack, smtp = SlackReceiver(), SmtpServer(ca)
        warmup = 10.0
        window_from = datetime.now(UTC) + timedelta(seconds=warmup)
        config = write_config(work, n, server, slack, smtp, window_from, outage)
        process, log = start_monitor(config, work / "run.log")
        try:
            time.sleep(max(0.0, (window_from - datetime.now(UTC)).total_seconds()))
            if hang:
                smtp.hang()
            time.sleep(outage)
            window_to = datetime.now(UTC)
            back = time.monotonic()
            if hang:
                smtp.up()
            try:
                wait_for(lambda: len(smtp.messages) >= 3, timeout=120)
            except TimeoutError:
                print((work / "run.log").read_text()[-3000:])
                raise
            caught_up = time.monotonic() - back
        finally:
            stop(process)
            log.close()
            smtp.close()
            slack.close()
        measured = lags(work / "uptime-sla.db", window_from, window_to)
        keys = smtp.event_keys()
        return {
            "p99": p99(measured),
            "p50": statistics.median(measured),
            "probes": len(measured),
            "in_order": [k.rsplit("/", 1)[1] for k in keys]
            == ["announced", "started", "completed"],
            "caught_up": caught_up,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--outage", type=float, default=60.0)
    args = parser.parse_args()
    ca = trustme.CA()
    with tempfile.NamedTemporaryFile(suffix=".pem") as ca_file:
        ca.cert_pem.write_to_path(ca_file.name)
        os.environ["SSL_CERT_FILE"] = ca_file.name  # the monitor trusts the SMTP test CA
        results: dict[bool, list[dict[str, object]]] = {False: [], True: []}
        for i in range(args.runs):
            for hang in (False, True):
                result = one_run(args.targets, args.outage, hang, ca)
                results[hang].append(result)
                print(f"run {i + 1} {'outage ' if hang else 'baseline'}: {result}", flush=True)
    rows = []
    for hang in (False, True):
        runs = results[hang]
        rows.append(
            [
                "SMTP hangs" if hang else "baseline",
                f"{statistics.median(r['p50'] for r in runs) * 1000:.1f} ms",
                f"{statistics.median(r['p99'] for r in runs) * 1000:.1f} ms",
                f"{statistics.median(r['probes'] for r in runs):.0f}",
                "yes" if all(r["in_order"] for r in runs) else "NO",
                f"{statistics.median(r['caught_up'] for r in runs):.1f} s",
            ]
        )
    base = statistics.median(r["p99"] for r in results[False])
    hung = statistics.median(r["p99"] for r in results[True])
    print()
    print(f"command: {command_line()}")
    print(f"commit: {commit()}\nmachine: {machine()}")
    print(
        f"{args.targets} targets x 2 families every {INTERVAL:g} s; outage {args.outage:g} s;"
        f" medians of {args.runs} interleaved runs each"
    )
    print(
        table(
            [
                "run",
                "lag p50",
                "lag p99",
                "probes measured",
                "emails in order, once",
                "all emails in after",
            ],
            rows,
        )
    )
    print(f"p99 with the outage / without: {hung / base:.2f} (goal: at most 1.25)")


if __name__ == "__main__":
    main()
