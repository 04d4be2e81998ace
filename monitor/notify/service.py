"""The notifier of `uptime-sla run`: its own threads, never on the probing path.

One thread scans for events every few seconds (maintenance windows against the clock,
incidents from the status page's computation, the month's statements) and records them in
the outbox; one thread per channel drains it. A hung SMTP server holds only its own
channel's thread: probing, the writer and the other channels go on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from monitor.config import Config
from monitor.errors import MonitorError
from monitor.metrics.collectors import NotifyMetrics
from monitor.notify.channels import Channel, EmailChannel, SlackChannel
from monitor.notify.dispatcher import LEASE_MARGIN_SECONDS, Dispatcher
from monitor.notify.events import incident_events, maintenance_events
from monitor.notify.messages import Renderer
from monitor.notify.outbox import Outbox
from monitor.notify.statements import StatementJob
from monitor.status.state import StatusSnapshot
from monitor.store import Store
from sla.vocabulary import CUSTOMER_EMAIL_CHANNEL, EMAIL_CHANNEL

log = logging.getLogger(__name__)

StatusSource = Callable[[datetime], StatusSnapshot]  # what the status page knows now


def build_channels(config: Config) -> list[Channel]:
    channels: list[Channel] = [SlackChannel(s) for s in config.notifications.slack]
    email = config.notifications.email
    if email is not None:
        channels.append(EmailChannel(EMAIL_CHANNEL, email, email.to))
        if config.reports.email_customers:
            channels.append(EmailChannel(CUSTOMER_EMAIL_CHANNEL, email, ()))
    return channels


class Notifier:
    def __init__(
        self,
        config: Config,
        store: Store,
        metrics: NotifyMetrics,
        clock: Callable[[], datetime],
        *,
        status: StatusSource,
        lease_margin: float = LEASE_MARGIN_SECONDS,
        poll_seconds: float = 1.0,
        scan_seconds: float = 5.0,
    ) -> None:
        settings = config.notifications
        self._config = config
        self._clock = clock
        self._metrics = metrics
        self._status = status
        self.outbox = Outbox(store, clock, settings.give_up_after)
        holder = config.location
        self._dispatcher = Dispatcher(
            self.outbox,
            Renderer(config.sla.timezone, page.url if (page := config.status_page) else None),
            metrics,
            clock,
            holder=holder,
            give_up_after=settings.give_up_after,
            lease_margin=lease_margin,
        )
        self._statements = StatementJob(config, self.outbox, store, holder=holder)
        self.channels = build_channels(config)
        self._poll = poll_seconds
        self._scan = scan_seconds
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def enabled(self) -> bool:
        return bool(self.channels) or self._config.reports.dir is not None

    def start(self) -> None:
        if not self.enabled:
            return
        self._threads = [
            threading.Thread(target=self._every, args=(self._scan, self.scan), name="notify-scan")
        ] + [
            threading.Thread(
                target=self._every,
                args=(self._poll, lambda c=channel: self._dispatcher.drain(c)),
                name=f"notify-{channel.name}",
            )
            for channel in self.channels
        ]
        for thread in self._threads:
            thread.daemon = True  # a send stuck past stop() must not hold the process
            thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)

    def scan(self) -> None:
        """Record what has happened by now; refresh the outbox depth gauge."""
        now = self._clock()
        status = self._status(now)
        events = [
            *maintenance_events(self._config, status.maintenances, now),
            *incident_events(self._config, status.incidents),
        ]
        known = self.outbox.recorded([e.key for e in events])
        fresh = [e for e in events if e.key not in known]
        if fresh:
            for event in self.outbox.record(fresh):
                log.info("notification event %s", event.key)
        self._statements.run(now)
        self._metrics.set_depth(self.outbox.depth())

    def deliver(self) -> int:
        """One pass over every channel, on the caller's thread; returns messages sent."""
        return sum(self._dispatcher.drain(channel) for channel in self.channels)

    def _every(self, seconds: float, work: Callable[[], object]) -> None:
        while not self._stop.is_set():
            try:
                work()
            except MonitorError as exc:  # the database is away: try again next round
                log.warning("notifications: %s", exc)
            except Exception:  # a bug must not end notifications for good
                log.exception("notifications: unexpected error")
            self._stop.wait(seconds)
