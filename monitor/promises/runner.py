"""The promise checks and webhook receivers inside `uptime-sla run`, beside the probes.

`PromiseEngine` is the work: the check schedule, the receivers (uvicorn) and the recorder
on one event loop. `run` gives it a process of its own (`PromiseProcess`): a thread would
share the interpreter lock with the probes' loop, and the checks' TLS handshakes and
database writes then showed up in the probes' schedule lag (1.29x at 1,000 targets x 2
families checked every minute, bench/bench_promise_lag.py). The process sends its metric
updates back over a queue; the probes hand it their 429s the same way (a put each).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import queue
import signal
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from monitor.config import Config, split_listen
from monitor.errors import MonitorError
from monitor.metrics.promises import Counts, PromiseMetrics
from monitor.probing.probe import Prober, Resolver, system_resolver
from monitor.probing.results import ProbeResult
from monitor.promises.checks import Outcome, PromiseChecks, retry_after_outcome
from monitor.promises.receivers import WebhookReceiver, receiver_app
from monitor.promises.recorder import CheckRecorder
from monitor.promises.schedule import PromiseScheduler
from monitor.store import Store

log = logging.getLogger(__name__)

FLUSH_SECONDS = 5.0  # how often check runs reach the database
NICENESS = 10  # the process's scheduling priority below the probes' (CFS: ~1/10 the weight)
SEND_SECONDS = 0.25  # how often the process sends its metric updates to `run`'s
START_SECONDS = 120.0  # the most the process may take to start (imports on a busy host)
# What the process may ask of the parent's collector (and nothing else).
UPDATES = frozenset({"check", "delivery", "duplicate", "latency", "retry_delay"})


def promise_metrics(config: Config) -> PromiseMetrics:
    """The collector, with every receiver's series ready at zero."""
    return PromiseMetrics(
        {r.name: (r.promise.within, r.promise.retries) for r in config.webhook_receivers}
    )


def needed(config: Config) -> bool:
    return bool(config.webhook_receivers) or any(t.promises for t in config.targets)


