"""The monthly SLA report vs PromQL over the same month, at 1x and 4x the data.

For each scale (targets x 2 families x L locations, probed every 30 s for 31 days, the data
of bench_month.py):

  1. the import CSV is generated and loaded with `uptime-sla import` (timed, a process);
  2. `uptime-sla report --month 2026-03` (JSON) is timed as a process, best of 3;
  3. the same probes are written as OpenMetrics `probe_success{target,ip_family,location}`
     0/1 samples, one file per 2 h block window (promtool 2.42 re-reads its whole input once
     per 2 h block and has no --max-block-duration, so the file is pre-split), turned into
     TSDB blocks with `promtool tsdb create-blocks-from openmetrics`, and Prometheus is
     started on them (127.0.0.1, retention 100y, --query.max-samples 1e9);
  4. after Prometheus' own compaction settles, `avg by (target)
     (avg_over_time(probe_success[31d]))` at the month's end is timed through /api/v1/query
     (first call, then best of 3).

The report computes far more (slices, outages, quorum, credits) than the PromQL mean does;
the PromQL figure is what a Prometheus-based SLA page pays for the simplest monthly ratio.

Run: .venv/bin/python bench/bench_promql.py [--targets 25 100] [--locations 2] [--quick]
     (--quick: --targets 2 8, for development)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_month import INTERVAL, MONTH, write_config, write_csv
from benchlib import (
    PYTHON,
    binary,
    command_line,
    commit,
    fetch,
    free_port,
    machine,
    stop,
    table,
    wait_for,
)

DAYS = 31
BLOCK = 7200  # promtool's block range, seconds


def timed(argv: list[str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (MiB) of this child alone (os.wait4), and its stdout."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(argv, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode:
            raise SystemExit(f"{argv[-2:]} failed: {err.read().decode().strip()}")
        return seconds, usage.ru_maxrss // 1024, out.read().decode()


def failures(targets: int, locations: int, days: int, seed: int = 7) -> tuple[np.ndarray, list]:
    """The fail matrix (steps x series) that bench_month.write_csv draws from the same seed."""
    rng = np.random.default_rng(seed)
    steps = days * 86400 // INTERVAL
    series = [
        (f"t{t:03d}", fam, f"loc{loc}")
        for t in range(targets)
        for fam in ("ipv4", "ipv6")
        for loc in range(locations)
    ]
    blocks = []
    for first in range(0, steps, 2880):
        blocks.append(rng.random((min(first + 2880, steps) - first, len(series))) < 0.002)
    return np.vstack(blocks), series


def write_openmetrics(directory: Path, fail: np.ndarray, series: list) -> int:
    """One OpenMetrics file per 2 h window; in each, every series' samples in time order."""
    directory.mkdir(parents=True, exist_ok=True)
    start = int(MONTH.timestamp())
    steps = fail.shape[0]
    times = start + INTERVAL * np.arange(steps)
    ok = np.char.add(" 1 ", times.astype(str))
    bad = np.char.add(" 0 ", times.astype(str))
    per_block = BLOCK // INTERVAL
    files = 0
    for first in range(0, steps, per_block):
        end = min(first + per_block, steps)
        with (directory / f"{files:04d}.om").open("w") as out:
            out.write("# TYPE probe_success gauge\n")
            for j, (target, family, location) in enumerate(series):
                prefix = (
                    f'probe_success{{target="{target}",ip_family="{family}",location="{location}"}}'
                )
                lines = np.where(fail[first:end, j], bad[first:end], ok[first:end]).tolist()
                out.write(prefix + ("\n" + prefix).join(lines) + "\n")
            out.write("# EOF\n")
        files += 1
    return files


def build_blocks(promtool: str, om_dir: Path, tsdb: Path) -> None:
    tsdb.mkdir(parents=True, exist_ok=True)
    for path in sorted(om_dir.glob("*.om")):
        subprocess.run(
            [promtool, "tsdb", "create-blocks-from", "openmetrics", "-q", str(path), str(tsdb)],
            check=True,
            capture_output=True,
        )
        path.unlink()


def blocks_in(tsdb: Path) -> int:
    return sum(1 for p in tsdb.iterdir() if (p / "meta.json").exists())


