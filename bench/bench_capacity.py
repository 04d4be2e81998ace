"""Probe cost and capacity: `uptime-sla run` vs blackbox_exporter + Prometheus, N targets x 2 families.

A local nginx (TLS 1.3 only, self-signed CA from trustme, 127.0.0.1 and [::1]) serves
/t/<n> for every target. For each N:

  (a) `uptime-sla run` probes the N targets over both families every 30 s (timeout 5 s,
      resolve pinned to 127.0.0.1 / ::1, SQLite in a temp dir). After the warm-up, the
      window is measured from /metrics (probe_total, the schedule-lag histogram) and
      /proc/PID (utime+stime, VmHWM).
  (b) blackbox_exporter probes the same 2N URLs (modules ip4 / ip6, fail_if_not_ssl, the
      same CA), driven by a real Prometheus scraping /probe every 30 s (one job per family);
      probes in the window are counted by Prometheus (count_over_time(up[window])), the
      exporter's CPU comes from /proc.
  (c) the CPU-per-probe ratio of the two, measured in this same run.

Run: .venv/bin/python bench/bench_capacity.py [--targets 1000 5000] [--warmup 30] [--duration 90]
     [--profile SECONDS]  (py-spy the uptime-sla process at the largest N, when installed)
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (
    PYTHON,
    Nginx,
    binary,
    children_cpu,
    command_line,
    commit,
    fetch,
    free_port,
    load_average,
    local_nginx,
    machine,
    peak_rss_mib,
    process_cpu,
    start_monitor,
    stop,
    table,
    wait_for,
)

INTERVAL, TIMEOUT = 30, 5


def metric_sums(port: int) -> tuple[float, dict[float, float]]:
    """(sum of probe_total, cumulative lag buckets) from uptime-sla's /metrics, parsed cheaply."""
    text = fetch(f"http://127.0.0.1:{port}/metrics")
    total, buckets = 0.0, {}
    for line in text.splitlines():
        if line.startswith("probe_total{"):
            total += float(line.rsplit(" ", 1)[1])
        elif line.startswith("uptime_sla_schedule_lag_seconds_bucket{"):
            le = line.split('le="', 1)[1].split('"', 1)[0]
            buckets[float("inf") if le == "+Inf" else float(le)] = float(line.rsplit(" ", 1)[1])
    return total, buckets


def quantile_seconds(q: float, buckets: dict[float, float]) -> float | None:
    """histogram_quantile over cumulative bucket deltas, as Prometheus computes it
    (inf: beyond the last finite bucket; None: no observation)."""
    bounds = sorted(buckets)
    count = buckets[bounds[-1]]
    if count <= 0:
        return None
    rank, lower, below = q * count, 0.0, 0.0
    for bound in bounds:
        if buckets[bound] >= rank:
            if bound == float("inf"):
                return bound
            inside = buckets[bound] - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 1)
        lower, below = bound, buckets[bound]
    return None


def quantile(q: float, buckets: dict[float, float]) -> str:
    seconds = quantile_seconds(q, buckets)
    if seconds is None:
        return "n/a"
    if seconds == float("inf"):
        return f"> {sorted(buckets)[-2]:g} s"
    return f"{seconds:.3f} s"


