"""The store's subscribers on SQLite and PostgreSQL: requests, the daily limit, confirmation,
removal (with every queued message), the fan-out of a notice, webhook failures, pruning."""

from __future__ import annotations

import itertools
import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from monitor.store import Store
from monitor.store.subscribers import Imported
from sla.vocabulary import DeliveryState, EventKind, SubscriberKind

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
ids = (f"s{n}" for n in itertools.count())


def request(
    store: Store, email: str, components=(), *, at=NOW, kind=SubscriberKind.EMAIL, url="", limit=3
):
    return store.subscriptions.request_subscription(
        kind,
        email,
        url,
        components,
        at,
        new_id=next(ids),
        new_secret="whsec_test" if kind == SubscriberKind.WEBHOOK else None,
        limit=limit,
        window=DAY,
    )


def confirmations(store: Store, subscriber_id: str) -> list:
    return [
        d
        for d in store.subscriptions.due_messages(SubscriberKind.EMAIL, NOW + 2 * DAY, 100)
        if d.subscriber.id == subscriber_id and d.kind == EventKind.SUBSCRIPTION_CONFIRM
    ]


def record_event(store: Store, key: str, kind: str = "incident_opened", channel="subscribers"):
    """An outbox event with a pending fan-out delivery, as the notifier records it."""
    from sqlalchemy import text

    with store.database.writing("test event") as conn:
        conn.execute(
            text(
                "INSERT INTO notify_event (key, kind, occurred_us, payload)"
                " VALUES (:k, :kind, 1, :p)"
            ),
            {"k": key, "kind": kind, "p": json.dumps({"title": key})},
        )
        conn.execute(
            text(
                "INSERT INTO notify_delivery (event_key, channel, occurred_us, state, attempts,"
                " next_attempt_us) VALUES (:k, :c, 1, 'pending', 0, 1)"
            ),
            {"k": key, "c": channel},
        )


def confirmed(store: Store, email: str, components=(), kind=SubscriberKind.EMAIL, url="") -> str:
    subscriber_id = request(store, email, components, kind=kind, url=url).subscriber_id
    store.subscriptions.confirm_subscription(subscriber_id, components, NOW)
    return subscriber_id


def test_a_new_address_is_pending_with_one_confirmation_queued(store: Store) -> None:
    requested = request(store, "alice@example.com", ["Public API"])
    assert requested.retry_after is None
    (subscriber,) = store.subscriptions.subscribers()
    assert (subscriber.email, subscriber.components, subscriber.confirmed) == (
        "alice@example.com",
        ("Public API",),
        None,
    )
    (message,) = confirmations(store, requested.subscriber_id)
    assert message.payload == {"components": ["Public API"]}
    assert message.subscriber.email == "alice@example.com"


def test_new_pending_and_confirmed_addresses_are_answered_alike(store: Store) -> None:
    """Each queues a confirmation; a confirmed one keeps its components until confirmed."""
    pending = request(store, "p@example.com", ["A"]).subscriber_id
    done = confirmed(store, "c@example.com", ["A"])
    again = [
        request(store, email, ["B"], at=NOW + timedelta(hours=1))
        for email in ("p@example.com", "c@example.com", "n@example.com")
    ]
    assert all(r.retry_after is None for r in again)
    assert [r.subscriber_id for r in again[:2]] == [pending, done]
    by_email = {s.email: s for s in store.subscriptions.subscribers()}
    assert by_email["p@example.com"].components == ("B",)  # pending: the newest request
    assert by_email["c@example.com"].components == ("A",)  # confirmed: unchanged for now
    assert by_email["c@example.com"].confirmed == NOW
    assert len(confirmations(store, done)) == 2


def test_a_fourth_confirmation_within_a_day_is_refused_until_the_first_is_a_day_old(
    store: Store,
) -> None:
    for hour in range(3):
        assert request(store, "a@example.com", at=NOW + timedelta(hours=hour)).retry_after is None
    refused = request(store, "a@example.com", at=NOW + timedelta(hours=5))
    assert refused.retry_after == pytest.approx(19 * 3600)
    assert len(confirmations(store, refused.subscriber_id)) == 3
    later = request(store, "a@example.com", at=NOW + DAY + timedelta(seconds=1))
    assert later.retry_after is None


