"""Two monitors (locations) on one database, both running their notifier threads: each
event is recorded once and reaches each channel once, not once per monitor; and while a
relay trickles, one message is never sent by both at once (a send ends within its
timeout, and the lease on the channel outlives it)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from support.notifying import WINDOW, open_incident
from support.processes import wait_for
from support.receivers import Answer

from monitor.metrics.collectors import NotifyMetrics
from monitor.notify.service import Notifier
from monitor.status.state import StatusBuilder
from monitor.store import Store


@contextmanager
def two_monitors(
    config, database_url: str, clock: Callable[[], datetime], **options
) -> Iterator[list[Notifier]]:
    """Two notifiers running on one database (locations us-west-2 and eu-west-1), their
    threads polling every 20 ms; `options` go to both."""
    running = []
    for location in ("us-west-2", "eu-west-1"):
        located = config.model_copy(update={"location": location})
        store = Store(database_url)
        notifier = Notifier(
            located,
            store,
            NotifyMetrics(),
            clock,
            status=StatusBuilder(located, store).snapshot,
            poll_seconds=0.02,
            scan_seconds=0.02,
            **options,
        )
        running.append((notifier, store))
    try:
        for notifier, _ in running:
            notifier.start()
        yield [notifier for notifier, _ in running]
    finally:
        for notifier, store in running:
            notifier.stop()
            store.close()


def test_two_monitors_on_one_database_deliver_each_event_once(
    notify_config, clock, database_url: str, slack_receiver, smtp_server
) -> None:
    config = notify_config(WINDOW, database=database_url)
    with two_monitors(config, database_url, clock) as running:

        def settled(delivered: int) -> bool:
            """Delivered and marked: the fake clock must not jump past a lease mid-send
            (real sends end long before their lease does)."""
            return (
                len(smtp_server.messages) >= delivered
                and len(slack_receiver.posts) >= delivered
                and running[0].outbox.depth() == {}
            )

        for minutes, delivered in ((61, 1), (60, 2), (60, 3)):  # announced, started, completed
            clock.advance(minutes=minutes)
            wait_for(lambda n=delivered: settled(n), every=0.05)
        for _ in range(3):  # a few more rounds of both: still nothing sent again
            clock.advance(seconds=31)
            wait_for(lambda: settled(3), every=0.05)
    for keys in (slack_receiver.event_keys(), smtp_server.event_keys()):
        assert len(keys) == 3
        assert set(Counter(keys).values()) == {1}
        assert [k.rsplit("/", 1)[1] for k in keys] == ["announced", "started", "completed"]


def delivered(monitor: Notifier) -> bool:
    """The incident's message is recorded and no longer pending anywhere."""
    return bool(monitor.outbox.recorded(["incident/i1/opened"])) and monitor.outbox.depth() == {}


LEASE_MARGIN = 5.0  # the production margin is a minute; shorter, the trickles can be short


@pytest.fixture
def trickling(notify_config, database_url: str, slack_receiver):
    """An incident to announce on Slack (with that timeout), whose receiver trickles its
    first `trickled` answers over `seconds` each, then answers at once."""

    def start(trickled: int, seconds: float, timeout: str):
        config = notify_config("", database=database_url, slack=f", timeout: {timeout}")
        answers = iter([Answer(trickle=seconds)] * trickled)
        slack_receiver.answer = lambda post: next(answers, Answer())
        store = Store(database_url)
        open_incident(store, "i1", "Search errors", "Errors.", datetime.now(UTC))
        store.close()
        # On the real clock, with a lease of the channel's timeout + LEASE_MARGIN.
        return two_monitors(
            config, database_url, lambda: datetime.now(UTC), lease_margin=LEASE_MARGIN
        )

    return start


def test_a_send_trickled_within_its_timeout_is_made_by_one_monitor_once(
    trickling, slack_receiver
) -> None:
    # 6 s of trickle, longer than the lease margin, and seconds within the 10 s timeout even
    # when a busy machine holds up the receiver's thread
    with trickling(1, LEASE_MARGIN + 1, "10s") as monitors:
        wait_for(lambda: delivered(monitors[0]), every=0.05)
    assert slack_receiver.event_keys() == ["incident/i1/opened"]
    assert slack_receiver.hung_up == 0


def test_sends_trickled_past_their_timeout_are_cut_and_never_overlap(
    trickling, slack_receiver
) -> None:
    # Each attempt cut at 1 s, then retried; the lease (6 s) outlives a cut held up for seconds.
    with trickling(2, 30.0, "1s") as monitors:
        wait_for(lambda: delivered(monitors[0]), every=0.05)
    assert slack_receiver.event_keys() == ["incident/i1/opened"] * 3
    assert slack_receiver.most_at_once == 1
    wait_for(lambda: slack_receiver.hung_up == 2, every=0.05)
