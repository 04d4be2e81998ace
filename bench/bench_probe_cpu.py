"""CPU time per probe of the prober against a local HTTPS server (full TCP + TLS 1.3 each time).

The server runs in a child process, so time.process_time() counts only the prober's work.
Figures: sequential probes, then the same number in batches of concurrent probes. When a
blackbox_exporter binary is found ($BLACKBOX_EXPORTER, or prometheus-blackbox-exporter /
blackbox_exporter on PATH), it probes the same server the same number of times, driven
through its /probe endpoint as Prometheus would, and its CPU (from /proc) is printed too.

`--backend` picks the prober's network backend: `asyncio` (its default, `AsyncioBackend`),
`anyio` (httpcore's own), or `both`, measured in turns (`--rounds` times each, interleaved,
so a busy machine slows both alike).

Run: .venv/bin/python bench/bench_probe_cpu.py [PROBES] [CONCURRENCY] [--backend both]
     [--rounds 3]   (default 500 50, asyncio, 1 round)
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import httpcore

from monitor.config import Target
from monitor.probing.probe import AsyncioBackend, Prober
from monitor.probing.results import ProbeResult

WARM_UP = 20
BACKENDS = {"asyncio": AsyncioBackend, "anyio": httpcore.AnyIOBackend}


def serve(pipe: Connection) -> None:
    """Child process: one loopback HTTPS server until the parent says stop."""
    from support.https import HttpsServer  # tests/ is on sys.path; only the child serves

    with HttpsServer() as server:
        pipe.send((server.port, server.ca_file, server.target_fields("/v1/health")))
        pipe.recv()


async def measure(target: Target, family: str, probes: int, concurrency: int, backend: str) -> None:
    async with Prober("bench", network_backend=BACKENDS[backend]()) as prober:
        for _ in range(WARM_UP):  # client, SSL context, imports
            await prober.probe(target, family)

        cpu0, wall0 = time.process_time(), time.perf_counter()
        results = [await prober.probe(target, family) for _ in range(probes)]
        report(f"{backend} {family} sequential", results, time.process_time() - cpu0, wall0)

        cpu0, wall0 = time.process_time(), time.perf_counter()
        results = []
        for _ in range(max(1, probes // concurrency)):
            batch = [prober.probe(target, family) for _ in range(concurrency)]
            results += await asyncio.gather(*batch)
        cpu = time.process_time() - cpu0
        report(f"{backend} {family} {concurrency} at a time", results, cpu, wall0)


def report(label: str, results: list[ProbeResult], cpu: float, wall0: float) -> None:
    n = len(results)
    failed = sum(not r.success for r in results)
    wall = time.perf_counter() - wall0
    print(
        f"{label:>32}: {n} probes, {failed} failed, "
        f"CPU {cpu * 1000 / n:.2f} ms/probe, wall {wall * 1000 / n:.2f} ms/probe"
    )


def blackbox(port: int, ca_file: str, probes: int) -> None:
    """The same probes by blackbox_exporter, for comparison (skipped when not installed)."""
    binary = (
        os.environ.get("BLACKBOX_EXPORTER")
        or shutil.which("prometheus-blackbox-exporter")
        or shutil.which("blackbox_exporter")
    )
    if not binary:
        print("blackbox_exporter not found: set BLACKBOX_EXPORTER to compare")
        return
    body_check = 'fail_if_body_not_matches_regexp: [\'"status":"ok"\']'
    modules = "".join(
        f"""  {name}:
    prober: http
    timeout: 10s
    http:
      preferred_ip_protocol: {ip}
      ip_protocol_fallback: false
      {body_check}
      tls_config: {{ca_file: "{ca_file}", server_name: api.test}}
"""
        for name, ip in (("ipv4", "ip4"), ("ipv6", "ip6"))
    )
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "blackbox.yml"
        config.write_text("modules:\n" + modules)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            listen = f"127.0.0.1:{s.getsockname()[1]}"
        process = subprocess.Popen(
            [binary, f"--config.file={config}", f"--web.listen-address={listen}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until_up(f"http://{listen}/metrics")
            for family, address in (("ipv4", "127.0.0.1"), ("ipv6", "[::1]")):
                url = (
                    f"http://{listen}/probe?module={family}"
                    f"&target=https://{address}:{port}/v1/health"
                )
                for _ in range(WARM_UP):
                    fetch(url)
                cpu0, wall0 = process_cpu(process.pid), time.perf_counter()
                ok = sum("probe_success 1" in fetch(url) for _ in range(probes))
                cpu = process_cpu(process.pid) - cpu0
                wall = time.perf_counter() - wall0
                print(
                    f"{'blackbox_exporter ' + family + ' sequential':>32}: {probes} probes, "
                    f"{probes - ok} failed, CPU {cpu * 1000 / probes:.2f} ms/probe, "
                    f"wall {wall * 1000 / probes:.2f} ms/probe"
                )
        finally:
            process.terminate()
            process.wait(timeout=10)


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=15) as response:
        return response.read().decode()


def wait_until_up(url: str) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            fetch(url)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("probes", type=int, nargs="?", default=500)
    parser.add_argument("concurrency", type=int, nargs="?", default=50)
    parser.add_argument("--backend", choices=[*BACKENDS, "both"], default="asyncio")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    probes, concurrency = args.probes, args.concurrency
    backends = list(BACKENDS) if args.backend == "both" else [args.backend]
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.get_context("spawn").Process(target=serve, args=(child,))
    server.start()
    try:
        port, ca_file, fields = parent.recv()
        target = Target(name="bench", timeout=10, body_contains='"status":"ok"', **fields)
        print(
            f"command: .venv/bin/python bench/bench_probe_cpu.py {probes} {concurrency} "
            f"--backend {args.backend} --rounds {args.rounds}"
        )
        for _ in range(args.rounds):
            for backend in backends:
                for family in ("ipv4", "ipv6"):
                    asyncio.run(measure(target, family, probes, concurrency, backend))
        blackbox(port, ca_file, probes)
    finally:
        parent.send("stop")
        server.join(timeout=10)


if __name__ == "__main__":
    main()
