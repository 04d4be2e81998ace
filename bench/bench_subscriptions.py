"""Fan-out to subscribers: one incident emailed to 10,000 confirmed subscribers, and the
probing lag meanwhile, against the same run without subscribers.

Each run: `uptime-sla run` probes N targets (both families, every 1 s) on a loopback HTTPS
server, with `notifications.email.max_per_second` (default 500) to a local SMTP sink
(aiosmtpd, no TLS: the relay beside the monitor). SUBSCRIBERS confirmed subscribers are
imported with `subscribers import` before the start (0 in a baseline run). After a warm-up
an operator incident is opened (`uptime-sla incident open`); the figures are the time from
that command to the last email at the sink, whether every subscriber got exactly one, and
the probing lag over the WINDOW seconds after the command.

Lag is measured from the stored probes: each series' probe starts minus its own planned
grid (its earliest start + k x interval). Runs are interleaved (baseline, fan-out, ...) so
machine noise hits both alike; the medians of the runs' p99 are compared.

Run: .venv/bin/python bench/bench_subscriptions.py [--subscribers 10000] [--targets 20]
     [--runs 3] [--rate 500] [--window 60]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from aiosmtpd.controller import Controller
from bench_notify_outage import lags, p99
from benchlib import (
    PYTHON,
    ROOT,
    command_line,
    commit,
    free_port,
    machine,
    process_cpu,
    start_monitor,
    stop,
    table,
    wait_for,
)
from support.https import HttpsServer, Route

INTERVAL = 1.0
WARMUP = 10.0
_TO = re.compile(rb"^To: (.+?)\r$", re.M)
_MESSAGE_ID = re.compile(rb"^Message-ID: (.+?)\r$", re.M)


class Sink:
    """An SMTP relay that keeps who got which Message-ID, and when the last one came."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str]] = []
        self.last = 0.0

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        """PIPELINING, as Postfix and most relays offer it (aiosmtpd reads commands in
        order anyway, it just does not say so)."""
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        head = envelope.content.split(b"\r\n\r\n", 1)[0]  # cheap: the sink shares the cores
        to, mid = _TO.search(head), _MESSAGE_ID.search(head)
        self.received.append((to[1].decode() if to else "", mid[1].decode() if mid else ""))
        self.last = time.monotonic()
        return "250 OK"


def write_config(work: Path, n: int, server: HttpsServer, smtp_port: int, rate: float) -> Path:
    (work / "secret").write_text("bench-subscription-secret\n")
    config = work / "uptime-sla.yaml"
    lines = [
        "location: bench",
        f'storage: {{url: "sqlite:///{work}/uptime-sla.db", batch_interval: 0.5s}}',
        f'metrics: {{listen: "127.0.0.1:{free_port()}", sla_refresh: 1h}}',
        f'defaults: {{interval: {INTERVAL}s, timeout: 2s, ca_file: "{server.ca_file}",'
        ' resolve: {ipv4: ["127.0.0.1"], ipv6: ["::1"]}}',
        "targets:",
        *(
            f'  - {{name: t{i:04d}, url: "{server.url(f"/t/{i}")}", service: api}}'
            for i in range(n)
        ),
        "notifications:",
        "  email:",
        f"    smtp: {{host: 127.0.0.1, port: {smtp_port}, starttls: false}}",
        "    from: status@example.com",
        f"    max_per_second: {rate:g}",
        "status_page:",
        "  components: [{name: Public API, services: [api]}]",
        "  subscriptions:",
        f"    listen: 127.0.0.1:{free_port()}",
        "    base_url: https://status.example.com/subscriptions",
        f'    secret_file: "{work / "secret"}"',
    ]
    config.write_text("\n".join(lines) + "\n")
    return config


def uptime_sla(config: Path, *args: str) -> None:
    subprocess.run(
        [PYTHON, "-m", "monitor", "-c", str(config), *args],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )


