"""`uptime-sla run`: the long-running monitor, assembled from its parts.

Order matters on the way down: stop planning probes, cancel the ones in flight
(their results never finished), then let the writer flush every finished result.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client import start_http_server

from monitor.config import Config, split_listen
from monitor.errors import MonitorError
from monitor.metrics.collectors import NotifyMetrics, ProbeMetrics, SlaMetrics, new_registry
from monitor.notify.service import Notifier
from monitor.probing.probe import Prober
from monitor.probing.scheduler import ProbeScheduler
from monitor.reports.gauges import SlaRefresher
from monitor.status.refresher import SiteRefresher
from monitor.status.state import StatusBuilder
from monitor.store import Store
from monitor.store.writer import BatchWriter

if TYPE_CHECKING:
    from monitor.metrics.promises import Counts
    from monitor.subscriptions.server import ServiceThread

log = logging.getLogger("uptime-sla")


async def run_service(
    config: Config,
    clock: Callable[[], datetime],
    install_signals: Callable[[asyncio.Event], None],
    *,
    config_written: datetime | None = None,
) -> int:
    # Starlette and uvicorn load only for `run` (the command line starts faster without).
    from monitor.promises import runner as promise_runner  # noqa: PLC0415

    store = Store(config.storage.url, rollup_seconds=int(config.sla.slice))
    probe_metrics, sla_metrics, notify_metrics = ProbeMetrics(), SlaMetrics(), NotifyMetrics()
    promise_counts = promise_runner.promise_metrics(config)
    registry = new_registry(probe_metrics, sla_metrics, notify_metrics, promise_counts)
    host, port = split_listen(config.metrics.listen)
    try:
        server, _thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        store.close()
        raise MonitorError(
            f"metrics.listen: cannot listen on {config.metrics.listen}: {exc.strerror}"
        ) from None
    writer = BatchWriter(
        store, probe_metrics, config.storage.batch_interval, config.storage.buffer_limit
    )
    prober = Prober(location=config.location, now=clock)
    promises = (
        promise_runner.PromiseProcess(config, promise_counts)
        if promise_runner.needed(config)
        else None
    )
    scheduler = ProbeScheduler(
        config.targets,
        prober,
        [probe_metrics.observe, writer.submit, *([promises.observe] if promises else [])],
        clock=clock,
        on_lag=probe_metrics.observe_lag,
    )
    refresher = SlaRefresher(config, store, sla_metrics, clock)
    # One builder for the page and the notifications: one cold evaluation of the history,
    # then each caller's refresh re-reads only the recent slices.
    status = StatusBuilder(config, store, config_written=config_written)
    page = config.status_page
    site = (
        None
        if page is None or page.output_dir is None
        else SiteRefresher(config, status, clock, Path(page.output_dir))
    )
    notifier = Notifier(config, store, notify_metrics, clock, status=status.snapshot)
    public = None
    try:
        # Its listener bound now; webhook receivers without a `listen` of their own share it.
        public = _subscription_service(config, store, clock, promise_counts)
        if promises is not None:
            promises.start()  # a process of its own: never in the probes' way
    except MonitorError:
        if public is not None:
            public.stop()
        server.shutdown()
        store.close()
        raise
    stop = asyncio.Event()
    install_signals(stop)
    # What exists now lives as long as the process: frozen, the cyclic collector stops
    # scanning it, and full collections become cheap enough to run often. Each probe leaves
    # its TLS connection in a reference cycle inside asyncio that only a full collection
    # frees; without this, 5,000 targets held ~250 MB of dead OpenSSL objects.
    gc.freeze()
    writer.start()
    scheduler.start()
    notifier.start()  # its own threads: a hung SMTP server never delays a probe
    if public is not None:
        public.start()  # its own thread and event loop too
    refresher_task = asyncio.create_task(refresher.run(stop))
    site_task = None if site is None else asyncio.create_task(site.run(stop))
    pruner_task = asyncio.create_task(_prune_raw_rows(config, store, clock, stop))
    log.info(
        "monitoring %d targets from %s; metrics on http://%s/metrics; storage %s",
        len(config.targets),
        config.location,
        config.metrics.listen,
        store.describe(),
    )
    try:
        await stop.wait()
    finally:
        log.info("stopping: finishing up")
        await scheduler.shutdown()
        await refresher_task
        if site_task is not None:
            await site_task
        await pruner_task
        await prober.aclose()
        if public is not None:
            await asyncio.to_thread(public.stop)
        await asyncio.to_thread(notifier.stop)
        if promises is not None:
            await asyncio.to_thread(promises.stop)
        writer.stop()
        server.shutdown()
        store.close()
        log.info("stopped")
    return 0


def _subscription_service(
    config: Config, store: Store, clock: Callable[[], datetime], counts: Counts
) -> ServiceThread | None:
    """The subscription service on its listener, when `status_page.subscriptions` is set,
    with the webhook receivers that have no `listen` of their own mounted beside it (they
    count into `counts`, this process's promise metrics)."""
    page = config.status_page
    if page is None or page.subscriptions is None:
        return None
    # Imported here: Starlette and uvicorn cost every other command's start-up 0.1 s.
    from monitor.promises.receivers import WebhookReceiver, receiver_routes  # noqa: PLC0415
    from monitor.subscriptions.app import SubscriptionService, compose  # noqa: PLC0415
    from monitor.subscriptions.server import ServiceThread  # noqa: PLC0415

    settings = page.subscriptions
    routes = SubscriptionService(config, store, clock).routes()
    shared = [r for r in config.webhook_receivers if r.listen is None]
    routes += receiver_routes([WebhookReceiver(r, store, counts, clock) for r in shared])
    thread = ServiceThread(
        compose(routes),
        settings.listen,
        trusted_proxies=settings.trusted_proxies,
        where="status_page.subscriptions.listen",
    )
    log.info("subscriptions on http://%s%s/", settings.listen, settings.path)
    for receiver in shared:
        log.info(
            "webhook receiver %s on http://%s%s", receiver.name, settings.listen, receiver.path
        )
    return thread


async def _prune_raw_rows(
    config: Config, store: Store, clock: Callable[[], datetime], stop: asyncio.Event
) -> None:
    """Apply storage.raw_retention now and then (hourly, or more often for short ones)."""
    retention = config.storage.raw_retention
    if retention is None:
        return
    while not stop.is_set():
        try:
            deleted = await asyncio.to_thread(
                store.prune_raw, clock() - timedelta(seconds=retention)
            )
            if deleted:
                log.info("pruned %d raw probe results older than %s s", deleted, retention)
        except MonitorError as exc:
            log.warning("raw probe results not pruned: %s", exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=min(3600.0, max(retention / 10, 1.0)))
