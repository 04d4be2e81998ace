"""Schedule lag of `uptime-sla run` with the status page on and off, N targets x 2 families.

The same set-up as bench_capacity.py (a local nginx, TLS 1.3, 127.0.0.1 and [::1], probes
every 30 s), run alternately without a status page and with one of N / 5 components
refreshed every `status_page.refresh` (60 s, the default) into a temporary folder:
off, on, off, on... `--rounds` times each. Each run's p99 lag comes from the schedule-lag
histogram over the measured window; the verdict compares the medians of the two sets.

    .venv/bin/python bench/bench_status_lag.py [--targets 5000] [--rounds 3]
        [--warmup 45] [--duration 120]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_capacity import interleaved_runs
from benchlib import command_line, commit, lag_medians, lag_table, local_nginx, machine

PER_COMPONENT = 5


def status_page(work: Path, targets: int) -> list[str]:
    """Config lines of a status page: N / 5 components of five targets each."""
    return [
        "status_page:",
        f'  output_dir: "{work}/site"',
        "  components:",
        *(
            f"    - {{name: Component {c:04d}, targets: ["
            + ", ".join(f"t{i:05d}" for i in range(c * PER_COMPONENT, (c + 1) * PER_COMPONENT))
            + "]}"
            for c in range(targets // PER_COMPONENT)
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--targets", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=45)
    parser.add_argument("--duration", type=float, default=120)
    args = parser.parse_args()
    work, ca_file, nginx = local_nginx("bench-status-lag-")
    try:
        runs = interleaved_runs(
            args,
            nginx,
            ca_file,
            work,
            label="page",
            extra=lambda number: status_page(work / f"on-{number}", args.targets),
        )
    finally:
        nginx.close()
    medians = lag_medians(runs)
    print(f"\ncommand: {command_line()}")
    print(f"machine: {machine()}; commit {commit()}")
    print(
        f"{args.targets:,} targets x 2 families every 30 s; {args.warmup:g} s warm-up, "
        f"{args.duration:g} s measured; page: {args.targets // PER_COMPONENT:,} components, "
        "refreshed every 60 s"
    )
    print(
        lag_table(
            "status page",
            runs,
            [("load average 1/5/15 min, before -> after", lambda f: str(f["load"]))],
        )
    )
    ratio = medians["on"] / medians["off"] if medians["off"] else float("nan")
    print(f"\nlag p99 median, page on / page off: {ratio:.2f}x (goal: at most 1.25x)")


if __name__ == "__main__":
    main()