class PromiseEngine:
    """Checks, receivers and recorder on one event loop. `bind()` first (a taken port is a
    MonitorError naming its key), then `serve(stop)`; `start_thread()` does both on a
    thread of its own (tests, and whoever wants them in-process)."""

    def __init__(
        self,
        config: Config,
        store: Store,
        counts: Counts,
        clock: Callable[[], datetime],
        *,
        resolver: Resolver = system_resolver,
        concurrency: int = 8,
    ) -> None:
        self._config = config
        self._clock = clock
        self._resolver = resolver
        self._concurrency = concurrency
        self._targets = [t for t in config.targets if t.promises is not None]
        self._watch = watched_targets(config)
        self.recorder = CheckRecorder(store, counts, config.location, config.sla.zone)
        self.receivers = [
            WebhookReceiver(r, store, counts, clock) for r in config.webhook_receivers
        ]
        self._listeners: list[tuple[socket.socket, list[WebhookReceiver]]] = []
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    def observe(self, result: ProbeResult) -> None:
        """A probe result sink (in-process): each 429 is a Retry-After check."""
        outcome = watched_429(self._watch, result)
        if outcome is not None:
            self.recorder.record(outcome)

    def bind(self) -> None:
        """Every listener a receiver names, bound now: a port taken is a config problem."""
        by_listen: dict[str, list[WebhookReceiver]] = {}
        keys: dict[str, str] = {}
        for i, receiver in enumerate(self.receivers):
            listen = receiver.settings.listen
            if listen is None:
                # Served on the subscription service's listener, in the monitor's own
                # process (monitor.service mounts receiver_routes() there).
                continue
            by_listen.setdefault(listen, []).append(receiver)
            keys.setdefault(listen, f"webhook_receivers[{i}].listen")
        for listen, receivers in by_listen.items():
            host, port = split_listen(listen)
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            try:
                sock = socket.create_server((host, port), family=family, reuse_port=False)
            except OSError as exc:
                self.close()
                raise MonitorError(
                    f"{keys[listen]}: cannot listen on {listen}: {exc.strerror or exc}"
                ) from None
            self._listeners.append((sock, receivers))

    def close(self) -> None:
        for sock, _ in self._listeners:
            sock.close()
        self._listeners = []

    async def serve(self, stop: asyncio.Event) -> None:
        """Until `stop` is set; then the receivers finish and the check runs are stored."""
        import uvicorn  # noqa: PLC0415 (only `run` serves: the command line starts faster)

        prober = Prober(location=self._config.location, now=self._clock, resolver=self._resolver)
        scheduler = PromiseScheduler(
            self._targets,
            PromiseChecks(prober, self._clock),
            self.recorder.record,
            concurrency=self._concurrency,
        )
        servers = [
            uvicorn.Server(
                uvicorn.Config(
                    receiver_app(receivers),
                    lifespan="off",
                    log_level="warning",
                    access_log=False,
                    server_header=False,
                )
            )
            for _, receivers in self._listeners
        ]
        tasks = [
            asyncio.create_task(scheduler.run(stop)),
            asyncio.create_task(self._flush_now_and_then(stop)),
            *(
                asyncio.create_task(server.serve(sockets=[sock]))
                for server, (sock, _) in zip(servers, self._listeners, strict=True)
            ),
        ]
        try:
            await stop.wait()
        finally:
            for server in servers:
                server.should_exit = True
            await asyncio.gather(*tasks, return_exceptions=True)
            await prober.aclose()
            self.close()
            await asyncio.to_thread(self.recorder.flush)

    async def _flush_now_and_then(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=FLUSH_SECONDS)
            await asyncio.to_thread(self.recorder.flush)

    # --- on a thread of its own ---------------------------------------------------------

    def start_thread(self) -> None:
        self.bind()
        ready = threading.Event()

        async def main() -> None:
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            ready.set()
            await self.serve(self._stop)

        def run() -> None:
            try:
                asyncio.run(main())
            finally:
                ready.set()

        self._thread = threading.Thread(target=run, name="uptime-sla-promises", daemon=True)
        self._thread.start()
        ready.wait(timeout=30)

    def stop_thread(self) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop ended already
                loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join(timeout=30)


def watched_targets(config: Config) -> frozenset[str]:
    """The targets whose 429s are Retry-After checks."""
    return frozenset(
        t.name for t in config.targets if t.promises is not None and t.promises.retry_after_on_429
    )


def watched_429(watch: frozenset[str], result: ProbeResult) -> Outcome | None:
    """A probe's 429 as a Retry-After check, when its target is watched (a set look-up:
    this runs in the probes' loop)."""
    if result.status_code != 429 or result.target not in watch:
        return None
    return retry_after_outcome(result, result.started)


# --- in a process of its own ------------------------------------------------------------


class _QueuedCounts:
    """The child's side of the parent's PromiseMetrics: updates gathered and sent as one
    batch every SEND_SECONDS, so the probes' process unpickles a few messages a second,
    not one per check (a hundred a second at 1,000 targets x 2 families every minute)."""

    def __init__(self, updates: Any) -> None:
        self._updates = updates
        self._lock = threading.Lock()
        self._batch: list[tuple[str, tuple[Any, ...]]] = []

    def __getattr__(self, name: str) -> Callable[..., None]:
        if name not in UPDATES:
            raise AttributeError(name)

        def add(*args: Any) -> None:
            with self._lock:
                self._batch.append((name, args))

        return add

    def send(self) -> None:
        with self._lock:
            batch, self._batch = self._batch, []
        if batch:
            self._updates.put(("batch", batch))

    async def send_now_and_then(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=SEND_SECONDS)
            self.send()


