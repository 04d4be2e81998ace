"""Nothing wedged: a message a server refuses for good is given up at once and the next one
goes out in the same pass; a server that is away is retried with backoff; a send never
outlasts its timeout, however the server trickles; what a server answers is read within
bounds (no endless reply, no gzip bomb inflated)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from support.notifying import counted, open_incident, peak_growth_mb, step
from support.processes import wait_for
from support.receivers import Answer, gzip_bomb

from monitor.metrics.collectors import NOTIFY_FAILED, NOTIFY_GIVEN_UP
from monitor.notify.channels import EmailChannel, Outcome
from monitor.notify.messages import Message
from monitor.notify.outbox import Event

GIB = 1024**3


def incidents(monitor, now: datetime, *titles: str) -> None:
    """Incidents i1, i2 ... opened a second apart, the last one now: a message each."""
    for n, title in enumerate(titles, 1):
        at = now - timedelta(seconds=len(titles) - n)
        open_incident(monitor.store, f"i{n}", title, f"Update {n}.", at)


def gave_up(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "gave up" in r.getMessage()]


@pytest.mark.parametrize("status", [400, 403, 404, 410])
def test_a_message_slack_refuses_is_given_up_at_once_and_the_next_is_sent_in_the_same_pass(
    notifier, clock, slack_receiver, caplog, status: int
) -> None:
    slack_receiver.answer = lambda post: (
        Answer(status=status, body=b"invalid_blocks", recorded=False)
        if "poison" in post.title
        else Answer()
    )
    monitor = notifier("")
    incidents(monitor, clock.now, "poison pill", "Search errors")
    step(monitor)
    assert slack_receiver.event_keys() == ["incident/i2/opened"]
    assert counted(monitor.metrics, NOTIFY_GIVEN_UP) == {("slack:status", "incident_opened"): 1}
    assert counted(monitor.metrics, NOTIFY_FAILED) == {}
    clock.advance(minutes=5)
    step(monitor)
    (line,) = gave_up(caplog)  # logged once
    assert line == (
        "slack:status: gave up incident/i1/opened at once, it can never be sent:"
        f" slack:status: http://127.0.0.1:{slack_receiver.port}/*** answered HTTP {status}"
    )
    assert monitor.outbox.depth() == {}


def test_429_and_5xx_are_retried_after_the_backoff_or_the_retry_after_asked(
    notifier, clock, slack_receiver
) -> None:
    answers = iter(
        [
            Answer(status=429, headers=(("Retry-After", "5"),), recorded=False),
            Answer(status=503, recorded=False),
            Answer(),
        ]
    )
    slack_receiver.answer = lambda post: next(answers)
    monitor = notifier("")
    open_incident(monitor.store, "i1", "Search errors", "Errors.", clock.now)
    step(monitor)  # 429, retry after 5 s (more than the first backoff step, 1 s)
    clock.advance(seconds=4)
    step(monitor)
    assert monitor.outbox.depth() == {"slack:status": 1}
    clock.advance(seconds=1)
    step(monitor)  # 503: the second backoff step, 2 s
    clock.advance(seconds=2)
    step(monitor)
    assert slack_receiver.event_keys() == ["incident/i1/opened"]
    assert counted(monitor.metrics, NOTIFY_FAILED) == {("slack:status", "incident_opened"): 2}
    assert counted(monitor.metrics, NOTIFY_GIVEN_UP) == {}


@pytest.fixture
def relay_notifier(notifier, hostile_smtp):
    """A notifier whose email goes to the hostile relay, with `timeout` and `to` given."""

    def make(timeout: str = "30s", to: str = "[subscribers@example.com]", **kwargs):
        smtp = (
            f"{{host: 127.0.0.1, port: {hostile_smtp.port}, starttls: false, timeout: {timeout}}}"
        )
        return notifier("", smtp=smtp, to=to, **kwargs)

    return make


def test_a_message_the_smtp_server_refuses_with_5xx_is_given_up_and_4xx_retried(
    relay_notifier, clock, hostile_smtp, caplog
) -> None:
    hostile_smtp.handler.mode = "refuse"
    monitor = relay_notifier()
    # 554 to the first, the second goes out, 451 to the third, which holds back the fourth
    incidents(monitor, clock.now, "poison pill", "Search errors", "back later", "Slow logins")
    step(monitor)
    assert [m["X-Uptime-SLA-Key"] for m in hostile_smtp.messages] == ["incident/i2/opened"]
    assert monitor.outbox.depth() == {"email": 2}  # the 451 holds the last one back, in order
    (line,) = gave_up(caplog)
    assert line.startswith("email: gave up incident/i1/opened at once")
    assert line.endswith("refused the message: SMTP 554")
    hostile_smtp.handler.mode = "ok"
    clock.advance(seconds=1)
    step(monitor)
    assert [m["X-Uptime-SLA-Key"] for m in hostile_smtp.messages][1:] == [
        "incident/i3/opened",
        "incident/i4/opened",
    ]
    assert counted(monitor.metrics, NOTIFY_GIVEN_UP) == {("email", "incident_opened"): 1}
    assert counted(monitor.metrics, NOTIFY_FAILED) == {("email", "incident_opened"): 1}


def test_a_recipient_the_server_refuses_does_not_keep_the_message_from_the_others(
    relay_notifier, clock, hostile_smtp, caplog
) -> None:
    hostile_smtp.handler.mode = "refuse"
    hostile_smtp.handler.refused = {"gone@example.com"}
    monitor = relay_notifier(to="[gone@example.com, ops@example.com]")
    open_incident(monitor.store, "i1", "Search errors", "Errors.", clock.now)
    step(monitor)
    assert [m["X-Envelope-To"] for m in hostile_smtp.messages] == ["ops@example.com"]
    assert monitor.outbox.depth() == {}
    assert any("refused the message: SMTP 550 for 1 of 2" in r.getMessage() for r in caplog.records)


def test_a_message_the_email_library_cannot_build_is_poison(notify_config, hostile_smtp) -> None:
    config = notify_config(smtp=f"{{host: 127.0.0.1, port: {hostile_smtp.port}, starttls: false}}")
    channel = EmailChannel("email", config.notifications.email, ("ops@example.com",))
    text = "Errors \udcff on search."  # a lone surrogate: no UTF-8 for it
    message = Message("k", "incident_opened", "Search errors", text, "<p>t</p>", [])
    result = channel.send(message)
    assert result.outcome is Outcome.POISON
    assert result.detail == "email: cannot build the message: UnicodeEncodeError"
    assert hostile_smtp.messages == []


def test_an_event_no_template_can_render_is_given_up_and_the_next_is_sent(
    notifier, clock, slack_receiver, smtp_server, caplog
) -> None:
    monitor = notifier("")
    broken = Event("incident/x/opened", "incident_opened", clock.now, {}, ("slack:status",))
    monitor.outbox.record([broken])
    clock.advance(seconds=1)
    open_incident(monitor.store, "i1", "Search errors", "Errors.", clock.now)
    step(monitor)
    assert slack_receiver.event_keys() == ["incident/i1/opened"]
    (line,) = gave_up(caplog)
    assert line.endswith("slack:status: cannot render it: UndefinedError")


def test_a_slack_answer_trickled_past_the_timeout_is_cut_and_the_send_retried(
    notifier, clock, slack_receiver
) -> None:
    slack_receiver.answer = lambda post: Answer(trickle=30)
    monitor = notifier("", slack=", timeout: 1s")
    open_incident(monitor.store, "i1", "Search errors", "Errors.", clock.now)
    step(monitor)
    assert monitor.outbox.depth() == {"slack:status": 1}  # not waited for to the end
    wait_for(lambda: slack_receiver.hung_up == 1, every=0.05)  # the client hung up on it
    slack_receiver.answer = None
    clock.advance(seconds=1)
    step(monitor)
    assert monitor.outbox.depth() == {}
    assert slack_receiver.event_keys() == ["incident/i1/opened"] * 2  # the receiver dedupes


def test_an_smtp_reply_trickled_past_the_timeout_is_cut_and_the_send_retried(
    relay_notifier, clock, hostile_smtp
) -> None:
    hostile_smtp.handler.mode = "trickle"
    monitor = relay_notifier(timeout="1s")
    open_incident(monitor.store, "i1", "Search errors", "Errors.", clock.now)
    step(monitor)
    assert monitor.outbox.depth() == {"email": 1}
    wait_for(lambda: hostile_smtp.handler.hung_up == 1, every=0.05)


def test_an_endless_smtp_reply_fails_the_send_after_100_lines_without_filling_memory(
    relay_notifier, clock, hostile_smtp, caplog
) -> None:
    hostile_smtp.handler.mode = "endless"
    monitor = relay_notifier()
    open_incident(monitor.store, "i1", "Search errors", "Errors.", clock.now)
    assert peak_growth_mb(lambda: step(monitor)) < 50
    assert monitor.outbox.depth() == {"email": 1}
    assert any(
        r.getMessage().endswith("answered with a reply of more than 100 lines or 64 KiB")
        for r in caplog.records
    )
    wait_for(lambda: hostile_smtp.handler.hung_up == 1, every=0.05)


def test_a_gzip_bomb_from_slack_is_never_inflated(notifier, clock, slack_receiver) -> None:
    slack_receiver.answer = lambda post: gzip_bomb(GIB)
    monitor = notifier("")
    open_incident(monitor.store, "i1", "Search errors", "Errors.", clock.now)
    assert peak_growth_mb(lambda: step(monitor)) < 50  # 1 GiB if it were inflated
    assert monitor.outbox.depth() == {}  # a 200 is a 200
    (post,) = slack_receiver.posts
    assert post.headers["Accept-Encoding"] == "identity"
