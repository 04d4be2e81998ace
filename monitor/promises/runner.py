"""The promise checks and webhook receivers inside `uptime-sla run`, beside the probes.

They run on a thread of their own with its own event loop: a slow handshake, a plaintext
port that never answers, a database write of a delivery or a burst of webhooks never
waits in the probes' loop (the schedule lag benchmark, bench/bench_promise_lag.py, holds
it). The probes hand over only their 429s (`observe`, a dict update).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from datetime import datetime

import uvicorn

from monitor.config import Config, split_listen
from monitor.errors import MonitorError
from monitor.metrics.promises import PromiseMetrics
from monitor.probing.probe import Prober, Resolver, system_resolver
from monitor.probing.results import ProbeResult
from monitor.promises.checks import PromiseChecks, retry_after_outcome
from monitor.promises.receivers import WebhookReceiver, receiver_app
from monitor.promises.recorder import CheckRecorder
from monitor.promises.schedule import PromiseScheduler
from monitor.store import Store

log = logging.getLogger(__name__)

FLUSH_SECONDS = 5.0  # how often check runs reach the database


def promise_metrics(config: Config) -> PromiseMetrics:
    """The collector, with every receiver's series ready at zero."""
    return PromiseMetrics(
        {r.name: (r.promise.within, r.promise.retries) for r in config.webhook_receivers}
    )


class PromiseService:
    """Start with `start()` (binds every receiver's listener first: a taken port is a
    MonitorError naming its config key), stop with `stop()`."""

    def __init__(
        self,
        config: Config,
        store: Store,
        metrics: PromiseMetrics,
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
        self._watch_429 = {
            t.name
            for t in self._targets
            if t.promises is not None and t.promises.retry_after_on_429
        }
        self.recorder = CheckRecorder(store, metrics, config.location, config.sla.zone)
        self.receivers = [
            WebhookReceiver(r, store, metrics, clock) for r in config.webhook_receivers
        ]
        self._listeners: list[tuple[socket.socket, list[WebhookReceiver]]] = []
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()

    @property
    def needed(self) -> bool:
        return bool(self._targets or self.receivers)

    def observe(self, result: ProbeResult) -> None:
        """A probe result sink: each 429 of a watched target is a Retry-After check."""
        if result.status_code == 429 and result.target in self._watch_429:
            outcome = retry_after_outcome(result, result.started)
            if outcome is not None:
                self.recorder.record(outcome)

    def start(self) -> None:
        self._bind()
        self._thread = threading.Thread(target=self._main, name="uptime-sla-promises", daemon=True)
        self._thread.start()
        self._ready.wait(timeout=30)

    def stop(self) -> None:
        """Stop the checks and receivers, then store every check run not stored yet."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop ended already
                loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join(timeout=30)
        for sock, _ in self._listeners:
            sock.close()
        self.recorder.flush()

    def _bind(self) -> None:
        """Every listener a receiver names, bound now: a port taken is a config problem."""
        by_listen: dict[str, list[WebhookReceiver]] = {}
        keys: dict[str, str] = {}
        for i, receiver in enumerate(self.receivers):
            listen = receiver.settings.listen
            if listen is None:
                # Shared with the subscription service: it mounts receiver_routes() itself.
                continue
            by_listen.setdefault(listen, []).append(receiver)
            keys.setdefault(listen, f"webhook_receivers[{i}].listen")
        for listen, receivers in by_listen.items():
            host, port = split_listen(listen)
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            try:
                sock = socket.create_server((host, port), family=family, reuse_port=False)
            except OSError as exc:
                for bound, _ in self._listeners:
                    bound.close()
                raise MonitorError(
                    f"{keys[listen]}: cannot listen on {listen}: {exc.strerror or exc}"
                ) from None
            self._listeners.append((sock, receivers))

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except Exception:
            log.exception("promise checks and webhook receivers stopped on an error")
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = stop = asyncio.Event()
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
        self._ready.set()
        try:
            await stop.wait()
        finally:
            for server in servers:
                server.should_exit = True
            await asyncio.gather(*tasks, return_exceptions=True)
            await prober.aclose()

    async def _flush_now_and_then(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=FLUSH_SECONDS)
            await asyncio.to_thread(self.recorder.flush)
