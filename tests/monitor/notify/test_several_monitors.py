"""Two monitors (locations) on one database, both running their notifier threads: each
event is recorded once and reaches each channel once, not once per monitor."""

from __future__ import annotations

from collections import Counter

from support.notifying import WINDOW
from support.processes import wait_for

from monitor.metrics.collectors import NotifyMetrics
from monitor.notify.service import Notifier
from monitor.status.state import StatusBuilder
from monitor.store import Store


def test_two_monitors_on_one_database_deliver_each_event_once(
    notify_config, clock, database_url: str, slack_receiver, smtp_server
) -> None:
    running = []
    for location in ("us-west-2", "eu-west-1"):
        config = notify_config(WINDOW, database=database_url)
        config = config.model_copy(update={"location": location})
        store = Store(database_url)
        notifier = Notifier(
            config,
            store,
            NotifyMetrics(),
            clock,
            status=StatusBuilder(config, store).snapshot,
            poll_seconds=0.02,
            scan_seconds=0.02,
        )
        running.append((notifier, store))
    try:
        for notifier, _ in running:
            notifier.start()

        def settled(delivered: int) -> bool:
            """Delivered and marked: the fake clock must not jump past a lease mid-send
            (real sends end long before their lease does)."""
            return (
                len(smtp_server.messages) >= delivered
                and len(slack_receiver.posts) >= delivered
                and running[0][0].outbox.depth() == {}
            )

        for minutes, delivered in ((61, 1), (60, 2), (60, 3)):  # announced, started, completed
            clock.advance(minutes=minutes)
            wait_for(lambda n=delivered: settled(n), 20, 0.05)
        for _ in range(3):  # a few more rounds of both: still nothing sent again
            clock.advance(seconds=31)
            wait_for(lambda: settled(3), 5, 0.05)
    finally:
        for notifier, store in running:
            notifier.stop()
            store.close()
    for keys in (slack_receiver.event_keys(), smtp_server.event_keys()):
        assert len(keys) == 3
        assert set(Counter(keys).values()) == {1}
        assert [k.rsplit("/", 1)[1] for k in keys] == ["announced", "started", "completed"]