def run_uptime_sla(
    n: int,
    nginx: Nginx,
    ca_file: Path,
    work: Path,
    *,
    warmup: float,
    duration: float,
    profile: float,
    sla_refresh: str,
    extra: Sequence[str] = (),
    defaults: str = "",
    name: str = "",
) -> dict[str, object]:
    """One run of `uptime-sla run` on N targets; `extra`: more config lines (a status page),
    `defaults`: more keys of `defaults:` (`promises: {every: 1m}`)."""
    port = free_port()
    config = work / f"uptime-sla-{n}{name}.yaml"
    lines = [
        f'storage: {{url: "sqlite:///{work}/uptime-{n}{name}.db"}}',
        f'metrics: {{listen: "127.0.0.1:{port}", sla_refresh: {sla_refresh}}}',
        f'defaults: {{interval: {INTERVAL}s, timeout: {TIMEOUT}s, ca_file: "{ca_file}",'
        f' resolve: {{ipv4: ["127.0.0.1"], ipv6: ["::1"]}}{", " + defaults if defaults else ""}}}',
        "targets:",
        *(f'  - {{name: t{i:05d}, url: "https://api.test:{nginx.port}/t/{i}"}}' for i in range(n)),
        *extra,
    ]
    config.write_text("\n".join(lines) + "\n")
    process, log = start_monitor(config, work / f"uptime-sla-{n}{name}.log")
    try:
        wait_for(lambda: metric_sums(port), timeout=60)
        time.sleep(warmup)
        total0, lag0 = metric_sums(port)
        cpu0, wall0 = process_cpu(process.pid), time.monotonic()
        children0 = children_cpu(process.pid)
        flame = None
        if profile:
            flame = start_profile(process.pid, profile, work / f"py-spy-{n}")
        time.sleep(duration)
        cpu1, wall1 = process_cpu(process.pid), time.monotonic()
        children1 = children_cpu(process.pid)
        total1, lag1 = metric_sums(port)
        rss = peak_rss_mib(process.pid)
        if flame is not None:
            flame.wait()
        failures = promise_checks = 0.0
        for line in fetch(f"http://127.0.0.1:{port}/metrics").splitlines():
            if line.startswith("probe_failures_total{"):
                failures += float(line.rsplit(" ", 1)[1])
            elif line.startswith("uptime_sla_promise_checks_total{"):
                promise_checks += float(line.rsplit(" ", 1)[1])
        probes = total1 - total0
        lag = {b: lag1[b] - lag0.get(b, 0.0) for b in lag1}
        return {
            "probes": probes,
            "rate": probes / (wall1 - wall0),
            "cpu": cpu1 - cpu0,
            "children_cpu": children1 - children0,
            "cpu_per_1000": (cpu1 - cpu0) / probes * 1000 if probes else float("nan"),
            "lag_p50": quantile(0.5, lag),
            "lag_p99": quantile(0.99, lag),
            "lag_p99_seconds": quantile_seconds(0.99, lag),
            "rss": rss,
            "failures_total": failures,
            "promise_checks_total": promise_checks,
            "expected_rate": 2 * n / INTERVAL,
        }
    finally:
        stop(process)
        log.close()


def interleaved_runs(
    args: argparse.Namespace,
    nginx: Nginx,
    ca_file: Path,
    work: Path,
    *,
    label: str,
    extra: Callable[[int], Sequence[str]] = lambda _number: (),
    defaults: str = "",
) -> dict[str, list[dict[str, object]]]:
    """`args.rounds` runs of `args.targets` targets without a feature and with it, in turn
    (off, on, off, on...); `extra` (config lines, given the round) and `defaults` turn it
    on. Each run's figures carry the load average before and after it: the machine may be
    shared, and the figures say so."""
    runs: dict[str, list[dict[str, object]]] = {"off": [], "on": []}
    for number in range(args.rounds):
        for state in ("off", "on"):
            before = load_average()
            figures = run_uptime_sla(
                args.targets,
                nginx,
                ca_file,
                work,
                warmup=args.warmup,
                duration=args.duration,
                profile=0,
                sla_refresh="60s",
                extra=extra(number) if state == "on" else (),
                defaults=defaults if state == "on" else "",
                name=f"-{state}-{number}",
            )
            figures["load"] = f"{before} -> {load_average()}"
            runs[state].append(figures)
            print(f"round {number + 1}, {label} {state}: {figures}", flush=True)
    return runs


