"""Schedule lag of `uptime-sla run` with the promise checks on and off, N targets x 2 families.

The same set-up as bench_capacity.py (a local nginx, TLS 1.3 only, 127.0.0.1 and [::1],
probes every 30 s), run alternately without promise checks and with every promise checked
every minute per (target, family) — a TLS 1.2 handshake (refused by nginx), a plaintext
request to nginx's port 80 stand-in (answered 301), the family's address: off, on, off,
on... `--rounds` times each. Each run's p99 lag comes from the schedule-lag histogram over
the measured window; the verdict compares the medians of the two sets. The machine's load
average before and after each run is printed: it is shared, and the figures say so.

    .venv/bin/python bench/bench_promise_lag.py [--targets 1000] [--rounds 3]
        [--warmup 45] [--duration 120] [--every 1m]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_capacity import interleaved_runs
from benchlib import command_line, commit, lag_medians, lag_table, local_nginx, machine

GOAL = 1.10  # lag p99 with promise checks at most 10 % above without


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=45)
    parser.add_argument("--duration", type=float, default=120)
    parser.add_argument("--every", default="1m")
    args = parser.parse_args()
    work, ca_file, nginx = local_nginx("bench-promise-lag-")
    try:
        runs = interleaved_runs(
            args,
            nginx,
            ca_file,
            work,
            label="promise checks",
            defaults=f"promises: {{every: {args.every}, plaintext_port: {nginx.plain_port}}}",
        )
    finally:
        nginx.close()
    medians = lag_medians(runs)
    print(f"\ncommand: {command_line()}")
    print(f"machine: {machine()}; commit {commit()}")
    print(
        f"{args.targets:,} targets x 2 families probed every 30 s; promise checks every"
        f" {args.every} per (target, family); {args.warmup:g} s warm-up, {args.duration:g} s"
        " measured"
    )
    print(
        lag_table(
            "promise checks",
            runs,
            [
                ("CPU s, promise process", lambda f: f"{float(f['children_cpu']):.1f}"),  # type: ignore[arg-type]
                ("checks in the run", lambda f: f"{float(f['promise_checks_total']):,.0f}"),  # type: ignore[arg-type]
                ("load average 1/5/15 min, before -> after", lambda f: str(f["load"])),
            ],
        )
    )
    ratio = medians["on"] / medians["off"] if medians["off"] else float("nan")
    print(f"\nlag p99 median, checks on / off: {ratio:.2f}x (goal: at most {GOAL:.2f}x)")


if __name__ == "__main__":
    main()
