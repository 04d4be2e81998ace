"""Sends the outbox, one channel at a time per monitor, in the order of events.

Exactly once on the normal path: a monitor sends on a channel only while it holds that
channel's lease (renewed before every send, and longer than any send may take: the
channel's `timeout` bounds a send all in, the lease lasts LEASE_MARGIN_SECONDS more), and
marks each delivery right after sending it. A crash between the two leaves the delivery
pending: it is sent once more after the restart, with the same key.

A transient failure is retried with backoff, holding back the channel's later events (so
they arrive in order), until the event is `give_up_after` old: then it is given up,
counted and logged once. A poison message (one that can never be sent, or be rendered) is
given up at once, counted and logged once, and the next message goes out in the same pass.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from monitor.metrics.collectors import NOTIFY_FAILED, NOTIFY_GIVEN_UP, NOTIFY_SENT, NotifyMetrics
from monitor.notify.channels import Channel, Outcome, Result, poison, transient
from monitor.notify.messages import Renderer
from monitor.notify.outbox import GIVEN_UP, SENT, Delivery, Outbox

log = logging.getLogger(__name__)

# A lease lasts the channel's timeout plus this: rendering, marking in the database and
# some clock skew between monitors all fit in it.
LEASE_MARGIN_SECONDS = 60.0
MAX_BACKOFF_SECONDS = 30.0


def backoff(attempts: int) -> float:
    """1, 2, 4 ... seconds, at most MAX_BACKOFF_SECONDS: a channel back up is used soon."""
    return min(2.0**attempts, MAX_BACKOFF_SECONDS)


class Dispatcher:
    def __init__(
        self,
        outbox: Outbox,
        renderer: Renderer,
        metrics: NotifyMetrics,
        clock: Callable[[], datetime],
        *,
        holder: str,
        give_up_after: float,
        lease_margin: float = LEASE_MARGIN_SECONDS,
    ) -> None:
        self._outbox = outbox
        self._renderer = renderer
        self._metrics = metrics
        self._clock = clock
        self._holder = holder
        self._give_up_after = timedelta(seconds=give_up_after)
        self._lease_margin = lease_margin

    def drain(self, channel: Channel) -> int:
        """Send what is due on this channel now; stop at the first failure. Returns sent."""
        lease = f"channel:{channel.name}"
        seconds = channel.timeout + self._lease_margin
        sent = 0
        while self._outbox.acquire(lease, self._holder, seconds):
            delivery = self._outbox.head(channel.name)
            if delivery is None:
                return sent
            now = self._clock()
            if now - delivery.occurred > self._give_up_after:
                self._outbox.finish(delivery, GIVEN_UP, "gave up")
                self._metrics.count(NOTIFY_GIVEN_UP, channel.name, delivery.kind)
                log.error(
                    "%s: gave up %s after %d attempts (older than give_up_after)",
                    channel.name,
                    delivery.event_key,
                    delivery.attempts,
                )
                continue
            if delivery.next_attempt > now:
                return sent
            result = self._attempt(channel, delivery)
            if result.outcome is Outcome.POISON:
                self._outbox.finish(delivery, GIVEN_UP, result.detail)
                self._metrics.count(NOTIFY_GIVEN_UP, channel.name, delivery.kind)
                log.error(
                    "%s: gave up %s at once, it can never be sent: %s",
                    channel.name,
                    delivery.event_key,
                    result.detail,
                )
                continue
            if result.outcome is Outcome.TRANSIENT:
                delay = backoff(delivery.attempts)
                if result.retry_after is not None:
                    delay = max(delay, min(result.retry_after, MAX_BACKOFF_SECONDS))
                # From when the attempt ended: a send may take up to the channel's timeout.
                retry = self._clock() + timedelta(seconds=delay)
                self._outbox.retry_later(delivery, retry, result.detail)
                self._metrics.count(NOTIFY_FAILED, channel.name, delivery.kind)
                level = logging.WARNING if delivery.attempts == 0 else logging.DEBUG
                log.log(
                    level,
                    "%s: %s not sent, retrying: %s",
                    channel.name,
                    delivery.event_key,
                    result.detail,
                )
                return sent
            self._outbox.finish(delivery, SENT)
            self._metrics.count(NOTIFY_SENT, channel.name, delivery.kind)
            if result.detail:  # sent, but not to everyone
                log.warning("%s: sent %s, but %s", channel.name, delivery.event_key, result.detail)
            else:
                log.info("%s: sent %s", channel.name, delivery.event_key)
            sent += 1
        return sent

    def _attempt(self, channel: Channel, delivery: Delivery) -> Result:
        """Render and send; a payload no template can render is poison (it never will)."""
        try:
            message = self._renderer.render(delivery)
        except Exception as exc:
            log.debug("cannot render %s", delivery.event_key, exc_info=True)
            return poison(f"{channel.name}: cannot render it: {type(exc).__name__}")
        try:
            return channel.send(message)
        except Exception as exc:  # a bug: say so once, retry like any transient failure
            if delivery.attempts == 0:
                log.exception("%s: unexpected error sending %s", channel.name, delivery.event_key)
            return transient(f"{channel.name}: unexpected {type(exc).__name__}")
