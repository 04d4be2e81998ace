"""Peak RSS and CPU of the month-to-date SLA gauges (`SlaRefresher.refresh`, every 60 s).

Each case builds a SQLite store whose per-slice rollups are written straight into the
rollup table (the refresher reads nothing else), then refreshes the gauges a few times in
a fresh process and reports that process's peak RSS (VmHWM, with the interpreter and its
imports; not getrusage's maxrss, which inherits the parent's size at fork) and its CPU
seconds per refresh (getrusage). Cases:

- fresh: 5,000 targets x 2 families (each target its own service, as `bench_capacity`),
  probed for the last 2 hours only, on the 20th of the month: a service just started;
- month: 500 targets x 2 families in 10 services, probed the whole month to date;
- full: 5,000 targets x 2 families (own services), probed the whole month to date.

    .venv/bin/python bench/bench_refresher.py [--cases fresh month full] [--refreshes 3]
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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import PYTHON, command_line, commit, machine, peak_rss_mib, table

from monitor.store import rollup
from sla.model import LastState

SLICE = 60
INTERVAL = 30  # two probes a slice, the last at :30
NOW = datetime(2026, 3, 20, 12, 0, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Case:
    targets: int
    services: int | None  # None: every target its own service
    history: timedelta  # probed for this long before NOW


CASES = {
    "fresh": Case(5000, None, timedelta(hours=2)),
    "month": Case(500, 10, NOW - datetime(2026, 2, 28, tzinfo=UTC)),
    "full": Case(5000, None, NOW - datetime(2026, 2, 28, tzinfo=UTC)),
}


def write_config(path: Path, db: Path, case: Case) -> None:
    def service(i: int) -> str:
        return f"t{i:05d}" if case.services is None else f"s{i % case.services}"

    lines = [
        f'storage: {{url: "sqlite:///{db}"}}',
        f"defaults: {{interval: {INTERVAL}s}}",
        "targets:",
        *(
            f'  - {{name: t{i:05d}, url: "https://api.test/{i}", service: {service(i)}}}'
            for i in range(case.targets)
        ),
        "plans: {pro: {objective: 99.9, credits: [{below: 99.9, percent: 10}]}}",
        "contracts:",
        *(
            f'  - {{customer: c{i}, plan: pro, service: {service(i)}, monthly_fee: "1000.00",'
            " start: 2026-01-01}"
            for i in range(10)
        ),
    ]
    path.write_text("\n".join(lines) + "\n")


def write_rollups(
    db: Path, case: Case, seed: int = 7, failed_share: float = 0.002, outages: int = 2
) -> int:
    """Chunks of two probes a slice with 0.2 % failed slices and a few 5-minute outages."""
    from monitor.store import Store

    rng = np.random.default_rng(seed)
    end = int(NOW.timestamp()) // SLICE
    first = end - int(case.history.total_seconds()) // SLICE
    store = Store(f"sqlite:///{db}", rollup_seconds=SLICE)
    rows = []
    series = [(f"t{t:05d}", family) for t in range(case.targets) for family in ("ipv4", "ipv6")]
    for series_id, _ in enumerate(series, 1):
        failed = rng.random(end - first) < failed_share
        for start in rng.integers(0, end - first, outages):
            failed[start : start + 5] = True
        for chunk_no in range(first // rollup.CHUNK_SLICES, (end - 1) // rollup.CHUNK_SLICES + 1):
            chunk = rollup.empty_chunk()
            low = max(first - chunk_no * rollup.CHUNK_SLICES, 0)
            high = min(end - chunk_no * rollup.CHUNK_SLICES, rollup.CHUNK_SLICES)
            bad = failed[chunk_no * rollup.CHUNK_SLICES + low - first :][: high - low]
            chunk["total"][low:high] = 2
            chunk["failed"][low:high] = 2 * bad
            chunk["last_offset_us"][low:high] = INTERVAL * 1_000_000
            chunk["last_state"][low:high] = np.where(bad, LastState.FAILED, LastState.OK)
            rows.append((series_id, SLICE, chunk_no, rollup.encode(chunk)))
    with store.engine.begin() as conn:
        raw = conn.connection.driver_connection
        raw.executemany(
            "INSERT INTO series (id, target, family, location) VALUES (?, ?, ?, 'here')",
            [(i, target, family) for i, (target, family) in enumerate(series, 1)],
        )
        raw.executemany(
            "INSERT INTO slice_rollup (series_id, slice_seconds, chunk, data) VALUES (?, ?, ?, ?)",
            rows,
        )
    store.close()
    return len(rows)


def measure(config_path: Path, refreshes: int) -> dict[str, object]:
    """In this (fresh) process: refresh the gauges `refreshes` times at NOW."""
    from monitor.config import load_config
    from monitor.metrics.collectors import SlaMetrics
    from monitor.reports.gauges import SlaRefresher
    from monitor.store import Store

    config = load_config(config_path)
    store = Store(config.storage.url, rollup_seconds=int(config.sla.slice))
    sink = SlaMetrics()
    refresher = SlaRefresher(config, store, sink, lambda: NOW)
    baseline = peak_rss_mib(os.getpid())
    cpu, wall = [], []
    for _ in range(refreshes):
        usage, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        refresher.refresh()
        wall.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpu.append(after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime)
    store.close()
    return {
        "baseline_mib": baseline,
        "peak_mib": peak_rss_mib(os.getpid()),
        "cpu": cpu,
        "wall": wall,
        "gauges": sum(len(family.samples) for family in sink.collect()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", nargs="+", choices=sorted(CASES), default=list(CASES))
    parser.add_argument("--refreshes", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # the child's config
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.refreshes)))
        return
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-refresher-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in args.cases:
        case = CASES[name]
        config, db = work / f"{name}.yaml", work / f"{name}.db"
        if not db.exists():
            write_config(config, db, case)
            write_rollups(db, case)
        child = [PYTHON, __file__, "--measure", str(config), "--refreshes", str(args.refreshes)]
        done = subprocess.run(child, capture_output=True, text=True, check=True)
        result = json.loads(done.stdout)
        cpu, wall = result["cpu"], result["wall"]
        rows.append(
            [
                f"{name}: {case.targets:,} x 2, {case.history.total_seconds() / 3600:,.0f} h",
                f"{result['baseline_mib']:,.0f} MiB",
                f"{result['peak_mib']:,.0f} MiB",
                f"{cpu[0]:.2f} s",
                f"{sum(cpu[1:]) / max(len(cpu) - 1, 1):.2f} s",
                f"{sum(wall) / len(wall):.2f} s",
                result["gauges"],
            ]
        )
    print(f"command: {command_line()}")
    print(f"machine: {machine()}; commit {commit()}")
    print(f"now: {NOW.isoformat()}; {args.refreshes} refreshes per case, each case its own process")
    print(
        table(
            [
                "case",
                "RSS before",
                "peak RSS",
                "CPU 1st refresh",
                "CPU later refreshes",
                "wall / refresh",
                "gauge samples",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
