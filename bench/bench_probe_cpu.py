"""CPU time per probe of the prober against a local HTTPS server (full TCP + TLS 1.3 each time).

The server runs in a child process, so time.process_time() counts only the prober's work.
Figures: sequential probes, then the same number in batches of concurrent probes.

Run: .venv/bin/python bench/bench_probe_cpu.py [PROBES] [CONCURRENCY]   (default 500 50)
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from monitor.config import Target
from monitor.probe import Prober


def serve(pipe: Connection) -> None:
    """Child process: one loopback HTTPS server until the parent says stop."""
    from support.https import HttpsServer

    with HttpsServer() as server:
        pipe.send((server.port, server.ca_file, server.target_fields("/v1/health")))
        pipe.recv()


async def measure(target: Target, family: str, probes: int, concurrency: int) -> None:
    async with Prober("bench") as prober:
        for _ in range(20):  # warm up: client, SSL context, imports
            await prober.probe(target, family)

        cpu0, wall0 = time.process_time(), time.perf_counter()
        results = [await prober.probe(target, family) for _ in range(probes)]
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        report(f"{family} sequential", results, probes, cpu, wall)

        cpu0, wall0 = time.process_time(), time.perf_counter()
        results = []
        for _ in range(probes // concurrency):
            batch = [prober.probe(target, family) for _ in range(concurrency)]
            results += await asyncio.gather(*batch)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        report(f"{family} {concurrency} at a time", results, len(results), cpu, wall)


def report(label: str, results: list, probes: int, cpu: float, wall: float) -> None:
    failed = sum(not r.success for r in results)
    print(
        f"{label:>22}: {probes} probes, {failed} failed, "
        f"CPU {cpu * 1000 / probes:.2f} ms/probe, wall {wall * 1000 / probes:.2f} ms/probe"
    )


def main() -> None:
    probes = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    concurrency = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.get_context("spawn").Process(target=serve, args=(child,))
    server.start()
    try:
        _port, _ca_file, fields = parent.recv()
        target = Target(name="bench", timeout=10, body_contains='"status":"ok"', **fields)
        print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
        for family in ("ipv4", "ipv6"):
            asyncio.run(measure(target, family, probes, concurrency))
    finally:
        parent.send("stop")
        server.join(timeout=10)


if __name__ == "__main__":
    main()
