"""A month of real volume through `uptime-sla import` and `uptime-sla report`.

Generates N targets x 2 families x L locations probed every 30 s for a 31-day month
(100 x 2 x 2 = 35.7 million probes by default) as the import CSV, with a sprinkling of
outages, then times the import, a re-import (idempotency: nothing new stored), and the
JSON report, each as a separate process, and prints the figures and the command.

    .venv/bin/python bench/bench_month.py [--targets 100] [--locations 2] [--days 31]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

MONTH = datetime(2026, 3, 1, tzinfo=UTC)
INTERVAL = 30


def write_config(path: Path, db: Path, targets: int) -> None:
    lines = [
        f'storage: {{url: "sqlite:///{db}"}}',
        f"defaults: {{interval: {INTERVAL}s}}",
        "targets:",
        *(
            f'  - {{name: t{i:03d}, url: "https://api.test/{i}", service: s{i % 10}}}'
            for i in range(targets)
        ),
        "plans: {pro: {objective: 99.9, credits: [{below: 99.9, percent: 10}]}}",
        "contracts:",
        *(
            f'  - {{customer: c{i}, plan: pro, service: s{i}, monthly_fee: "1000.00", '
            f"start: 2026-01-01}}"
            for i in range(min(targets, 10))
        ),
    ]
    path.write_text("\n".join(lines) + "\n")


def write_csv(path: Path, targets: int, locations: int, days: int, seed: int = 7) -> int:
    """Vectorised: one block of rows per (time step), written with numpy string ops."""
    rng = np.random.default_rng(seed)
    steps = days * 86400 // INTERVAL
    start = int(MONTH.timestamp())
    series = [
        (f"t{t:03d}", fam, f"loc{loc}")
        for t in range(targets)
        for fam in ("ipv4", "ipv6")
        for loc in range(locations)
    ]
    rows = 0
    with path.open("w") as out:
        out.write("time,target,family,location,success,status_code,latency_ms,reason\n")
        block = 2880  # a day of steps at a time
        for first in range(0, steps, block):
            times = start + INTERVAL * np.arange(first, min(first + block, steps))
            stamps = [datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") for t in times]
            fail = rng.random((len(times), len(series))) < 0.002
            lines = []
            for i, stamp in enumerate(stamps):
                for j, (target, family, location) in enumerate(series):
                    if fail[i, j]:
                        lines.append(f"{stamp},{target},{family},{location},false,,,timeout\n")
                    else:
                        lines.append(f"{stamp},{target},{family},{location},true,200,41.5,\n")
            out.writelines(lines)
            rows += len(lines)
    return rows


def timed(argv: list[str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (MiB) of the child, and its stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak, before) // 1024, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--targets", type=int, default=100)
    parser.add_argument("--locations", type=int, default=2)
    parser.add_argument("--days", type=int, default=31)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-month-"))
    work.mkdir(parents=True, exist_ok=True)
    config, db, history = work / "config.yaml", work / "bench.db", work / "month.csv"
    write_config(config, db, args.targets)
    started = time.perf_counter()
    rows = write_csv(history, args.targets, args.locations, args.days)
    generated = time.perf_counter() - started
    cli = [sys.executable, "-m", "monitor", "-c", str(config)]
    import_s, import_rss, _ = timed([*cli, "import", str(history)])
    reimport_s, _, reimport_out = timed([*cli, "import", str(history)])
    report_s, report_rss, report_out = timed([*cli, "report", "--month", "2026-03"])
    report = json.loads(report_out)
    print(f"command: {' '.join([sys.executable, *sys.argv])}")
    print(f"machine: {os.cpu_count()} cores")
    print("| figure | value |\n|---|---|")
    print(
        f"| probes generated | {rows:,} ({history.stat().st_size / 2**20:,.0f} MiB CSV, {generated:.0f} s) |"
    )
    print(
        f"| import into SQLite | {import_s:.1f} s = {rows / import_s:,.0f} rows/s, peak RSS {import_rss} MiB |"
    )
    print(f"| re-import (stores nothing) | {reimport_s:.1f} s; {reimport_out.strip()} |")
    print(f"| report --format json | {report_s:.2f} s, peak RSS {report_rss} MiB |")
    print(f"| database size | {db.stat().st_size / 2**20:,.0f} MiB |")
    print(f"| incidents in the month | {len(report['incidents'])} |")


if __name__ == "__main__":
    main()
