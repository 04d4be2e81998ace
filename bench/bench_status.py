"""CPU and peak RSS of the status site: a cold `status build` and `run`'s refreshes.

Builds a SQLite store whose per-slice rollups are written straight into the rollup table
(as bench_refresher.py: two probes a slice, two 5-minute outages per series, but no
scattered failed slices: see FAILED_SHARE) for 5,000 targets x 2 families over 90 days, with 1,000 status
page components of 5 targets each. Then, in a fresh process with the clock at NOW:

- cold: `uptime-sla status build -o DIR` (cli.main with an injected clock), CPU seconds
  (getrusage) and peak RSS (VmHWM: interpreter and imports included);
- refresh: `run`'s SiteRefresher.refresh() a few times a minute apart (the builder of the
  first one kept, as in `run`), CPU seconds each, site written and `current` swapped.

    .venv/bin/python bench/bench_status.py [--targets 5000] [--days 90] [--refreshes 3]
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
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_refresher import INTERVAL, NOW, Case, write_rollups
from benchlib import PYTHON, command_line, commit, machine, peak_rss_mib, table

PER_COMPONENT = 5
# Per series over the whole history: no scattered failed slices (each would be a 1-minute
# blip, so an automatic incident: bench_refresher's 0.2 % gives each component ~2,600
# incidents in 90 days) and two 5-minute outages, ~20 incidents per component.
FAILED_SHARE = 0.0
OUTAGES = 2


def write_config(path: Path, db: Path, targets: int, days: int) -> None:
    lines = [
        f'storage: {{url: "sqlite:///{db}"}}',
        f"defaults: {{interval: {INTERVAL}s}}",
        "targets:",
        *(f'  - {{name: t{i:05d}, url: "https://api.test/{i}"}}' for i in range(targets)),
        "status_page:",
        f"  history_days: {days}",
        "  components:",
        *(
            f"    - {{name: Component {c:04d}, group: Group {c // 50},"
            f" targets: [{', '.join(f't{i:05d}' for i in range(c * PER_COMPONENT, (c + 1) * PER_COMPONENT))}]}}"
            for c in range(targets // PER_COMPONENT)
        ),
    ]
    path.write_text("\n".join(lines) + "\n")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(config_path: Path, refreshes: int, out: Path) -> dict[str, object]:
    """In this (fresh) process: one cold build, then `refreshes` refreshes as `run` does."""
    from monitor.cli import main
    from monitor.config import load_config
    from monitor.status.refresher import SiteRefresher, settle
    from monitor.status.state import StatusBuilder
    from monitor.store import Store

    baseline = peak_rss_mib(os.getpid())
    started, wall = cpu_seconds(), time.perf_counter()
    assert main(["-c", str(config_path), "status", "build", "-o", str(out / "built")],
                clock=lambda: NOW) == 0  # fmt: skip
    cold_cpu, cold_wall = cpu_seconds() - started, time.perf_counter() - wall
    cold_peak = peak_rss_mib(os.getpid())

    config = load_config(config_path)
    store = Store(config.storage.url, rollup_seconds=int(config.sla.slice))
    clock = [NOW]
    refresher = SiteRefresher(config, StatusBuilder(config, store), lambda: clock[0], out / "run")
    refresher.refresh()  # the first refresh of `run` is a cold build too
    settle()  # as `run` does after it
    cpu, walls = [], []
    for n in range(1, refreshes + 1):
        clock[0] = NOW + timedelta(minutes=n)
        started, wall = cpu_seconds(), time.perf_counter()
        refresher.refresh()
        cpu.append(cpu_seconds() - started)
        walls.append(time.perf_counter() - wall)
    store.close()
    return {
        "baseline_mib": baseline,
        "cold_cpu": cold_cpu,
        "cold_wall": cold_wall,
        "cold_peak_mib": cold_peak,
        "refresh_cpu": cpu,
        "refresh_wall": walls,
        "peak_mib": peak_rss_mib(os.getpid()),
        "files": sum(1 for p in (out / "built").rglob("*") if p.is_file()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--targets", type=int, default=5000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--refreshes", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # the child's config
    args = parser.parse_args()
    if args.measure:
        out = Path(tempfile.mkdtemp(prefix="bench-status-site-"))
        print(json.dumps(measure(args.measure, args.refreshes, out)))
        return
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-status-"))
    work.mkdir(parents=True, exist_ok=True)
    name = f"status-{args.targets}-{args.days}d"
    config, db = work / f"{name}.yaml", work / f"{name}.db"
    write_config(config, db, args.targets, args.days)
    if not db.exists():
        started = time.perf_counter()
        history = Case(args.targets, None, timedelta(days=args.days + 1))
        chunks = write_rollups(db, history, failed_share=FAILED_SHARE, outages=OUTAGES)
        print(f"wrote {chunks:,} rollup chunks in {time.perf_counter() - started:.0f} s")
    child = [PYTHON, __file__, "--measure", str(config), "--refreshes", str(args.refreshes)]
    done = subprocess.run(child, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(done.stderr)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    cpu = result["refresh_cpu"]
    print(f"command: {command_line()}")
    print(f"machine: {machine()}; commit {commit()}")
    print(
        f"now: {NOW.isoformat()}; {args.targets:,} targets x 2 families, "
        f"{args.targets // PER_COMPONENT:,} components, {args.days} days of 60 s slices"
    )
    print(
        table(
            ["step", "CPU", "wall", "peak RSS"],
            [
                [
                    f"cold `status build` ({result['files']:,} files)",
                    f"{result['cold_cpu']:.2f} s",
                    f"{result['cold_wall']:.2f} s",
                    f"{result['cold_peak_mib']:,.0f} MiB",
                ],
                [
                    f"refresh in `run` (mean of {len(cpu)})",
                    f"{sum(cpu) / len(cpu):.2f} s (max {max(cpu):.2f})",
                    f"{sum(result['refresh_wall']) / len(cpu):.2f} s",
                    f"{result['peak_mib']:,.0f} MiB",
                ],
            ],
        )
    )


if __name__ == "__main__":
    main()