def test_concurrent_requests_for_one_address_queue_at_most_the_limit(store: Store) -> None:
    """Twenty requests at once: the row lock (PostgreSQL) or the write lock (SQLite)
    makes the count and the insert one step."""
    results = []

    def ask(n: int) -> None:
        results.append(request(store, "race@example.com", at=NOW + timedelta(seconds=n)))

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.retry_after is None for r in results) == 3
    assert len({r.subscriber_id for r in results}) == 1
    assert len(confirmations(store, results[0].subscriber_id)) == 3


def test_confirming_takes_the_links_components_and_says_whether_it_was_pending(
    store: Store,
) -> None:
    subscriber_id = request(store, "a@example.com", ["A"]).subscriber_id
    subscriber, fresh = store.subscriptions.confirm_subscription(subscriber_id, ["A", "B"], NOW)
    assert fresh
    assert subscriber is not None
    assert subscriber.components == ("A", "B")
    assert subscriber.confirmed == NOW
    again, fresh = store.subscriptions.confirm_subscription(subscriber_id, ["B"], NOW + DAY)
    assert not fresh
    assert again is not None
    assert again.confirmed == NOW
    assert again.components == ("B",)
    assert store.subscriptions.confirm_subscription("no-such-id", [], NOW) == (None, False)


def test_unsubscribing_deletes_the_row_and_every_message_queued_for_it(store: Store) -> None:
    subscriber_id = confirmed(store, "a@example.com")
    record_event(store, "incident/x/opened")
    assert (
        store.subscriptions.fan_out("incident/x/opened", "subscribers", ["A"], [SubscriberKind.EMAIL], NOW) == 1
    )
    assert store.subscriptions.remove_subscriber(subscriber_id)
    assert store.subscriptions.subscribers() == []
    assert store.subscriptions.due_messages(SubscriberKind.EMAIL, NOW + DAY, 100) == []
    assert not store.subscriptions.remove_subscriber(subscriber_id)


def test_removing_addresses_is_all_or_none(store: Store) -> None:
    confirmed(store, "a@example.com")
    confirmed(
        store, "a@example.com", kind=SubscriberKind.WEBHOOK, url="https://hooks.example.com/a"
    )
    assert store.subscriptions.remove_addresses(["a@example.com", "nobody@example.com"]) == {
        "a@example.com": 2,
        "nobody@example.com": 0,
    }
    assert len(store.subscriptions.subscribers()) == 2  # nothing removed
    assert store.subscriptions.remove_addresses(["a@example.com"]) == {"a@example.com": 2}
    assert store.subscriptions.subscribers() == []


def test_the_fan_out_queues_each_matching_subscriber_once_and_marks_the_event(
    store: Store,
) -> None:
    everything = confirmed(store, "all@example.com")
    api = confirmed(store, "api@example.com", ["Public API"])
    confirmed(store, "web@example.com", ["Website"])
    request(store, "pending@example.com")  # never confirmed: nothing
    hook = confirmed(
        store, "h@example.com", kind=SubscriberKind.WEBHOOK, url="https://hooks.example.com/1"
    )
    record_event(store, "incident/x/opened")

    def fan_out() -> int:
        kinds = [SubscriberKind.EMAIL, SubscriberKind.WEBHOOK]
        return store.subscriptions.fan_out("incident/x/opened", "subscribers", ["Public API"], kinds, NOW)

    assert fan_out() == 3
    assert fan_out() == 0  # once: the event's fan-out is marked done
    notices = [
        d
        for d in store.subscriptions.due_messages(SubscriberKind.EMAIL, NOW, 100)
        if d.kind != EventKind.SUBSCRIPTION_CONFIRM
    ]
    assert sorted(d.subscriber.id for d in notices) == sorted([everything, api])
    assert all(d.payload == {"title": "incident/x/opened"} for d in notices)
    (hooked,) = store.subscriptions.due_messages(SubscriberKind.WEBHOOK, NOW, 100)
    assert hooked.subscriber.id == hook
    assert hooked.subscriber.secret == "whsec_test"
    record_event(store, "incident/everything/opened")  # names no component: all hear it
    assert (
        store.subscriptions.fan_out("incident/everything/opened", "subscribers", [], [SubscriberKind.EMAIL], NOW)
        == 3
    )


