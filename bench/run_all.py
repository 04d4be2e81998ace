"""Every benchmark, one after the other, installing what they need first.

    .venv/bin/python bench/run_all.py [--quick] [--out bench-results.md]

Installs (as root, only when missing): `apt-get update` then `apt-get install -y nginx
prometheus-blackbox-exporter prometheus postgresql`, and py-spy into the venv. Each
benchmark prints its own table and exact command; all output is also written to --out.
Full size takes about 50 minutes on 2 cores; --quick (smaller N, shorter windows, a small
month) a few minutes, for development only.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import PYTHON, ROOT, commit, machine

PACKAGES = {  # Debian package -> a file it installs
    "nginx": "/usr/sbin/nginx",
    "prometheus-blackbox-exporter": "/usr/bin/prometheus-blackbox-exporter",
    "prometheus": "/usr/bin/promtool",
    "postgresql": "pg_ctl",
}


def missing_packages() -> list[str]:
    out = []
    for package, path in PACKAGES.items():
        if path.startswith("/"):
            present = Path(path).exists()
        else:
            present = bool(shutil.which(path) or glob.glob(f"/usr/lib/postgresql/*/bin/{path}"))
        if not present:
            out.append(package)
    return out


def install() -> None:
    missing = missing_packages()
    if missing:
        if os.geteuid() != 0:
            raise SystemExit(f"missing Debian packages {missing}: run as root (apt-get)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", *missing], check=True, env=env)
    if not (Path(PYTHON).parent / "py-spy").exists():
        subprocess.run([PYTHON, "-m", "pip", "install", "-q", "py-spy"], check=False)


def plan(quick: bool) -> list[list[str]]:
    b = "bench/"
    if quick:
        return [
            [
                b + "bench_capacity.py",
                "--targets",
                "200",
                "1000",
                "--warmup",
                "20",
                "--duration",
                "30",
            ],
            [
                b + "bench_capacity.py",
                "--targets",
                "1000",
                "--warmup",
                "20",
                "--duration",
                "30",
                "--sla-refresh",
                "24h",
                "--skip-blackbox",
            ],
            [b + "bench_storage.py", "--batches", "50", "--targets", "4", "--days", "3"],
            [b + "bench_promql.py", "--quick"],
            [b + "bench_sla_engine.py"],
            [b + "bench_refresher.py", "--cases", "fresh", "month", "--refreshes", "2"],
            [b + "bench_status.py", "--targets", "500", "--days", "30"],
            [b + "bench_status_lag.py", "--targets", "500", "--rounds", "1", "--duration", "30"],
            [
                b + "bench_promise_lag.py",
                "--targets",
                "300",
                "--rounds",
                "1",
                "--duration",
                "30",
                "--every",
                "30s",
            ],
            [
                b + "bench_subscriptions.py",
                "--subscribers",
                "2000",
                "--runs",
                "1",
                "--window",
                "30",
            ],
            [b + "bench_startup.py", "--rounds", "5"],
            [
                b + "bench_probe_cpu.py",
                "--probes",
                "1000",
                "--rounds",
                "2",
                "--loop",
                "asyncio",
                "uvloop",
            ],
        ]
    return [
        [
            b + "bench_capacity.py",
            "--targets",
            "1000",
            "5000",
            "--warmup",
            "30",
            "--duration",
            "90",
            "--profile",
            "20",
        ],
        [
            b + "bench_capacity.py",
            "--targets",
            "5000",
            "--warmup",
            "30",
            "--duration",
            "90",
            "--sla-refresh",
            "24h",
            "--skip-blackbox",
        ],
        [b + "bench_storage.py", "--batches", "60", "--days", "30"],
        [b + "bench_promql.py"],
        [b + "bench_sla_engine.py"],
        [b + "bench_refresher.py"],
        [b + "bench_status.py", "--refreshes", "10"],
        [b + "bench_status_lag.py"],
        [b + "bench_promise_lag.py", "--duration", "60"],
        [b + "bench_subscriptions.py"],
        [b + "bench_startup.py"],
        [b + "bench_probe_cpu.py", "--loop", "asyncio", "uvloop"],
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-install", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results.md")
    args = parser.parse_args()
    if not args.no_install:
        install()
    started = time.monotonic()
    with args.out.open("w") as out:
        head = (
            f"# bench/run_all.py{' --quick' if args.quick else ''}\n\n"
            f"machine: {machine()}\ncommit: {commit()}\n"
        )
        print(head, flush=True)
        out.write(head + "\n")
        for argv in plan(args.quick):
            print(f"\n## {' '.join(argv)}\n", flush=True)
            out.write(f"\n## {' '.join(argv)}\n\n```\n")
            t0 = time.monotonic()
            process = subprocess.Popen(
                [PYTHON, *argv],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            assert process.stdout is not None
            for line in process.stdout:
                sys.stdout.write(line)
                out.write(line)
                out.flush()
            code = process.wait()
            tail = f"```\n(exit {code}, {time.monotonic() - t0:.0f} s)\n"
            print(tail, flush=True)
            out.write(tail)
        total = f"\nall benchmarks: {time.monotonic() - started:.0f} s\n"
        print(total)
        out.write(total)


if __name__ == "__main__":
    main()
