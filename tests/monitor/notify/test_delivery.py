"""Maintenance and incident events reach every configured channel once, in order."""

from __future__ import annotations

from support.notifying import WINDOW, step
from support.receivers import SMTP_PASSWORD

from monitor.store import StoredIncident, StoredUpdate


def test_a_maintenance_window_is_announced_started_and_completed_once_per_channel(
    notifier, clock, slack_receiver, smtp_server
) -> None:
    monitor = notifier()
    assert step(monitor) == 0  # 12:00: more than maintenance_notice ahead
    clock.advance(minutes=61)  # 13:01, less than an hour before the window: announce it
    assert step(monitor) == 2
    assert step(monitor) == 0  # nothing new: nothing sent again
    clock.advance(minutes=60)  # 14:01
    step(monitor)
    clock.advance(hours=1)  # 15:01
    step(monitor)
    step(monitor)

    expected = [f"maintenance/{k}" for k in ("announced", "started", "completed")]
    assert [key.rsplit("/", 1)[1] for key in slack_receiver.event_keys()] == [
        e.rsplit("/", 1)[1] for e in expected
    ]
    assert [key.rsplit("/", 1)[1] for key in smtp_server.event_keys()] == [
        e.rsplit("/", 1)[1] for e in expected
    ]
    titles = [post.title for post in slack_receiver.posts]
    assert titles == [
        "Scheduled maintenance: database upgrade",
        "Maintenance in progress: database upgrade",
        "Maintenance completed: database upgrade",
    ]
    assert "Scheduled for 2026-03-10 14:00 UTC to 2026-03-10 15:00 UTC" in (
        slack_receiver.posts[0].text
    )
    assert "Affects: public-api" in slack_receiver.posts[0].text
    mail = smtp_server.messages[0]
    assert mail["Subject"] == "Scheduled maintenance: database upgrade"
    assert mail["X-Envelope-To"] == "subscribers@example.com"
    assert (mail["X-Was-TLS"], mail["X-Authenticated"]) == ("yes", "yes")
    plain = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "Scheduled for 2026-03-10 14:00 UTC" in plain
    assert "<h1" in html
    assert "Scheduled for 2026-03-10 14:00 UTC" in html
    assert f"ref: {mail['X-Uptime-SLA-Key']}" in plain
    assert all(SMTP_PASSWORD not in m.as_string() for m in smtp_server.messages)


def test_a_past_window_is_recorded_but_not_sent_no_backfill(notifier, clock, slack_receiver):
    monitor = notifier(WINDOW.replace("2026-03-10T1", "2026-03-09T1"))  # yesterday
    assert step(monitor) == 0
    assert slack_receiver.posts == []
    assert monitor.outbox.depth() == {}


def test_an_operator_incident_opened_updated_resolved_each_once_in_order(
    notifier, clock, slack_receiver, smtp_server
) -> None:
    monitor = notifier("")
    store = monitor.store
    opened = StoredUpdate("u1", "investigating", "Errors on search.", clock.now)
    store.add_incident(
        StoredIncident("i1", "Search errors", "major", ("public-api",), clock.now, (opened,))
    )
    step(monitor)
    clock.advance(minutes=5)
    update = StoredUpdate("u2", "identified", "A bad deploy; rolling back.", clock.now)
    store.add_incident_update("i1", update)
    step(monitor)
    step(monitor)
    clock.advance(minutes=5)
    store.add_incident_update("i1", StoredUpdate("u3", "resolved", "Back to normal.", clock.now))
    step(monitor)

    keys = ["incident/i1/opened", "incident/i1/update/u2", "incident/i1/resolved"]
    assert slack_receiver.event_keys() == keys
    assert smtp_server.event_keys() == keys
    assert [p.title for p in slack_receiver.posts] == [
        "Major outage: Search errors",
        "Identified: Search errors",
        "Resolved: Search errors",
    ]
    assert "Errors on search." in slack_receiver.posts[0].text
    assert "A bad deploy; rolling back." in slack_receiver.posts[1].text
    assert "after 10 minutes" in slack_receiver.posts[2].text


def test_a_channel_that_is_down_is_retried_in_order_then_given_up(
    notifier, clock, slack_receiver, smtp_server, caplog
) -> None:
    monitor = notifier()
    smtp_server.down()
    clock.advance(minutes=61)
    step(monitor)
    clock.advance(minutes=60)
    step(monitor)
    assert len(slack_receiver.posts) == 2
    assert smtp_server.messages == []
    assert monitor.outbox.depth() == {"email": 2}
    smtp_server.up()
    for _ in range(3):
        clock.advance(seconds=31)
        step(monitor)
    assert [k.rsplit("/", 1)[1] for k in smtp_server.event_keys()] == ["announced", "started"]

    smtp_server.down()
    clock.advance(hours=1)  # completed at 15:00
    step(monitor)
    clock.advance(hours=2, minutes=1)  # older than give_up_after: given up, logged once
    step(monitor)
    step(monitor)
    assert monitor.outbox.depth() == {}
    given_up = [r for r in caplog.records if "gave up" in r.getMessage()]
    assert len(given_up) == 1
    assert "maintenance/" in given_up[0].getMessage()
    for record in caplog.records:
        assert SMTP_PASSWORD not in record.getMessage()
        assert "sentinel-webhook" not in record.getMessage()


def test_a_failing_webhook_is_named_without_its_secret_path_and_retried(
    notifier, clock, slack_receiver, caplog
) -> None:
    monitor = notifier()
    slack_receiver.available = False
    clock.advance(minutes=61)
    step(monitor)
    failures = [r.getMessage() for r in caplog.records if "slack:status" in r.getMessage()]
    assert failures == [
        f"slack:status: maintenance/{failures[0].split('/')[1]}/announced not sent, retrying:"
        f" slack:status: http://127.0.0.1:{slack_receiver.port}/*** answered HTTP 503"
    ]
    assert monitor.outbox.depth() == {"slack:status": 1}
    slack_receiver.available = True
    clock.advance(seconds=2)
    step(monitor)
    assert len(slack_receiver.posts) == 1
    assert monitor.outbox.depth() == {}
    for record in caplog.records:
        assert "sentinel-webhook" not in record.getMessage()