def one_run(n: int, subscribers: int, rate: float, window: float) -> dict[str, Any]:
    sink = Sink()
    smtp_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    with tempfile.TemporaryDirectory() as tmp, HttpsServer(routes={"/": Route()}) as server:
        work = Path(tmp)
        for i in range(n):
            server.route(f"/t/{i}")
        config = write_config(work, n, server, smtp_port, rate)
        if subscribers:
            people = work / "subscribers.csv"
            created = datetime.now(UTC).isoformat()
            people.write_text(
                "email,components,created,confirmed\n"
                + "".join(
                    f"s{i:05d}@example.com,,{created},{created}\n" for i in range(subscribers)
                )
            )
            uptime_sla(config, "subscribers", "import", str(people))
        process, log = start_monitor(config, work / "run.log")
        try:
            time.sleep(WARMUP)
            opened_at = datetime.now(UTC)
            started = time.monotonic()
            cpu_before = process_cpu(process.pid)
            uptime_sla(
                config, "incident", "open", "--title", "Bench outage", "--impact", "major",
                "--message", "Measuring the fan-out.",
            )  # fmt: skip
            if subscribers:
                try:
                    wait_for(lambda: len(sink.received) >= subscribers, timeout=300, every=0.05)
                except TimeoutError:
                    print((work / "run.log").read_text()[-3000:])
                    raise
            delivered = sink.last - started if subscribers else 0.0
            time.sleep(max(0.0, window - (time.monotonic() - started)))
            until = opened_at + timedelta(seconds=window)
            cpu = process_cpu(process.pid) - cpu_before
        finally:
            stop(process)
            log.close()
            controller.stop()
        measured = lags(work / "uptime-sla.db", opened_at, until)
        per_subscriber = Counter(to for to, _ in sink.received)
        return {
            "p99": p99(measured),
            "p50": statistics.median(measured),
            "probes": len(measured),
            "emails": len(sink.received),
            "once": len(per_subscriber) == subscribers
            and all(c == 1 for c in per_subscriber.values())
            and len({mid for _, mid in sink.received}) == subscribers,
            "seconds": delivered,
            "cpu": cpu,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--targets", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--window", type=float, default=60.0)
    args = parser.parse_args()
    os.environ.pop("SSL_CERT_FILE", None)
    load_before = os.getloadavg()
    results: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
    for i in range(args.runs):
        for fan_out in (False, True):
            result = one_run(
                args.targets, args.subscribers if fan_out else 0, args.rate, args.window
            )
            results[fan_out].append(result)
            print(f"run {i + 1} {'fan-out ' if fan_out else 'baseline'}: {result}", flush=True)
    load_after = os.getloadavg()
    rows = []
    for fan_out in (False, True):
        runs = results[fan_out]
        rows.append(
            [
                f"{args.subscribers:,} subscribers" if fan_out else "no subscribers",
                f"{statistics.median(r['p50'] for r in runs) * 1000:.1f} ms",
                f"{statistics.median(r['p99'] for r in runs) * 1000:.1f} ms",
                f"{statistics.median(r['probes'] for r in runs):,.0f}",
                f"{statistics.median(r['seconds'] for r in runs):.1f} s" if fan_out else "-",
                ("yes" if all(r["once"] for r in runs) else "NO") if fan_out else "-",
                f"{statistics.median(r['cpu'] for r in runs):.1f} s",
            ]
        )
    base = statistics.median(r["p99"] for r in results[False])
    fanned = statistics.median(r["p99"] for r in results[True])
    print()
    print(f"command: {command_line()}")
    print(f"commit: {commit()}\nmachine: {machine()}")
    print(
        f"load average before {load_before[0]:.1f}, after {load_after[0]:.1f};"
        f" {args.targets} targets x 2 families every {INTERVAL:g} s;"
        f" max_per_second {args.rate:g}; lag over {args.window:g} s from the incident;"
        f" medians of {args.runs} interleaved runs each"
    )
    print(
        table(
            [
                "run",
                "lag p50",
                "lag p99",
                "probes measured",
                "incident to last email",
                "each subscriber once",
                "monitor CPU in the window",
            ],
            rows,
        )
    )
    print(
        f"single runs' p99: without {[round(r['p99'] * 1000, 1) for r in results[False]]} ms,"
        f" with {[round(r['p99'] * 1000, 1) for r in results[True]]} ms"
    )
    print(f"p99 with the fan-out / without: {fanned / base:.2f} (goal: at most 1.25)")
    print(f"last email after (goal: 60 s): {[round(r['seconds'], 1) for r in results[True]]} s")


if __name__ == "__main__":
    main()
