"""Sends the outbox, one channel at a time per monitor, in the order of events.

Exactly once on the normal path: a monitor sends on a channel only while it holds that
channel's lease (renewed before every send, and longer than any send may take), and marks
each delivery right after sending it. A crash between the two leaves the delivery pending:
it is sent once more after the restart, with the same key. A failure is retried with
backoff, holding back the channel's later events (so they arrive in order), until the
event is `give_up_after` old: then it is given up, counted and logged once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from monitor.errors import NotifyError
from monitor.metrics.collectors import NOTIFY_FAILED, NOTIFY_GIVEN_UP, NOTIFY_SENT, NotifyMetrics
from monitor.notify.channels import Channel
from monitor.notify.messages import Renderer
from monitor.notify.outbox import GIVEN_UP, SENT, Outbox

log = logging.getLogger(__name__)

LEASE_SECONDS = 90.0  # longer than a send may take (SMTP timeout 30 s, HTTP 10 s)
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
    ) -> None:
        self._outbox = outbox
        self._renderer = renderer
        self._metrics = metrics
        self._clock = clock
        self._holder = holder
        self._give_up_after = timedelta(seconds=give_up_after)

    def drain(self, channel: Channel) -> int:
        """Send what is due on this channel now; stop at the first failure. Returns sent."""
        lease = f"channel:{channel.name}"
        sent = 0
        while self._outbox.acquire(lease, self._holder, LEASE_SECONDS):
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
            try:
                channel.send(self._renderer.render(delivery))
            except NotifyError as exc:
                retry = now + timedelta(seconds=backoff(delivery.attempts))
                self._outbox.retry_later(delivery, retry, str(exc))
                self._metrics.count(NOTIFY_FAILED, channel.name, delivery.kind)
                level = logging.WARNING if delivery.attempts == 0 else logging.DEBUG
                log.log(
                    level, "%s: %s not sent, retrying: %s", channel.name, delivery.event_key, exc
                )
                return sent
            self._outbox.finish(delivery, SENT)
            self._metrics.count(NOTIFY_SENT, channel.name, delivery.kind)
            log.info("%s: sent %s", channel.name, delivery.event_key)
            sent += 1
        return sent
