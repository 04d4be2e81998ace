"""Running `uptime-sla` as a real subprocess, and reading its /metrics."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

# How long a test waits for what must happen (a monitor up, a probe stored, a message sent):
# far longer than that takes on a busy machine, where the suite's parallel workers and other
# jobs share two cores, so that only what never happens runs into it. A passing test never
# waits this long; it only bounds how long a failing one takes to say so.
PATIENCE = 120.0
SCRAPE_TIMEOUT = 30.0  # one /metrics answer; at 1,000 series a busy monitor takes seconds


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scrape(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of /metrics as {(name, labels): value}."""
    with urllib.request.urlopen(
        f"http://127.0.0.1:{port}/metrics", timeout=SCRAPE_TIMEOUT
    ) as response:
        text = response.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def metrics_text(port: int) -> str:
    with urllib.request.urlopen(
        f"http://127.0.0.1:{port}/metrics", timeout=SCRAPE_TIMEOUT
    ) as response:
        return response.read().decode()


def memory_mb(pid: int, field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of a live process, from /proc/PID/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name == field:
            return int(value.split()[0]) / 1024  # kB
    raise KeyError(field)


def wait_for(condition: Callable[[], bool], timeout: float = PATIENCE, every: float = 0.2) -> None:
    """Poll `condition` until it holds; fail after `timeout` (an OSError counts as not yet)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except OSError:
            pass
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout} s")


@contextmanager
def ahead_of_other_jobs(nice: int = -10) -> Iterator[None]:
    """This thread, and the threads and processes it starts meanwhile (a test's servers, the
    monitor under test), run at a higher priority than the rest of the suite (its parallel
    workers) and this session's other jobs: for a test that needs a steady share of the CPU
    to judge what it owns (whether hostile targets hold healthy ones back), not whether the
    machine is busy. Other sessions' jobs keep their fair share whatever this does (Linux
    shares the CPU between sessions first, `sched_autogroup`). Only root may raise a
    priority; elsewhere the test runs at its usual one."""
    before = os.getpriority(os.PRIO_PROCESS, 0)  # Linux: 0 is this thread
    with suppress(PermissionError):
        os.setpriority(os.PRIO_PROCESS, 0, nice)
    try:
        yield
    finally:
        os.setpriority(os.PRIO_PROCESS, 0, before)


class Monitor:
    """`uptime-sla -c CONFIG run` in the background; stop() sends SIGTERM and waits."""

    def __init__(self, config: Path, env: dict[str, str] | None = None) -> None:
        self.log = config.with_suffix(".log")
        self._log_file = self.log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "monitor", "-c", str(config), "run"],
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        finally:
            self._log_file.close()

    def output(self) -> str:
        return self.log.read_text()
