"""CPU per probe of the prober and of blackbox_exporter, side by side, against one local nginx.

nginx (Debian's, 1 worker, TLS 1.3 only, no session cache or tickets, `keepalive_timeout 0`:
benchlib.Nginx, as bench_capacity.py) serves /t/1 on 127.0.0.1 and [::1]. Every probe is
a fresh TCP connection and TLS 1.3 handshake. Per round, in turn:

- each prober variant, in a child process of its own (so nothing else counts: its
  `time.process_time()` around the probes): PROBES probes of one target, CONCURRENCY at a
  time, families alternating (half each), after a warm-up. A variant is a source tree x an
  event loop (`--tree`, `--loop`), so two commits or two loops are measured interleaved on
  the same server;
- blackbox_exporter (Debian's `prometheus-blackbox-exporter`, one process for the whole run,
  modules `ip4` / `ip6` as bench_capacity.py configures them): the same number of probes
  through /probe, CONCURRENCY at a time from threads of this process (kept-alive HTTP
  connections, as Prometheus scrapes), its CPU from /proc.

Prints every run and the medians per variant (and the ratio to the exporter's median).

Run: .venv/bin/python bench/bench_probe_cpu.py [--probes 4000] [--concurrency 16] [--rounds 5]
     [--loop asyncio uvloop] [--tree LABEL=DIR ...] [--skip-blackbox] [--profile DIR]
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (
    PYTHON,
    ROOT,
    binary,
    command_line,
    commit,
    free_port,
    local_nginx,
    machine,
    process_cpu,
    stop,
    table,
    wait_for,
)

WARM_UP = 200
FAMILIES = ("ipv4", "ipv6")
ADDRESS = {"ipv4": "127.0.0.1", "ipv6": "[::1]"}


# --- the prober, in a child process -------------------------------------------------------


def child(spec: dict[str, object]) -> None:
    """Measure one variant; print its figures as one JSON line."""
    import asyncio

    from monitor.config import Target
    from monitor.probing.probe import Prober

    target = Target(
        name="bench",
        url=f"https://api.test:{spec['port']}/t/1",
        timeout=5,
        ca_file=str(spec["ca_file"]),
        resolve={"ipv4": ["127.0.0.1"], "ipv6": ["::1"]},
    )
    concurrency, probes = int(spec["concurrency"]), int(spec["probes"])  # type: ignore[call-overload]

    async def batch(prober: Prober, n: int) -> tuple[int, int]:
        jobs = iter(range(n))
        failed = done = 0

        async def worker() -> None:
            nonlocal failed, done
            for i in jobs:
                result = await prober.probe(target, FAMILIES[i % 2])
                done += 1
                failed += not result.success
                if not result.success and failed == 1:
                    print(f"first failure: {result.reason} {result.detail}", file=sys.stderr)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return done, failed

    async def measure() -> dict[str, float]:
        async with Prober("bench") as prober:
            await batch(prober, WARM_UP)
            cpu0, wall0 = time.process_time(), time.perf_counter()
            done, failed = await batch(prober, probes)
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        return {"probes": done, "failed": failed, "cpu_ms": cpu * 1000 / done, "wall": wall}

    if spec["loop"] == "uvloop":
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            figures = runner.run(measure())
    else:
        with asyncio.Runner() as runner:
            figures = runner.run(measure())
    print(json.dumps(figures))


def run_child(tree: Path, spec: dict[str, object], profile: Path | None = None) -> dict[str, float]:
    """One child run; with `profile`, under py-spy (raw collapsed stacks written there)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    spy = []
    if profile is not None:
        exe = shutil.which("py-spy") or str(Path(PYTHON).parent / "py-spy")
        spy = [exe, "record", "--rate", "200", "--format", "raw", "--nonblocking"]
        spy += ["--output", str(profile), "--"]
    out = subprocess.run(
        [*spy, PYTHON, __file__, "--child", json.dumps(spec)],
        env=env,
        cwd=tree,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"child failed ({tree}):\n{out.stderr}")
    if out.stderr:
        print(out.stderr.strip(), file=sys.stderr)
    figures = [line for line in out.stdout.splitlines() if line.startswith("{")]  # not py-spy's
    return json.loads(figures[-1])