def start_profile(pid: int, seconds: float, out: Path) -> subprocess.Popen | None:
    spy = shutil.which("py-spy") or str(Path(PYTHON).parent / "py-spy")
    if not Path(spy).exists():
        print("py-spy not installed (.venv/bin/pip install py-spy): no profile")
        return None
    return subprocess.Popen(
        [
            spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(seconds)),
            "--format",
            "raw",
            "--rate",
            "50",
            "--output",
            f"{out}.txt",
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def summarise_profile(path: Path, top: int = 15) -> str:
    """Self and inclusive sample share of the hottest frames of a py-spy raw (collapsed) file."""
    if not path.exists():
        return "(no profile)"
    own: dict[str, int] = {}
    incl: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [
            f.split(" (")[0] + " (" + f.split(" (")[-1].rsplit(":", 1)[0].split("/")[-1] + ")"
            if " (" in f
            else f
            for f in stack.split(";")
        ]
        own[frames[-1]] = own.get(frames[-1], 0) + n
        for frame in set(frames):
            incl[frame] = incl.get(frame, 0) + n
    rows = [
        [f"{c / total:.1%}", f"{incl[f] / total:.1%}", f"`{f}`"]
        for f, c in sorted(own.items(), key=lambda kv: -kv[1])[:top]
    ]
    parts = [
        [f"{incl[f] / total:.1%}", f"`{f}`"]
        for f in sorted(incl, key=lambda f: -incl[f])
        if f.split(" (")[0] in SUBSYSTEMS
    ]
    return (
        f"{total} samples (non-idle, all threads)\n"
        + table(["self", "inclusive", "frame"], rows)
        + "\n\nby part of the service:\n"
        + table(["inclusive", "frame"], parts)
    )


SUBSYSTEMS = {
    "SlaRefresher.refresh",
    "BatchWriter._run",
    "Prober.probe",
    "ProbeScheduler.run_target",
    "ProbeMetrics.collect",
    "AsyncIOScheduler._process_jobs",
    "BaseScheduler._process_jobs",
    "Store.write",
    "month_report",
    "ProbeMetrics.observe",
}


def run_blackbox(
    n: int, nginx: Nginx, ca_file: Path, work: Path, *, warmup: float, duration: float
) -> dict[str, object]:
    exporter_bin = binary("prometheus-blackbox-exporter", "blackbox_exporter")
    prometheus_bin = binary("prometheus")
    if not exporter_bin or not prometheus_bin:
        raise SystemExit("need prometheus-blackbox-exporter and prometheus (apt-get install)")
    bb_port, prom_port = free_port(), free_port()
    modules = "".join(
        f"""  https_{ip}:
    prober: http
    timeout: {TIMEOUT}s
    http:
      preferred_ip_protocol: {ip}
      ip_protocol_fallback: false
      fail_if_not_ssl: true
      valid_status_codes: [200]
      tls_config: {{ca_file: "{ca_file}", server_name: api.test}}
"""
        for ip in ("ip4", "ip6")
    )
    (work / "blackbox.yml").write_text("modules:\n" + modules)
    jobs = []
    for family, ip, host in (("ipv4", "ip4", "127.0.0.1"), ("ipv6", "ip6", "[::1]")):
        targets = [f"https://{host}:{nginx.port}/t/{i}" for i in range(n)]
        jobs.append(
            {
                "job_name": f"blackbox_{family}",
                "metrics_path": "/probe",
                "params": {"module": [f"https_{ip}"]},
                "scrape_interval": f"{INTERVAL}s",
                "scrape_timeout": f"{TIMEOUT + 1}s",
                "static_configs": [{"targets": targets}],
                "relabel_configs": [
                    {"source_labels": ["__address__"], "target_label": "__param_target"},
                    {"source_labels": ["__param_target"], "target_label": "instance"},
                    {"target_label": "__address__", "replacement": f"127.0.0.1:{bb_port}"},
                ],
            }
        )
    prom_yml = work / f"prometheus-{n}.yml"
    prom_yml.write_text(
        json.dumps({"global": {"scrape_interval": f"{INTERVAL}s"}, "scrape_configs": jobs})
    )  # JSON is YAML
    bb_log = (work / "blackbox.log").open("wb")
    exporter = subprocess.Popen(
        [
            exporter_bin,
            f"--config.file={work / 'blackbox.yml'}",
            f"--web.listen-address=127.0.0.1:{bb_port}",
        ],
        stdout=bb_log,
        stderr=subprocess.STDOUT,
    )
    prom_log = (work / f"prometheus-{n}.log").open("wb")
    prometheus = subprocess.Popen(
        [
            prometheus_bin,
            f"--config.file={prom_yml}",
            f"--storage.tsdb.path={work}/prom-{n}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ],
        stdout=prom_log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: fetch(f"http://127.0.0.1:{bb_port}/metrics"), timeout=30)
        wait_for(lambda: fetch(f"http://127.0.0.1:{prom_port}/-/ready"), timeout=60)
        time.sleep(warmup)
        cpu0, t0 = process_cpu(exporter.pid), time.time()
        time.sleep(duration)
        cpu1, t1 = process_cpu(exporter.pid), time.time()
        rss = peak_rss_mib(exporter.pid)
        time.sleep(3)  # let the last scrapes land in the TSDB
        window = f"{int(t1 - t0)}s"

        def query(expr: str) -> float:
            url = f"http://127.0.0.1:{prom_port}/api/v1/query?" + urllib.parse.urlencode(
                {"query": expr, "time": f"{t1:.3f}"}
            )
            result = json.loads(fetch(url))["data"]["result"]
            return float(result[0]["value"][1]) if result else 0.0

        probes = query(f'sum(count_over_time(up{{job=~"blackbox_.*"}}[{window}]))')
        ok = query(f'sum(sum_over_time(probe_success{{job=~"blackbox_.*"}}[{window}]))')
        return {
            "probes": probes,
            "rate": probes / (t1 - t0),
            "cpu": cpu1 - cpu0,
            "cpu_per_1000": (cpu1 - cpu0) / probes * 1000 if probes else float("nan"),
            "failures_total": probes - ok,
            "rss": rss,
            "expected_rate": 2 * n / INTERVAL,
        }
    finally:
        stop(prometheus)
        stop(exporter)
        bb_log.close()
        prom_log.close()
        shutil.rmtree(work / f"prom-{n}", ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--targets", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--warmup", type=float, default=30)
    parser.add_argument("--duration", type=float, default=90)
    parser.add_argument(
        "--profile",
        type=float,
        default=0,
        help="py-spy the uptime-sla process for this many seconds at the largest N",
    )
    parser.add_argument("--skip-blackbox", action="store_true")
    parser.add_argument(
        "--sla-refresh",
        default="60s",
        help="metrics.sla_refresh of uptime-sla (60s is the default; 24h leaves"
        " only the refresh at start, on an empty database: probing alone)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    work, ca_file, nginx = local_nginx("bench-capacity-")
    figures: dict[int, dict[str, dict[str, object]]] = {}
    try:
        for n in args.targets:
            profile = args.profile if n == max(args.targets) else 0
            figures[n] = {
                "uptime-sla": run_uptime_sla(
                    n,
                    nginx,
                    ca_file,
                    work,
                    warmup=args.warmup,
                    duration=args.duration,
                    profile=profile,
                    sla_refresh=args.sla_refresh,
                )
            }
            print(f"N={n} uptime-sla: {figures[n]['uptime-sla']}", flush=True)
            if not args.skip_blackbox:
                figures[n]["blackbox"] = run_blackbox(
                    n, nginx, ca_file, work, warmup=args.warmup, duration=args.duration
                )
                print(f"N={n} blackbox: {figures[n]['blackbox']}", flush=True)
    finally:
        nginx.close()
    print(f"\ncommand: {command_line()}")
    print(f"machine: {machine()}; commit {commit()}")
    print(
        f"window: {args.warmup:g} s warm-up, {args.duration:g} s measured; interval {INTERVAL} s,"
        f" timeout {TIMEOUT} s, uptime-sla metrics.sla_refresh {args.sla_refresh}, nginx 1 worker, TLS 1.3, fresh connection per probe\n"
    )
    rows = []
    for n, by_tool in figures.items():
        u, b = by_tool["uptime-sla"], by_tool.get("blackbox")
        ratio = (
            f"{u['cpu_per_1000'] / b['cpu_per_1000']:.2f}x"
            if b and b["cpu_per_1000"]
            else "not measured"
        )
        rows.append(
            [
                f"{n:,} x 2",
                f"{u['expected_rate']:.0f}",
                f"{u['rate']:.1f}",
                f"{u['failures_total']:.0f}",
                f"{u['cpu_per_1000']:.2f}",
                u["lag_p50"],
                u["lag_p99"],
                f"{u['rss']:.0f}",
                f"{b['rate']:.1f}" if b else "-",
                f"{b['cpu_per_1000']:.2f}" if b else "not measured",
                f"{b['rss']:.0f}" if b else "-",
                ratio,
            ]
        )
    print(
        table(
            [
                "targets x families",
                "due probes/s",
                "uptime-sla probes/s",
                "uptime-sla failed (cumulative)",
                "uptime-sla CPU s / 1k probes",
                "lag p50",
                "lag p99",
                "uptime-sla peak RSS MiB",
                "blackbox probes/s",
                "blackbox CPU s / 1k probes",
                "blackbox peak RSS MiB",
                "ratio uptime-sla / blackbox",
            ],
            rows,
        )
    )
    if args.profile:
        n = max(args.targets)
        print(f"\npy-spy of uptime-sla at N={n} ({args.profile:g} s, top frames by own samples):")
        print(summarise_profile(work / f"py-spy-{n}.txt"))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1, default=str))
        for raw in work.glob("py-spy-*.txt"):
            shutil.copy(raw, args.json.with_name(args.json.stem + "-" + raw.name))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