def promql(prometheus: str, tsdb: Path, work: Path, expected_series: int) -> dict[str, object]:
    port = free_port()
    config = work / "prometheus.yml"
    config.write_text("global: {scrape_interval: 1m}\n")
    log = (work / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            prometheus,
            f"--config.file={config}",
            f"--storage.tsdb.path={tsdb}",
            "--storage.tsdb.retention.time=100y",
            f"--web.listen-address=127.0.0.1:{port}",
            "--query.max-samples=1000000000",
            "--query.timeout=20m",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: fetch(f"http://127.0.0.1:{port}/-/ready"), timeout=300)
        # Prometheus compacts the 2 h blocks into bigger ones on its own: let it settle.
        before, stable_since, deadline = blocks_in(tsdb), time.monotonic(), time.monotonic() + 240
        while time.monotonic() < deadline and time.monotonic() - stable_since < 20:
            time.sleep(2)
            now_blocks = blocks_in(tsdb)
            if now_blocks != before:
                before, stable_since = now_blocks, time.monotonic()
        end = int(MONTH.timestamp()) + DAYS * 86400
        expr = "avg by (target) (avg_over_time(probe_success[31d]))"
        url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode(
            {"query": expr, "time": str(end)}
        )
        times = []
        for _ in range(4):
            started = time.perf_counter()
            answer = json.loads(fetch(url, timeout=1800))
            times.append(time.perf_counter() - started)
        count = len(answer["data"]["result"])
        check = json.loads(
            fetch(
                f"http://127.0.0.1:{port}/api/v1/query?"
                + urllib.parse.urlencode(
                    {"query": "count(count_over_time(probe_success[31d]))", "time": str(end)}
                )
            )
        )
        return {
            "first": times[0],
            "best": min(times[1:]),
            "targets": count,
            "series": float(check["data"]["result"][0]["value"][1]),
            "blocks": before,
        }
    finally:
        stop(process)
        log.close()


def run_scale(targets: int, locations: int, work: Path, tools: tuple[str, str]) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    config, db, history = work / "config.yaml", work / "bench.db", work / "month.csv"
    write_config(config, db, targets)
    rows = write_csv(history, targets, locations, DAYS)
    cli = [PYTHON, "-m", "monitor", "-c", str(config)]
    import_s, import_rss, _ = timed([*cli, "import", str(history)])
    history.unlink()
    reports = [timed([*cli, "report", "--month", "2026-03"]) for _ in range(3)]
    report_s = min(r[0] for r in reports)
    report_rss = max(r[1] for r in reports)
    db.unlink()
    fail, series = failures(targets, locations, DAYS)
    started = time.perf_counter()
    files = write_openmetrics(work / "om", fail, series)
    om_s = time.perf_counter() - started
    started = time.perf_counter()
    build_blocks(tools[0], work / "om", work / "tsdb")
    blocks_s = time.perf_counter() - started
    query = promql(tools[1], work / "tsdb", work, len(series))
    shutil.rmtree(work, ignore_errors=True)
    return {
        "targets": targets,
        "series": len(series),
        "rows": rows,
        "import_s": import_s,
        "import_rss": import_rss,
        "report_s": report_s,
        "report_rss": report_rss,
        "om_files": files,
        "om_s": om_s,
        "blocks_s": blocks_s,
        "promql": query,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--targets", type=int, nargs=2, default=[25, 100], help="the 1x and the 4x scale"
    )
    parser.add_argument("--locations", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="--targets 2 8")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    if args.quick:
        args.targets = [2, 8]
    promtool, prometheus = binary("promtool"), binary("prometheus")
    if not promtool or not prometheus:
        raise SystemExit("need prometheus and promtool: apt-get install -y prometheus")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-promql-"))
    results = []
    for targets in args.targets:
        results.append(
            run_scale(targets, args.locations, work / f"t{targets}", (promtool, prometheus))
        )
        print(json.dumps(results[-1]), flush=True)
    print(f"\ncommand: {command_line()}")
    print(f"machine: {machine()}; commit {commit()}")
    rows = []
    for r in results:
        q = r["promql"]
        rows.append(
            [
                f"{r['targets']} x 2 x {args.locations} = {r['series']} series",
                f"{r['rows']:,}",
                f"{r['import_s']:.1f} s ({r['rows'] / r['import_s']:,.0f}/s)",
                f"{r['report_s']:.2f} s",
                f"{r['report_rss']} MiB",
                f"{q['first']:.2f} s",
                f"{q['best']:.2f} s",
                q["blocks"],
                f"{q['best'] / r['report_s']:.1f}x",
            ]
        )
    print(
        table(
            [
                "scale",
                "probes",
                "import",
                "report (best of 3)",
                "report peak RSS",
                "PromQL first",
                "PromQL best of 3",
                "TSDB blocks",
                "PromQL best / report",
            ],
            rows,
        )
    )
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    small, large = results
    print(
        f"\ndata x{large['rows'] / small['rows']:.1f}: report x"
        f"{large['report_s'] / small['report_s']:.2f}, PromQL x"
        f"{large['promql']['best'] / small['promql']['best']:.2f}"
    )
    print("PromQL query: avg by (target) (avg_over_time(probe_success[31d])) at 2026-04-01T00:00Z")


if __name__ == "__main__":
    main()
