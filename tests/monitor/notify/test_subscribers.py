"""Notices to subscribers, sent for real: aiosmtpd (STARTTLS, login) and a local HTTPS webhook
receiver (trustme). Each matching subscriber gets each event once, with its own unsubscribe
link; a refused recipient never blocks the others; webhooks are signed, retried on the
promised schedule, refused on private addresses and disabled after ten failures."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.https import Route
from support.subscriptions import COMPONENTS, signed_by, write_config

from monitor.config import Config, load_config
from monitor.metrics.collectors import NotifyMetrics
from monitor.notify.messages import Renderer
from monitor.notify.outbox import Event, Outbox
from monitor.notify.subscribers import (
    Composer,
    FanOut,
    Links,
    SubscriberMailer,
    WebhookDeliverer,
)
from monitor.notify.tokens import Tokens
from monitor.notify.webhooks import WebhookPoster
from monitor.store import Store
from sla.vocabulary import SUBSCRIBERS_CHANNEL, DeliveryState, SubscriberKind

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


class Parts:
    """The fan-out and both senders of one config, with a clock the test moves."""

    def __init__(self, config: Config, *, sleep=None, monotonic=None) -> None:
        self.config = config
        self.clock = Clock()
        self.store = Store(config.storage.url)
        self.outbox = Outbox(self.store, self.clock, config.notifications.give_up_after)
        settings = config.status_page.subscriptions
        self.links = Links(settings)
        composer = Composer(config, Renderer("UTC"), self.links)
        self.fan_out = FanOut(self.store, self.outbox, settings, self.clock, holder="lab")
        timing = {k: v for k, v in (("sleep", sleep), ("monotonic", monotonic)) if v}
        self.mailer = SubscriberMailer(
            self.store,
            self.outbox,
            composer,
            settings=config.notifications.email,
            metrics=NotifyMetrics(),
            clock=self.clock,
            holder="lab",
            give_up_after=config.notifications.give_up_after,
            **timing,
        )
        self.webhooks = WebhookDeliverer(
            self.store,
            self.outbox,
            composer,
            poster=WebhookPoster(allow_private=settings.allow_private_webhooks),
            metrics=NotifyMetrics(),
            clock=self.clock,
            holder="lab",
        )

    def subscribe(self, email: str, components=(), *, url: str = "") -> str:
        kind = SubscriberKind.WEBHOOK if url else SubscriberKind.EMAIL
        requested = self.store.subscriptions.request_subscription(
            kind,
            email,
            url,
            components,
            self.clock(),
            new_id=f"id-{email}-{len(url)}",
            new_secret="whsec_sentinel" if url else None,
            limit=3,
            window=timedelta(days=1),
        )
        self.store.subscriptions.confirm_subscription(requested.subscriber_id, components, self.clock())
        for due in self.store.subscriptions.due_messages(
            SubscriberKind.EMAIL, self.clock() + timedelta(days=1), 1000
        ):
            self.store.subscriptions.finish_message(due.subscriber.id, due.key, DeliveryState.SENT, self.clock())
        return requested.subscriber_id

    def incident(self, number: int, components: list[str]) -> str:
        key = f"incident/op{number}/opened"
        payload = {
            "id": f"op{number}",
            "title": "Slow logins\r\nBcc: everyone@example.com",
            "impact": "minor",
            "components": components,
            "started": self.clock().isoformat(),
            "message": "We are <b>looking</b> into it.",
            "status": "investigating",
            "at": self.clock().isoformat(),
            "page": {"indicator": "minor", "description": "Minor Service Outage"},
        }
        self.outbox.record(
            [Event(key, "incident_opened", self.clock(), payload, (SUBSCRIBERS_CHANNEL,))]
        )
        return key

    def close(self) -> None:
        self.webhooks.close()
        self.store.close()


@pytest.fixture
def make_parts(tmp_path: Path, smtp_server) -> Iterator:
    made: list[Parts] = []

    def make(**options) -> Parts:
        folder = tmp_path / f"parts-{len(made)}"
        folder.mkdir()
        timing = {k: options.pop(k) for k in ("sleep", "monotonic") if k in options}
        config = load_config(write_config(folder, smtp_server.port, **options))
        made.append(Parts(config, **timing))
        return made[-1]

    yield make
    for parts in made:
        parts.close()


def test_each_matching_subscriber_gets_one_email_of_its_own(make_parts, smtp_server) -> None:
    parts = make_parts()
    everything = parts.subscribe("all@example.com")
    api = parts.subscribe("api@example.com", [COMPONENTS[0]])
    parts.subscribe("web@example.com", [COMPONENTS[1]])
    key = parts.incident(1, [COMPONENTS[0]])
    assert parts.fan_out.drain() == 2
    assert parts.mailer.drain() == 2
    assert parts.fan_out.drain() == 0
    assert parts.mailer.drain() == 0
    by_to = {m["To"]: m for m in smtp_server.messages}
    assert sorted(by_to) == ["all@example.com", "api@example.com"]
    tokens = Tokens(parts.config.status_page.subscriptions.secret)
    for address, subscriber_id in (("all@example.com", everything), ("api@example.com", api)):
        message = by_to[address]
        assert message["X-Envelope-To"] == address  # nobody else's address, anywhere
        assert message["X-Was-TLS"] == "yes"
        assert message["X-Authenticated"] == "yes"
        assert message["Subject"] == "Minor incident: Slow logins Bcc: everyone@example.com"
        assert message["Bcc"] is None
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        link = str(message["List-Unsubscribe"]).strip("<>")
        assert link.startswith(parts.config.status_page.subscriptions.base_url + "/unsubscribe?")
        assert tokens.read_unsubscribe(link.split("token=")[1]) == subscriber_id
        assert message["X-Uptime-SLA-Key"] == key
        html = message.get_body(("html",)).get_content()
        assert "&lt;b&gt;looking&lt;/b&gt;" in html
        assert link.replace("&", "&amp;") in html
        text = message.get_body(("plain",)).get_content()
        assert f"Unsubscribe: {link}" in text
    assert len({m["Message-ID"] for m in smtp_server.messages}) == 2


def test_a_resend_after_a_crash_before_the_mark_carries_the_same_message_id(
    make_parts, smtp_server
) -> None:
    parts = make_parts()
    parts.subscribe("a@example.com")
    parts.incident(1, [])
    parts.fan_out.drain()
    parts.mailer.drain()
    from sqlalchemy import text

    with parts.store.database.writing("undo the mark, as a crash before it would") as conn:
        conn.execute(
            text("UPDATE subscriber_delivery SET state = 'pending' WHERE key LIKE 'incident/%'")
        )
    assert parts.mailer.drain() == 1
    first, second = smtp_server.messages
    assert first["Message-ID"] == second["Message-ID"]
    assert first.get_body(("plain",)).get_content() == second.get_body(("plain",)).get_content()


@pytest.mark.parametrize("pipelining", [False, True], ids=["one by one", "pipelined"])
def test_one_connection_carries_many_messages_at_the_configured_rate(
    make_parts, smtp_server, pipelining: bool
) -> None:
    smtp_server.mailbox.pipelining = pipelining
    slept: list[float] = []
    now = [1000.0]

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    parts = make_parts(email="max_per_second: 5", sleep=sleep, monotonic=lambda: now[0])
    for n in range(10):
        parts.subscribe(f"s{n}@example.com")
    parts.incident(1, [])
    parts.fan_out.drain()
    assert parts.mailer.drain() == 10
    assert len(smtp_server.mailbox.connections) == 1
    assert sum(slept) == pytest.approx(9 * 0.2)  # 10 messages at 5 a second: 1.8 s of waits
    # Each once, in the order of the subscribers, and all marked sent.
    assert [m["To"] for m in smtp_server.messages] == [f"s{n}@example.com" for n in range(10)]
    assert parts.mailer.drain() == 0


@pytest.mark.parametrize("pipelining", [False, True], ids=["one by one", "pipelined"])
def test_a_refused_recipient_is_given_up_and_never_holds_back_the_others(
    make_parts, smtp_server, pipelining: bool
) -> None:
    smtp_server.mailbox.pipelining = pipelining
    parts = make_parts()
    for name in ("a", "gone", "z"):
        parts.subscribe(f"{name}@example.com")
    smtp_server.mailbox.refuse.add("gone@example.com")
    parts.incident(1, [])
    parts.fan_out.drain()
    assert parts.mailer.drain() == 2
    assert sorted(m["To"] for m in smtp_server.messages) == ["a@example.com", "z@example.com"]
    assert len(smtp_server.mailbox.connections) == 1  # the refusal did not cost the connection
    with parts.store.database.reading("states") as conn:
        states = Counter(conn.exec_driver_sql("SELECT state FROM subscriber_delivery").scalars())
    assert states[DeliveryState.GIVEN_UP] == 1


def test_a_server_that_is_down_holds_the_messages_until_it_is_back(make_parts, smtp_server) -> None:
    parts = make_parts()
    parts.subscribe("a@example.com")
    parts.incident(1, [])
    parts.fan_out.drain()
    smtp_server.down()
    assert parts.mailer.drain() == 0
    smtp_server.up()
    parts.mailer._resume_at = 0.0  # the backoff's wait, over
    assert parts.mailer.drain() == 1


def test_a_webhook_gets_signed_statuspage_json_with_the_event_id(
    make_parts, https_server, monkeypatch, ca_file
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    receiver = https_server(routes={"/hook": Route(status=204, body=b"")})
    parts = make_parts()
    parts.subscribe("owner@example.com", url=receiver.url("/hook", host="127.0.0.1"))
    key = parts.incident(1, [COMPONENTS[2]])
    assert parts.fan_out.drain() == 1
    assert parts.webhooks.drain() == 1
    (request,) = receiver.requests
    assert signed_by("whsec_sentinel", request.body, request.headers["x-uptime-sla-signature"])
    assert request.headers["x-uptime-sla-event-id"] == key
    body = json.loads(request.body)
    assert set(body) == {"meta", "page", "incident"}
    assert body["meta"]["event_id"] == key
    assert body["meta"]["unsubscribe"].startswith(parts.links.unsubscribe("x")[:40])
    assert body["page"]["status_indicator"] == "minor"
    incident = body["incident"]
    assert incident["id"] == "op1"
    assert incident["shortlink"] == "https://status.example.com/incidents/op1.html"
    assert incident["status"] == "investigating"
    assert incident["components"] == [{"id": "-b-search-b-more-", "name": COMPONENTS[2]}]
    assert incident["incident_updates"][0]["body"] == "We are <b>looking</b> into it."
    assert parts.webhooks.drain() == 0


def test_a_failing_webhook_is_retried_after_1_5_and_30_minutes_then_given_up(
    make_parts, https_server, monkeypatch, ca_file
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    receiver = https_server(routes={"/hook": Route(status=503)})
    parts = make_parts()
    parts.subscribe("owner@example.com", url=receiver.url("/hook", host="127.0.0.1"))
    parts.incident(1, [])
    parts.fan_out.drain()
    start = parts.clock.now
    attempts = []
    for minutes in (0, 0.5, 1, 3, 6, 20, 36, 200):
        parts.clock.now = start + timedelta(minutes=minutes)
        parts.webhooks.drain()
        attempts.append(len(receiver.requests))
    assert attempts == [1, 1, 2, 2, 3, 3, 4, 4]
    ids = {r.headers["x-uptime-sla-event-id"] for r in receiver.requests}
    assert ids == {"incident/op1/opened"}


def test_ten_failures_in_a_row_disable_the_webhook_and_email_its_owner_once(
    make_parts, https_server, smtp_server, monkeypatch, ca_file
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    receiver = https_server(routes={"/hook": Route(status=500)})
    parts = make_parts()
    hook = parts.subscribe("owner@example.com", url=receiver.url("/hook", host="127.0.0.1"))
    for number in range(12):
        parts.incident(number, [])
    parts.fan_out.drain()
    while parts.webhooks.drain():
        pass
    parts.webhooks.drain()
    assert len(receiver.requests) == 10
    subscriber = parts.store.subscriptions.subscriber(hook)
    assert subscriber is not None
    assert subscriber.disabled is not None
    parts.mailer.drain()
    parts.mailer.drain()
    (told,) = smtp_server.messages
    assert told["To"] == "owner@example.com"
    assert "disabled" in told["Subject"]
    assert told["List-Unsubscribe"] is None
    parts.incident(99, [])
    assert parts.fan_out.drain() == 0


def test_a_redirect_is_a_failed_delivery_and_is_not_followed(
    make_parts, https_server, monkeypatch, ca_file
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    receiver = https_server(
        routes={
            "/hook": Route(
                status=302, headers={"Location": "/elsewhere", "Content-Length": "0"}, body=b""
            ),
            "/elsewhere": Route(),
        }
    )
    parts = make_parts()
    parts.subscribe("owner@example.com", url=receiver.url("/hook", host="127.0.0.1"))
    parts.incident(1, [])
    parts.fan_out.drain()
    assert parts.webhooks.drain() == 0
    assert [r.path for r in receiver.requests] == ["/hook"]


def test_a_webhook_is_checked_again_at_each_delivery(
    make_parts, https_server, monkeypatch, ca_file
) -> None:
    """Subscribed while allowed; now the host resolves to loopback and it is not."""
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    receiver = https_server(routes={"/hook": Route()})
    parts = make_parts(allow_private=False)
    parts.subscribe("owner@example.com", url=receiver.url("/hook", host="127.0.0.1"))
    parts.incident(1, [])
    parts.fan_out.drain()
    assert parts.webhooks.drain() == 0
    assert receiver.requests == []


def test_an_events_content_rendered_once_reads_the_same_as_rendered_afresh(make_parts) -> None:
    """The RenderedEvents cache: every subscriber's message equals one from a composer that
    has rendered nothing yet."""
    parts = make_parts()
    for name in ("a", "b", "c"):
        parts.subscribe(f"{name}@example.com", [COMPONENTS[0]] if name == "b" else [])
    for number in range(3):
        parts.incident(number, [COMPONENTS[0]])
    parts.fan_out.drain()
    due = parts.store.subscriptions.due_messages(SubscriberKind.EMAIL, parts.clock(), 100)
    cached = Composer(parts.config, Renderer("UTC"), parts.links)
    for message in due:
        fresh = Composer(parts.config, Renderer("UTC"), parts.links)
        assert cached.email(message) == fresh.email(message)