@dataclass(frozen=True)
class Variant:
    """One way of running the prober: a source tree and an event loop."""

    label: str
    tree: Path
    loop: str

    @property
    def name(self) -> str:
        return f"{self.label}, {self.loop} loop"

    def run(
        self, server: tuple[int, Path], args: argparse.Namespace, profile: Path | None = None
    ) -> dict[str, float]:
        port, ca_file = server
        spec = {"port": port, "ca_file": str(ca_file), "probes": args.probes}
        spec.update(concurrency=args.concurrency, loop=self.loop)
        return run_child(self.tree, spec, profile)


# Where a probe's CPU goes, by layer: each sample counts once, in the first row whose test
# its stack (frames "function (file:line)", innermost last) passes. BENCHMARKS.md, section 1.
LAYERS: list[tuple[str, Callable[[list[str]], bool]]] = [
    ("`SSLObject.do_handshake` (OpenSSL's TLS handshake)", lambda s: "do_handshake" in s[-1]),
    (
        "interpreter start-up and imports (outside the timed window)",
        lambda s: any("importlib._bootstrap" in f for f in s),
    ),
    (
        "under httpcore (pool, connection, tracing, its use of h11 and streams)",
        lambda s: any("httpcore/" in f for f in s),
    ),
    ("under h11 (parsing and writing the one exchange)", lambda s: any("h11/" in f for f in s)),
    (
        "uvloop's own C code (seen as `Runner.run`)",
        lambda s: s[-1].startswith("Runner.run ") and not any("base_events.py" in f for f in s),
    ),
    (
        "asyncio in Python: loop, selector, transports, `SSLProtocol`, streams",
        lambda s: "asyncio/" in s[-1] or "selectors.py" in s[-1],
    ),
    ("the rest of `ssl.py` (read, `getpeercert`), the prober's own lines, other", lambda s: True),
]


def layers(path: Path) -> str:
    """The samples of a py-spy raw file by LAYERS."""
    counts = dict.fromkeys((name for name, _ in LAYERS), 0)
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if count.isdigit():
            frames = stack.split(";")
            name = next(name for name, test in LAYERS if test(frames))
            counts[name] += int(count)
    total = sum(counts.values()) or 1
    rows = [[name, f"{n:,} ({n / total:.1%})"] for name, n in counts.items()]
    return table(["layer", f"samples of {total:,}"], rows)


def profile(
    out: Path, variants: list[Variant], server: tuple[int, Path], args: argparse.Namespace
) -> None:
    """One run of each variant under py-spy, summarised (bench_capacity's table)."""
    from bench_capacity import summarise_profile

    out.mkdir(parents=True, exist_ok=True)
    for variant in variants:
        raw = out / f"py-spy-{variant.label}-{variant.loop}.txt".replace(" ", "-")
        variant.run(server, args, raw)
        print(f"\npy-spy of {variant.name} ({raw}):")
        print(summarise_profile(raw, top=25))
        print(f"\nby layer:\n{layers(raw)}", flush=True)


# --- blackbox_exporter ---------------------------------------------------------------------