def test_messages_come_due_by_event_then_subscriber_and_are_marked_once(store: Store) -> None:
    first = confirmed(store, "a@example.com")
    second = confirmed(store, "b@example.com")
    for key in ("incident/1/opened", "incident/1/resolved"):
        record_event(store, key)
        store.subscriptions.fan_out(key, "subscribers", [], [SubscriberKind.EMAIL], NOW)
    due = [
        d
        for d in store.subscriptions.due_messages(SubscriberKind.EMAIL, NOW, 100)
        if d.kind != EventKind.SUBSCRIPTION_CONFIRM
    ]
    assert [(d.key, d.subscriber.id) for d in due] == [
        ("incident/1/opened", min(first, second)),
        ("incident/1/opened", max(first, second)),
        ("incident/1/resolved", min(first, second)),
        ("incident/1/resolved", max(first, second)),
    ]
    store.subscriptions.finish_message(due[0].subscriber.id, due[0].key, DeliveryState.SENT, NOW)
    store.subscriptions.retry_message(due[1].subscriber.id, due[1].key, NOW + timedelta(minutes=1))
    left = [
        (d.key, d.subscriber.id)
        for d in store.subscriptions.due_messages(SubscriberKind.EMAIL, NOW, 100)
        if d.kind != EventKind.SUBSCRIPTION_CONFIRM
    ]
    assert left == [(d.key, d.subscriber.id) for d in due[2:]]
    later = store.subscriptions.due_messages(SubscriberKind.EMAIL, NOW + timedelta(minutes=1), 100)
    assert (due[1].key, due[1].subscriber.id, 1) in [
        (d.key, d.subscriber.id, d.attempts) for d in later
    ]


def test_the_tenth_failure_in_a_row_disables_a_webhook_and_tells_its_owner_once(
    store: Store,
) -> None:
    hook = confirmed(
        store, "owner@example.com", kind=SubscriberKind.WEBHOOK, url="https://hooks.example.com/1"
    )
    record_event(store, "incident/1/opened")
    store.subscriptions.fan_out("incident/1/opened", "subscribers", [], [SubscriberKind.WEBHOOK], NOW)
    for _ in range(5):
        assert not store.subscriptions.webhook_outcome(hook, False, NOW, disable_after=10)
    assert not store.subscriptions.webhook_outcome(hook, True, NOW, disable_after=10)  # the run ends
    for n in range(10):
        assert store.subscriptions.webhook_outcome(hook, False, NOW, disable_after=10) == (n == 9)
    assert not store.subscriptions.webhook_outcome(hook, False, NOW, disable_after=10)
    subscriber = store.subscriptions.subscriber(hook)
    assert subscriber is not None
    assert subscriber.disabled == NOW
    assert not subscriber.active
    assert store.subscriptions.due_messages(SubscriberKind.WEBHOOK, NOW, 100) == []  # given up
    told = [
        d
        for d in store.subscriptions.due_messages(SubscriberKind.EMAIL, NOW, 100)
        if d.kind == EventKind.WEBHOOK_DISABLED
    ]
    assert [d.subscriber.id for d in told] == [hook]
    record_event(store, "incident/2/opened")
    assert store.subscriptions.fan_out("incident/2/opened", "subscribers", [], [SubscriberKind.WEBHOOK], NOW) == 0
    again, _ = store.subscriptions.confirm_subscription(hook, [], NOW + DAY)  # confirmed again: back on
    assert again is not None
    assert again.active
    assert again.failures == 0


