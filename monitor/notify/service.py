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
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol

from monitor.config import Config
from monitor.errors import MonitorError
from monitor.metrics.collectors import NotifyMetrics
from monitor.notify.channels import Channel, EmailChannel, SlackChannel
from monitor.notify.dispatcher import LEASE_MARGIN_SECONDS, Dispatcher
from monitor.notify.events import incident_events, maintenance_events
from monitor.notify.messages import Renderer
from monitor.notify.outbox import Outbox
from monitor.notify.statements import StatementJob
from monitor.notify.subscribers import (
    Composer,
    FanOut,
    Links,
    SubscriberMailer,
    WebhookDeliverer,
)
from monitor.notify.tokens import CONFIRM_VALID
from monitor.notify.webhooks import WebhookPoster
from monitor.status.state import StatusSnapshot
from monitor.store import Store
from sla.vocabulary import (
    CUSTOMER_EMAIL_CHANNEL,
    EMAIL_CHANNEL,
    SUBSCRIBER_EMAIL_CHANNEL,
    SUBSCRIBER_WEBHOOK_CHANNEL,
    SUBSCRIBERS_CHANNEL,
    ChannelKind,
    channel_name,
)

log = logging.getLogger(__name__)

StatusSource = Callable[[datetime], StatusSnapshot]  # what the status page knows now
KEEP_DONE = timedelta(days=7)  # finished subscriber messages are forgotten after this


class Sender(Protocol):
    def drain(self) -> int: ...


def build_channels(config: Config) -> list[Channel]:
    channels: list[Channel] = [SlackChannel(s) for s in config.notifications.slack]
    email = config.notifications.email
    if email is not None:
        channels.append(EmailChannel(EMAIL_CHANNEL, email, email.to))
        if config.reports.email_customers:
            channels.append(EmailChannel(CUSTOMER_EMAIL_CHANNEL, email, ()))
    return channels


def _subscriber_senders(
    config: Config,
    store: Store,
    outbox: Outbox,
    metrics: NotifyMetrics,
    clock: Callable[[], datetime],
    *,
    holder: str,
) -> dict[str, Sender]:
    """The fan-out and the senders of subscriber messages, when the page has subscriptions."""
    page = config.status_page
    email = config.notifications.email
    if page is None or page.subscriptions is None or email is None:
        return {}
    settings = page.subscriptions
    composer = Composer(config, Renderer(config.sla.timezone), Links(settings))
    senders: dict[str, Sender] = {
        SUBSCRIBERS_CHANNEL: FanOut(store, outbox, settings, clock, holder=holder),
        SUBSCRIBER_EMAIL_CHANNEL: SubscriberMailer(
            store,
            outbox,
            composer,
            settings=email,
            metrics=metrics,
            clock=clock,
            holder=holder,
            give_up_after=config.notifications.give_up_after,
        ),
    }
    if settings.webhooks:
        poster = WebhookPoster(allow_private=settings.allow_private_webhooks)
        senders[SUBSCRIBER_WEBHOOK_CHANNEL] = WebhookDeliverer(
            store, outbox, composer, poster=poster, metrics=metrics, clock=clock, holder=holder
        )
    return senders


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
        self._subscribers = _subscriber_senders(
            config, store, self.outbox, metrics, clock, holder=holder
        )
        self._store = store
        self._poll = poll_seconds
        self._scan = scan_seconds
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def enabled(self) -> bool:
        return (
            bool(self.channels) or bool(self._subscribers) or self._config.reports.dir is not None
        )

    def start(self) -> None:
        if not self.enabled:
            return
        self._threads = (
            [threading.Thread(target=self._every, args=(self._scan, self.scan), name="notify-scan")]
            + [
                threading.Thread(
                    target=self._every,
                    args=(self._poll, lambda c=channel: self._dispatcher.drain(c)),
                    name=f"notify-{channel.name}",
                )
                for channel in self.channels
            ]
            + [
                threading.Thread(
                    target=self._every, args=(self._poll, sender.drain), name=f"notify-{name}"
                )
                for name, sender in self._subscribers.items()
            ]
        )
        for thread in self._threads:
            thread.daemon = True  # a send stuck past stop() must not hold the process
            thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        webhooks = self._subscribers.get(SUBSCRIBER_WEBHOOK_CHANNEL)
        if isinstance(webhooks, WebhookDeliverer):
            webhooks.close()

    def scan(self) -> None:
        """Record what has happened by now; refresh the outbox depth gauge."""
        now = self._clock()
        status = self._status(now)
        events = [
            *maintenance_events(self._config, status.maintenances, now),
            *incident_events(self._config, status.incidents),
        ]
        known = self.outbox.recorded([e.key for e in events])
        # The page's status when the event was seen: webhook subscribers get it.
        page = {"indicator": str(status.indicator), "description": status.description}
        fresh = [
            replace(e, payload={**e.payload, "page": page}) for e in events if e.key not in known
        ]
        if fresh:
            for event in self.outbox.record(fresh):
                log.info("notification event %s", event.key)
        self._statements.run(now)
        depth = self.outbox.depth()
        if self._subscribers:
            self._store.subscriptions.prune_subscribers(
                now, pending_for=CONFIRM_VALID, keep_done=KEEP_DONE
            )
            for kind, count in self._store.subscriptions.pending_messages().items():
                depth[channel_name(ChannelKind.SUBSCRIBERS, kind)] = count
        self._metrics.set_depth(depth)

    def deliver_subscribers(self) -> int:
        """One pass of the fan-out and the subscriber senders, on the caller's thread."""
        return sum(sender.drain() for sender in self._subscribers.values())

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