class Blackbox:
    """One blackbox_exporter for the whole run; `measure()` drives it and reads its CPU."""

    def __init__(self, work: Path, port: int, ca_file: Path) -> None:
        exe = binary("prometheus-blackbox-exporter", "blackbox_exporter")
        if exe is None:
            raise SystemExit(
                "blackbox_exporter not found: apt-get install prometheus-blackbox-exporter"
            )
        modules = "".join(
            f"""  {family}:
    prober: http
    timeout: 5s
    http:
      preferred_ip_protocol: {ip}
      ip_protocol_fallback: false
      fail_if_not_ssl: true
      valid_status_codes: [200]
      tls_config: {{ca_file: "{ca_file}", server_name: api.test}}
"""
            for family, ip in (("ipv4", "ip4"), ("ipv6", "ip6"))
        )
        config = work / "blackbox.yml"
        config.write_text("modules:\n" + modules)
        self.listen = free_port()
        self.target_port = port
        self.process = subprocess.Popen(
            [exe, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{self.listen}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(
            lambda: self._get(http.client.HTTPConnection("127.0.0.1", self.listen), "/metrics")
        )

    def _get(self, conn: http.client.HTTPConnection, path: str) -> str:
        conn.request("GET", path)
        return conn.getresponse().read().decode()

    def _drive(self, n: int, concurrency: int) -> tuple[int, int]:
        jobs = iter(range(n))
        lock = threading.Lock()
        counts = [0, 0]  # done, failed

        def worker() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", self.listen, timeout=30)
            while True:
                with lock:
                    i = next(jobs, None)
                if i is None:
                    break
                family = FAMILIES[i % 2]
                url = f"https://{ADDRESS[family]}:{self.target_port}/t/1"
                body = self._get(conn, f"/probe?module={family}&target={url}")
                with lock:
                    counts[0] += 1
                    counts[1] += "probe_success 1" not in body
            conn.close()

        threads = [threading.Thread(target=worker) for _ in range(concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return counts[0], counts[1]

    def measure(self, probes: int, concurrency: int) -> dict[str, float]:
        self._drive(WARM_UP, concurrency)
        cpu0, wall0 = process_cpu(self.process.pid), time.perf_counter()
        done, failed = self._drive(probes, concurrency)
        cpu, wall = process_cpu(self.process.pid) - cpu0, time.perf_counter() - wall0
        return {"probes": done, "failed": failed, "cpu_ms": cpu * 1000 / done, "wall": wall}

    def close(self) -> None:
        stop(self.process)


# --- the run --------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--probes", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--loop", nargs="+", choices=["asyncio", "uvloop"], default=["asyncio"])
    parser.add_argument(
        "--tree",
        action="append",
        default=[],
        metavar="LABEL=DIR",
        help="a source tree to measure (e.g. a `git worktree` of another commit); default: this one",
    )
    parser.add_argument("--skip-blackbox", action="store_true")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="first, one extra run of each variant under py-spy (not counted): raw stacks"
        " and a summary of the hottest frames into DIR",
    )
    args = parser.parse_args()
    if args.child:
        child(json.loads(args.child))
        return

    trees = [
        (label, Path(path).resolve()) for label, _, path in (t.partition("=") for t in args.tree)
    ]
    trees = trees or [("this tree", ROOT)]
    variants = [
        Variant(label, tree, loop) for (label, tree), loop in itertools.product(trees, args.loop)
    ]
    work, ca_file, nginx = local_nginx("bench-probe-cpu-")
    blackbox = None if args.skip_blackbox else Blackbox(work, nginx.port, ca_file)
    runs: dict[str, list[dict[str, float]]] = {}
    load = [os.getloadavg()[0]]
    try:
        if args.profile:
            profile(args.profile, variants, (nginx.port, ca_file), args)
        for round_ in range(args.rounds):
            for variant in variants:
                figures = variant.run((nginx.port, ca_file), args)
                runs.setdefault(variant.name, []).append(figures)
                print(f"round {round_ + 1} {variant.name}: {figures}", flush=True)
            if blackbox is not None:
                figures = blackbox.measure(args.probes, args.concurrency)
                runs.setdefault("blackbox_exporter", []).append(figures)
                print(f"round {round_ + 1} blackbox_exporter: {figures}", flush=True)
            load.append(os.getloadavg()[0])
    finally:
        if blackbox is not None:
            blackbox.close()
        nginx.close()
        shutil.rmtree(work, ignore_errors=True)

    print(f"\ncommand: {command_line()}")
    print(f"machine: {machine()}; commit {commit()}")
    print(f"load average (1 min) during the run: {min(load):.1f}-{max(load):.1f}")
    print(
        f"{args.probes} probes a run, {args.concurrency} at a time, families alternating;"
        f" {args.rounds} rounds, variants interleaved; nginx 1 worker, TLS 1.3, fresh connection"
        " per probe\n"
    )
    exporter = runs.get("blackbox_exporter")
    reference = statistics.median(r["cpu_ms"] for r in exporter) if exporter else None
    rows = []
    for name, figures in runs.items():
        cpu = [f["cpu_ms"] for f in figures]
        median = statistics.median(cpu)
        rows.append(
            [
                name,
                f"**{median:.2f}**",
                ", ".join(f"{c:.2f}" for c in cpu),
                f"{sum(f['failed'] for f in figures):.0f}",
                f"{median / reference:.2f}x" if reference else "-",
            ]
        )
    print(
        table(
            ["variant", "CPU ms / probe, median", "each round", "failed", "/ blackbox_exporter"],
            rows,
        )
    )


if __name__ == "__main__":
    main()