def test_pruning_forgets_unconfirmed_requests_and_old_finished_messages(store: Store) -> None:
    stale = request(store, "stale@example.com", at=NOW - timedelta(hours=49)).subscriber_id
    kept = confirmed(store, "kept@example.com")
    record_event(store, "incident/1/opened")
    store.subscriptions.fan_out("incident/1/opened", "subscribers", [], [SubscriberKind.EMAIL], NOW)
    store.subscriptions.finish_message(kept, "incident/1/opened", DeliveryState.GIVEN_UP, NOW - timedelta(days=8))
    assert store.subscriptions.prune_subscribers(
        NOW, pending_for=timedelta(hours=48), keep_done=timedelta(days=7)
    ) == (1, 1)
    assert [s.email for s in store.subscriptions.subscribers()] == ["kept@example.com"]
    assert store.subscriptions.subscriber(stale) is None


def test_an_import_replaces_what_it_names_and_stores_nothing_when_a_row_fails(
    store: Store,
) -> None:
    confirmed(store, "a@example.com", ["Old"])
    rows = [
        Imported("a@example.com", ("New",), NOW - DAY, NOW),
        Imported("b@example.com", (), NOW - DAY, None),
    ]
    assert store.subscriptions.import_subscribers(rows, (next(ids) for _ in rows)) == 2
    by_email = {s.email: s for s in store.subscriptions.subscribers()}
    assert by_email["a@example.com"].components == ("New",)
    assert by_email["b@example.com"].confirmed is None

    def failing():
        yield Imported("c@example.com", (), NOW, NOW)
        raise ValueError("line 3 is bad")

    with pytest.raises(ValueError, match="line 3"):
        store.subscriptions.import_subscribers(failing(), (next(ids) for _ in range(5)))
    assert sorted(by_email) == sorted(s.email for s in store.subscriptions.subscribers())


def test_operators_add_confirmed_subscribers_or_queue_a_confirmation(store: Store) -> None:
    assert store.subscriptions.add_subscribers(
        ["a@example.com", "b@example.com"], ["A"], NOW, confirmed=True, new_ids=["x1", "x2"]
    ) == [True, True]
    assert store.subscriptions.add_subscribers(["c@example.com"], [], NOW, confirmed=False, new_ids=["x3"]) == [
        True
    ]
    assert store.subscriptions.add_subscribers(["a@example.com"], [], NOW, confirmed=False, new_ids=["x4"]) == [
        False
    ]
    by_email = {s.email: s for s in store.subscriptions.subscribers()}
    assert by_email["a@example.com"].confirmed == NOW
    assert by_email["a@example.com"].components == ()
    assert by_email["c@example.com"].confirmed is None
    assert [d.subscriber.email for d in store.subscriptions.due_messages(SubscriberKind.EMAIL, NOW, 10)] == [
        "c@example.com"
    ]


def test_a_run_of_marks_marks_each_pending_message_once(store: Store) -> None:
    """The senders' marks go through the driver: the same rule as finish_message."""
    people = [confirmed(store, f"m{n}@example.com") for n in range(3)]
    record_event(store, "incident/m/opened")
    store.subscriptions.fan_out("incident/m/opened", "subscribers", [], [SubscriberKind.EMAIL], NOW)
    with store.subscriptions.message_marks() as mark:
        mark(people[0], "incident/m/opened", DeliveryState.SENT, NOW)
        mark(people[1], "incident/m/opened", DeliveryState.GIVEN_UP, NOW)
        mark(people[0], "incident/m/opened", DeliveryState.GIVEN_UP, NOW)  # done already
    left = store.subscriptions.due_messages(SubscriberKind.EMAIL, NOW, 100)
    assert [d.subscriber.id for d in left if d.key == "incident/m/opened"] == [people[2]]
    with store.database.reading("states") as conn:
        states = dict(
            conn.exec_driver_sql(
                "SELECT subscriber_id, state FROM subscriber_delivery"
                " WHERE key = 'incident/m/opened'"
            ).all()
        )
    assert states == {
        people[0]: DeliveryState.SENT,
        people[1]: DeliveryState.GIVEN_UP,
        people[2]: DeliveryState.PENDING,
    }