def _child(config: Config, updates: Any, commands: Any, level: int) -> None:
    """The process: the engine until the parent says stop (or goes away)."""
    parent = os.getppid()
    # Ctrl-C and a service manager's SIGTERM reach the whole process group: stopping is the
    # parent's to order, after the probes, so the last check runs are stored.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with contextlib.suppress(OSError):
        os.nice(NICENESS)  # the probes' process gets the CPU first when both want it
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s (promises): %(message)s"
    )
    for noisy in ("httpx", "httpcore", "alembic", "uvicorn.error"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    store = None
    try:
        store = Store(config.storage.url, rollup_seconds=int(config.sla.slice), create=False)
        counts = _QueuedCounts(updates)
        engine = PromiseEngine(config, store, counts, lambda: datetime.now(UTC))
        engine.bind()
    except MonitorError as exc:
        updates.put(("error", (str(exc),)))
        if store is not None:
            store.close()
        return

    async def main() -> None:
        loop, stop = asyncio.get_running_loop(), asyncio.Event()

        def listen() -> None:  # the parent's 429s, and its word to stop
            while True:
                try:
                    kind, payload = commands.get(timeout=1.0)
                except queue.Empty:
                    if os.getppid() == parent:
                        continue
                    kind, payload = "stop", None  # the parent is gone (killed)
                except (EOFError, OSError):
                    kind, payload = "stop", None
                if kind == "outcome":
                    engine.recorder.record(payload)
                    continue
                loop.call_soon_threadsafe(stop.set)
                return

        threading.Thread(target=listen, name="promises-commands", daemon=True).start()
        updates.put(("ready", ()))
        sender = asyncio.create_task(counts.send_now_and_then(stop))
        await engine.serve(stop)
        await sender

    try:
        asyncio.run(main())
    finally:
        store.close()
        counts.send()  # the last checks' counts, stored by serve()'s final flush
        updates.put(("stopped", ()))


class PromiseProcess:
    """`run`'s side of the promise process: starts it (a bind error is a MonitorError here,
    before probing starts), applies its metric updates, hands it the probes' 429s."""

    def __init__(self, config: Config, metrics: PromiseMetrics) -> None:
        self._watch = watched_targets(config)
        self._metrics = metrics
        context = multiprocessing.get_context("spawn")  # never fork a process with threads
        self._updates = context.Queue()
        self._commands = context.Queue()
        self._process = context.Process(
            target=_child,
            args=(config, self._updates, self._commands, logging.getLogger().getEffectiveLevel()),
            name="uptime-sla-promises",
            daemon=True,
        )
        self._reader: threading.Thread | None = None

    def start(self) -> None:
        self._process.start()
        kind, payload = "error", ("promise checks: the process did not start in time",)
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            try:
                kind, payload = self._updates.get(timeout=0.5)
                break
            except queue.Empty:
                if not self._process.is_alive():
                    kind, payload = "error", ("promise checks: the process ended at start",)
                    break
        if kind != "ready":
            self._process.join(timeout=10)
            raise MonitorError(payload[0] if payload else "promise checks did not start")
        self._reader = threading.Thread(target=self._read, name="promises-updates", daemon=True)
        self._reader.start()

    def observe(self, result: ProbeResult) -> None:
        """A probe result sink: a 429 of a watched target goes to the process (a put)."""
        outcome = watched_429(self._watch, result)
        if outcome is not None:
            self._commands.put(("outcome", outcome))

    def stop(self) -> None:
        """The process stores what it has and exits; its last updates are applied."""
        if self._process.is_alive():
            self._commands.put(("stop", None))
            self._process.join(timeout=30)
        if self._process.is_alive():
            log.warning("promise checks: the process did not stop in time; terminated")
            self._process.terminate()
            self._process.join(timeout=5)
        if self._reader is not None:
            self._reader.join(timeout=5)
        self._commands.close()
        self._updates.close()

    def _read(self) -> None:
        while True:
            try:
                kind, args = self._updates.get(timeout=1.0)
            except queue.Empty:
                if not self._process.is_alive():
                    log.error("promise checks: the process ended (exit %s)", self._process.exitcode)
                    return
                continue
            except (EOFError, OSError):
                return
            if kind == "stopped":
                return
            if kind == "batch":
                for name, values in args:
                    if name in UPDATES:
                        getattr(self._metrics, name)(*values)
