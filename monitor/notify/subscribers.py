"""Notices to the status page's subscribers: the fan-out, the emails, the webhooks.

The outbox records each event once with a delivery on the `subscribers` channel. Fanning
it out turns that one delivery into a message per matching subscriber (one key per event
and subscriber) and marks it done, in one transaction (`Store.fan_out`): a crash before
the commit fans it out again, never twice. Then:

- email: one monitor at a time (a lease) sends the due messages in order over one SMTP
  connection, at most `notifications.email.max_per_second`, marking each right after the
  server accepts it. A crash between the two sends it again after the restart, with the
  same Message-ID (derived from the event and the subscriber). A message the server
  refuses for good (5xx) is given up at once; a transient failure holds the channel back
  with backoff, until the message is `give_up_after` old.
- webhooks: signed JSON in Statuspage's shape, retried after 1, 5 and 30 minutes, the
  address checked again at each delivery; the tenth failure in a row disables the webhook
  and queues one email to its owner.

Messages to subscribers never name another subscriber; every email carries its own
unsubscribe link and the RFC 8058 one-click headers.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import re
import smtplib
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.header import Header
from email.utils import format_datetime
from html import escape
from typing import Any
from urllib.parse import quote, urlsplit

from monitor.config import Config, EmailSettings, SubscriptionSettings, page_id, slug
from monitor.metrics.collectors import NOTIFY_FAILED, NOTIFY_GIVEN_UP, NOTIFY_SENT, NotifyMetrics
from monitor.notify.channels import BoundedSMTP
from monitor.notify.dispatcher import LEASE_MARGIN_SECONDS
from monitor.notify.messages import COLOURS, Renderer
from monitor.notify.outbox import Delivery, Outbox
from monitor.notify.tokens import Tokens
from monitor.notify.webhooks import (
    DEADLINE,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    WebhookError,
    WebhookPoster,
    signature,
)
from monitor.status.wording import incident_path, page_link
from monitor.store import Store
from monitor.store.subscribers import Due
from monitor.text.escape import single_line
from sla.vocabulary import (
    SUBSCRIBER_EMAIL_CHANNEL,
    SUBSCRIBER_WEBHOOK_CHANNEL,
    SUBSCRIBERS_CHANNEL,
    DeliveryState,
    EventKind,
    SubscriberKind,
)

log = logging.getLogger(__name__)
Mark = Callable[[str, str, str, datetime], None]  # subscriber id, key, state, now

FAN_OUT_LEASE_SECONDS = 90.0  # one transaction per event: far shorter
RENEW_SECONDS = 10.0  # a sender renews its lease at least this often
BATCH = 500  # messages read at once
RETRY_AFTER = (60.0, 300.0, 1800.0)  # a webhook delivery's retries
DISABLE_AFTER = 10  # failed webhook deliveries in a row
WEBHOOK_WORKERS = 8  # webhooks posted at once
MAX_BACKOFF_SECONDS = 60.0


class Links:
    """The public URLs in messages: confirm and unsubscribe, with signed tokens."""

    def __init__(self, settings: SubscriptionSettings) -> None:
        self._base = settings.base_url
        self._tokens = Tokens(settings.secret)

    def confirm(self, subscriber_id: str, components: Sequence[str], asked: datetime) -> str:
        token = self._tokens.confirm(subscriber_id, [slug(c) for c in components], asked)
        return f"{self._base}/confirm?token={quote(token)}"

    def unsubscribe(self, subscriber_id: str) -> str:
        return f"{self._base}/unsubscribe?token={quote(self._tokens.unsubscribe(subscriber_id))}"


_WHY, _UNSUBSCRIBE = "uptimeslaWHYd41d8cd98f", "uptimeslaUNSUBSCRIBEd41d8cd98f"  # marks in HTML


def header_text(value: str) -> str:
    """A header's value: as it is when it is short ASCII, else RFC 2047 encoded words."""
    if value.isascii() and len(value) < 900 and "=?" not in value:
        return value
    return Header(value, "utf-8").encode(linesep="\r\n")


def mime(headers: list[tuple[str, str]], text: str, html: str, *, boundary: str) -> bytes:
    """multipart/alternative of the text and the HTML, both UTF-8 in base64 (any line
    length, any character, passes every relay unchanged)."""

    def part(kind: str, content: str) -> str:
        encoded = base64.encodebytes(content.encode()).decode("ascii").replace("\n", "\r\n")
        return (
            f'--{boundary}\r\nContent-Type: text/{kind}; charset="utf-8"\r\n'
            f"Content-Transfer-Encoding: base64\r\n\r\n{encoded}"
        )

    head = "".join(f"{name}: {value}\r\n" for name, value in headers)
    return (
        f"{head}MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'
        f"{part('plain', text)}{part('html', html)}--{boundary}--\r\n"
    ).encode("ascii")


def message_id(subscriber_id: str, key: str) -> str:
    """The same for every sending of one message: a resend is recognisable as such."""
    digest = hashlib.sha256(f"subscriber\0{subscriber_id}\0{key}".encode()).hexdigest()[:32]
    return f"<{digest}@uptime-sla>"


def _delivery(due: Due) -> Delivery:
    return Delivery(
        due.key,
        SUBSCRIBER_EMAIL_CHANNEL,
        due.kind,
        due.occurred,
        due.payload,
        due.attempts,
        due.occurred,
    )


Content = tuple[str, str, str]  # a message's subject header, text, and HTML with footer marks


class RenderedEvents:
    """Each event's content, rendered once for all its subscribers: 10,000 messages of one
    event cost one rendering. A few events are sent at a time; past `size`, all are
    forgotten and rendered again when needed."""

    def __init__(self, render: Callable[[Due], Content], size: int = 64) -> None:
        self._render = render
        self._size = size
        self._kept: dict[str, Content] = {}

    def get(self, due: Due) -> Content:
        found = self._kept.get(due.key)
        if found is None:
            if len(self._kept) >= self._size:
                self._kept.clear()
            found = self._kept[due.key] = self._render(due)
        return found


class Composer:
    """Each subscriber's email or webhook body for a due message."""

    def __init__(self, config: Config, renderer: Renderer, links: Links) -> None:
        page = config.status_page
        assert page is not None
        assert config.notifications.email is not None
        self._title = page.title
        self._page_url = page.url
        self._page_id = page_id(page.url, page.title)
        self._sender = config.notifications.email.sender
        self._renderer = renderer
        self._links = links
        self._events = RenderedEvents(self._event_content)

    def email(self, due: Due) -> bytes:
        """The message to this subscriber, ready for SMTP.

        Built by hand, not with the email package's objects: those cost milliseconds per
        message, and 10,000 subscribers must get theirs within a minute. An event's
        subject, text and HTML are rendered once; each subscriber's message only adds
        its address, its Message-ID, its unsubscribe link and one line about why.
        """
        subscriber = due.subscriber
        subject, text, html = self._content_of(due)
        unsubscribe = None
        if due.kind not in (EventKind.SUBSCRIPTION_CONFIRM, EventKind.WEBHOOK_DISABLED):
            unsubscribe = self._links.unsubscribe(subscriber.id)
            chosen = ", ".join(subscriber.components) or "every component"
            why = (
                f"You get this because {subscriber.email} subscribed to {self._title}"
                f" updates ({chosen})."
            )
            footer = f"\n\n{why}\nUnsubscribe: {unsubscribe}\nref: {due.key}\n"
        else:
            why = f"This email went to {subscriber.email} only."
            footer = f"\n\n{why}\nref: {due.key}\n"
        html = html.replace(_WHY, escape(why)).replace(_UNSUBSCRIBE, escape(unsubscribe or ""))
        mid = message_id(subscriber.id, due.key)
        headers = [
            ("From", self._sender),
            ("To", subscriber.email),
            ("Subject", subject),
            ("Date", format_datetime(due.occurred)),
            ("Message-ID", mid),
            ("X-Uptime-SLA-Key", due.key),
            ("Auto-Submitted", "auto-generated"),  # RFC 3834: no auto-replies, please
        ]
        if unsubscribe is not None:
            headers += [
                ("List-Unsubscribe", f"<{unsubscribe}>"),
                ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            ]
        return mime(headers, text + footer, html, boundary=f"=_{mid[1:33]}")

    def _content_of(self, due: Due) -> Content:
        """The subject (as a header), the text and the HTML (with marks for the footer)."""
        if due.kind in (EventKind.SUBSCRIPTION_CONFIRM, EventKind.WEBHOOK_DISABLED):
            return self._own_content(due)
        return self._events.get(due)

    def _event_content(self, due: Due) -> Content:
        subject, text, paragraphs = self._renderer.content(_delivery(due))
        html = self._html(due, subject, paragraphs, unsubscribe=True)
        return header_text(single_line(subject)), text, html

    def _own_content(self, due: Due) -> Content:
        """A confirmation request, or the news that a webhook is disabled."""
        subscriber = due.subscriber
        host = urlsplit(subscriber.url).hostname or ""
        action = None
        if due.kind == EventKind.SUBSCRIPTION_CONFIRM:
            components = due.payload.get("components", [])
            subject = f"Confirm your subscription to {self._title}"
            link = self._links.confirm(subscriber.id, components, due.occurred)
            action = {
                "url": link,
                "label": "Confirm subscription",
                "note": "The link works for 48 hours.",
            }
            text = self._renderer.plain(
                "confirm.txt.j2",
                title=self._title,
                webhook=subscriber.kind == SubscriberKind.WEBHOOK,
                host=host,
                components=components,
                link=link,
            ).strip()
        else:
            subject = f"Your webhook for {self._title} is disabled"
            text = self._renderer.plain(
                "disabled.txt.j2",
                host=host,
                failures=DISABLE_AFTER,
                page=self._page_url or self._title,
            ).strip()
        # In HTML the link is a button (and spelled out below it), not a paragraph.
        paragraphs = [
            part.strip()
            for part in text.split("\n\n")
            if part.strip() and (action is None or action["url"] not in part)
        ]
        html = self._html(due, subject, paragraphs, unsubscribe=False, action=action)
        return header_text(single_line(subject)), text, html

    def _html(
        self,
        due: Due,
        subject: str,
        paragraphs: list[str],
        *,
        unsubscribe: bool,
        action: dict[str, str] | None = None,
    ) -> str:
        return self._renderer.html(
            "subscriber.html.j2",
            title=subject,
            paragraphs=paragraphs,
            key=due.key,
            colour=COLOURS.get(due.kind, "#0969da"),
            why=_WHY,
            unsubscribe=_UNSUBSCRIBE if unsubscribe else None,
            action=action,
        )

    def webhook(self, due: Due) -> bytes:
        """Statuspage's webhook shape: `meta`, `page` and `incident` (maintenance too, as
        Statuspage sends it: impact `maintenance`)."""
        p = due.payload
        page_status = p.get("page") or {}
        body: dict[str, Any] = {
            "meta": {
                "unsubscribe": self._links.unsubscribe(due.subscriber.id),
                "documentation": self._page_url,
                "generated_at": _iso(due.occurred),
                "event_id": due.key,
            },
            "page": {
                "id": self._page_id,
                "status_indicator": page_status.get("indicator"),
                "status_description": page_status.get("description"),
            },
            "incident": _incident(due, self._page_url),
        }
        return json.dumps(body, separators=(",", ":")).encode()


def _iso(value: datetime | str) -> str:
    """RFC 3339 UTC to the second, as Statuspage writes its times."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _incident(due: Due, page_url: str | None) -> dict[str, Any]:
    """Statuspage's incident object; an incident's `shortlink` is its own page."""
    p = due.payload
    parts = due.key.split("/")
    if due.kind.startswith("maintenance"):
        status = {"maintenance_announced": "scheduled", "maintenance_started": "in_progress"}
        state = status.get(due.kind, "completed")
        updated = {"scheduled": p["start"], "in_progress": p["start"]}.get(state, p["end"])
        names = p.get("affects", [])
        return {
            "id": parts[1],
            "name": p.get("reason", ""),
            "status": state,
            "impact": "maintenance",
            "created_at": _iso(p["start"]),
            "updated_at": _iso(updated),
            "resolved_at": _iso(p["end"]) if state == "completed" else None,
            "scheduled_for": _iso(p["start"]),
            "scheduled_until": _iso(p["end"]),
            "incident_updates": [
                {
                    "id": f"{parts[1]}-{state}",
                    "status": state,
                    "body": p.get("reason", ""),
                    "created_at": _iso(updated),
                    "incident_id": parts[1],
                }
            ],
            "components": [{"id": slug(name), "name": name} for name in names],
        }
    resolved = due.kind == "incident_resolved"
    update_id = parts[3] if len(parts) > 3 else f"{p['id']}-{parts[-1]}"
    return {
        "id": p["id"],
        "name": p.get("title", ""),
        "status": p.get("status", ""),
        "impact": p.get("impact", "none"),
        "created_at": _iso(p["started"]),
        "updated_at": _iso(p["at"]),
        "resolved_at": _iso(p["at"]) if resolved else None,
        "shortlink": page_link(page_url, incident_path(p["id"])) if page_url else None,
        "incident_updates": [
            {
                "id": update_id,
                "status": p.get("status", ""),
                "body": p.get("message", ""),
                "created_at": _iso(p["at"]),
                "incident_id": p["id"],
            }
        ],
        "components": [{"id": slug(name), "name": name} for name in p.get("components", [])],
    }


class FanOut:
    """Turns the `subscribers` channel's deliveries into one message per subscriber."""

    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        settings: SubscriptionSettings,
        clock: Callable[[], datetime],
        *,
        holder: str,
    ) -> None:
        self._store = store
        self._outbox = outbox
        self._clock = clock
        self._holder = holder
        wanted = (
            (SubscriberKind.EMAIL, settings.email),
            (SubscriberKind.WEBHOOK, settings.webhooks),
        )
        self._channels = [channel for channel, on in wanted if on]

    def drain(self) -> int:
        """Fan out every pending event, oldest first; returns the messages queued."""
        queued = 0
        lease = f"channel:{SUBSCRIBERS_CHANNEL}"
        while self._outbox.acquire(lease, self._holder, FAN_OUT_LEASE_SECONDS):
            delivery = self._outbox.head(SUBSCRIBERS_CHANNEL)
            if delivery is None:
                return queued
            p = delivery.payload
            touched = p.get("components", p.get("affects", []))
            count = self._store.subscriptions.fan_out(
                delivery.event_key, SUBSCRIBERS_CHANNEL, touched, self._channels, self._clock()
            )
            log.info("%s: %d subscribers to tell", delivery.event_key, count)
            queued += count
        return queued


@dataclass(frozen=True)
class _Outgoing:
    """A message for the SMTP session, with what it belongs to (a due message)."""

    item: Due
    sender: str
    to: str
    data: bytes


Settled = list[tuple[Due, Exception | None]]  # messages whose fate is known: None is sent


class _Smtp:
    """One SMTP connection for many messages, opened when needed and reopened if lost.

    The channels' BoundedSMTP: every message has the whole `smtp.timeout` for all of it,
    and no reply is read past its bounds. Where the server offers PIPELINING (RFC 2920),
    one write carries a message's content with the next message's MAIL, RCPT and DATA,
    and one read their replies: a round trip a message instead of four. So `send` says
    how the message before ended (and this one, if its envelope was refused); `flush`
    ends the last.
    """

    def __init__(self, settings: EmailSettings, hostname: str) -> None:
        self._settings = settings.smtp
        self._hostname = hostname
        self._server: BoundedSMTP | None = None
        self._pipelining = False
        self._waiting: _Outgoing | None = None  # envelope accepted, content not yet sent

    @property
    def waiting(self) -> Due | None:
        """The message whose content goes out with the next envelope (or at flush)."""
        return None if self._waiting is None else self._waiting.item

    def send(self, outgoing: _Outgoing) -> Settled:
        try:
            return self._send(outgoing)
        except smtplib.SMTPServerDisconnected:  # it closed an idle or long connection
            waiting, self._waiting = self._waiting, None
            self.close()
            settled = [] if waiting is None else self._send(waiting) + self.flush()
            return settled + self._send(outgoing)

    def flush(self) -> Settled:
        """Send the content still waiting and read how it ended."""
        waiting, self._waiting = self._waiting, None
        if waiting is None:
            return []
        assert self._server is not None
        self._server.renew(self._settings.timeout)
        self._server.send(_content(waiting.data))
        return [(waiting.item, _final(*self._server.getreply()))]

    def _send(self, outgoing: _Outgoing) -> Settled:
        if self._server is None:
            self._open()
        server = self._server
        assert server is not None
        server.renew(self._settings.timeout)
        envelope = f"MAIL FROM:<{outgoing.sender}>\r\nRCPT TO:<{outgoing.to}>\r\nDATA\r\n"
        if not self._pipelining:
            return self._one_by_one(server, outgoing)
        waiting, self._waiting = self._waiting, None
        server.send((_content(waiting.data) if waiting else b"") + envelope.encode())
        settled: Settled = []
        if waiting is not None:
            settled.append((waiting.item, _final(*server.getreply())))
        replies = [server.getreply() for _ in range(3)]
        refused = self._envelope(server, outgoing, replies)
        if refused is None:
            self._waiting = outgoing  # its content goes with the next message's envelope
        else:
            settled.append((outgoing.item, refused))
        return settled

    def _one_by_one(self, server: BoundedSMTP, outgoing: _Outgoing) -> Settled:
        replies: list[tuple[int, bytes]] = []
        commands = [f"MAIL FROM:<{outgoing.sender}>", f"RCPT TO:<{outgoing.to}>", "DATA"]
        for command, wanted in zip(commands, (250, 250, 354), strict=True):
            replies.append(server.docmd(command))
            if replies[-1][0] not in (wanted, 251):
                break
        refused = self._envelope(server, outgoing, replies)
        if refused is not None:
            return [(outgoing.item, refused)]
        server.send(_content(outgoing.data))
        return [(outgoing.item, _final(*server.getreply()))]

    def _envelope(
        self, server: BoundedSMTP, outgoing: _Outgoing, replies: list[tuple[int, bytes]]
    ) -> Exception | None:
        """None when MAIL, RCPT and DATA were accepted, else why (the session is reset)."""
        (mail, mail_text), *rest = replies
        rcpt, rcpt_text = rest[0] if rest else (0, b"")
        data, data_text = rest[1] if len(rest) > 1 else (0, b"")
        if mail == 250 and rcpt in (250, 251) and data == 354:
            return None
        if data == 354:  # the server took DATA after all: end it empty, then start over
            server.send(b".\r\n")
            server.getreply()
        with contextlib.suppress(smtplib.SMTPException, OSError):
            server.rset()
        if mail != 250:
            return smtplib.SMTPSenderRefused(mail, mail_text, outgoing.sender)
        if rcpt not in (250, 251):
            return smtplib.SMTPRecipientsRefused({outgoing.to: (rcpt, rcpt_text)})
        return smtplib.SMTPDataError(data, data_text)

    def _open(self) -> None:
        smtp = self._settings
        server = BoundedSMTP(time.monotonic() + smtp.timeout, self._hostname)
        try:
            server.connect(smtp.host, smtp.port)
            if smtp.starttls:
                server.starttls(context=ssl.create_default_context())
            if smtp.username is not None:
                server.login(smtp.username, smtp.password() or "")
            server.ehlo_or_helo_if_needed()
            if server.sock is not None:  # commands are small writes: send them at once
                server.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except BaseException:
            server.close()
            raise
        self._server = server
        self._pipelining = server.has_extn("pipelining")

    def close(self) -> None:
        """End the session; a message still waiting for its content is not sent."""
        self._waiting = None
        server, self._server = self._server, None
        if server is not None:
            server.renew(self._settings.timeout)
            server.quit_quietly()


def _content(data: bytes) -> bytes:
    return _DOTS.sub(b"..", data) + b".\r\n"


def _final(code: int, text: bytes) -> Exception | None:
    """How the server answered a message's content: None when it took it."""
    return None if code == 250 else smtplib.SMTPDataError(code, text)


_DOTS = re.compile(rb"^\.", re.M)  # a line starting with "." gets another (RFC 5321 4.5.2)


def _refused_for_good(exc: Exception) -> bool:
    """A 5xx for this message (its recipient or content): retrying will not help."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500 and not isinstance(exc, smtplib.SMTPAuthenticationError)
    return isinstance(exc, ValueError)  # the email library refused to build it


def _describe(exc: Exception, settings: EmailSettings) -> str:
    where = f"{settings.smtp.host}:{settings.smtp.port}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _ in exc.recipients.values()})
        return f"{where} refused the recipient: SMTP {codes[0] if codes else '?'}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{where} refused: SMTP {exc.smtp_code}"
    return f"cannot send via {where}: {type(exc).__name__}"


class SubscriberMailer:
    """Sends the subscribers' due emails (notices, confirmations, disabled webhooks)."""

    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        composer: Composer,
        *,
        settings: EmailSettings,
        metrics: NotifyMetrics,
        clock: Callable[[], datetime],
        holder: str,
        give_up_after: float,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._store = store
        self._outbox = outbox
        self._composer = composer
        self._settings = settings
        self._metrics = metrics
        self._clock = clock
        self._holder = holder
        self._give_up_after = timedelta(seconds=give_up_after)
        self._monotonic = monotonic
        self._sleep = sleep
        self._interval = 1.0 / settings.max_per_second
        self._next_send = 0.0
        self._failures = 0
        self._resume_at = 0.0
        # Longer than one message may take (smtp.timeout, all in) and the renewal interval.
        self._lease = settings.smtp.timeout + RENEW_SECONDS + LEASE_MARGIN_SECONDS
        self._hostname: str | None = None

    def drain(self) -> int:
        """Send what is due; stop at a transient failure (and wait before the next try)."""
        if self._monotonic() < self._resume_at:
            return 0
        lease = f"channel:{SUBSCRIBER_EMAIL_CHANNEL}"
        if self._hostname is None:
            self._hostname = socket.getfqdn()
        smtp = _Smtp(self._settings, self._hostname)
        try:
            with self._store.subscriptions.message_marks() as mark:
                return self._send_all(smtp, mark, lease)
        finally:
            smtp.close()

    def _send_all(self, smtp: _Smtp, mark: Mark, lease: str) -> int:
        sent = 0
        while self._outbox.acquire(lease, self._holder, self._lease):
            renewed = self._monotonic()
            due = self._store.subscriptions.due_messages(SubscriberKind.EMAIL, self._clock(), BATCH)
            if not due:
                return sent
            for message in due:
                if self._monotonic() - renewed > RENEW_SECONDS:
                    if not self._outbox.acquire(lease, self._holder, self._lease):
                        return sent + (self._flush(smtp, mark) or 0)
                    renewed = self._monotonic()
                outcome = self._send(smtp, mark, message)
                if outcome is None:
                    return sent
                sent += outcome
            flushed = self._flush(smtp, mark)  # the batch's last message
            if flushed is None:
                return sent
            sent += flushed
        return sent

    def _send(self, smtp: _Smtp, mark: Mark, due: Due) -> int | None:
        """Messages known sent (this one, or the one before it: see _Smtp), or None after
        a transient failure (stop: what was not known sent is sent again later)."""
        now = self._clock()
        if now - due.occurred > self._give_up_after:
            self._give_up(due, now, "older than give_up_after")
            return 0
        try:
            email = self._composer.email(due)
        except ValueError as exc:
            self._give_up(due, now, f"cannot build it: {exc}")
            return 0
        self._pace()
        outgoing = _Outgoing(due, self._settings.sender, due.subscriber.email, email)
        return self._settle(smtp, mark, lambda: smtp.send(outgoing), due.kind)

    def _settle(
        self, smtp: _Smtp, mark: Mark, step: Callable[[], Settled], kind: str
    ) -> int | None:
        """Run a step of the session and mark what it settled; None: stop (transient)."""
        try:
            settled = step()
        except (smtplib.SMTPException, OSError, ValueError) as exc:
            self._transient(smtp, exc, kind)
            return None
        sent = 0
        for due, problem in settled:
            if problem is None:
                mark(due.subscriber.id, due.key, DeliveryState.SENT, self._clock())
                self._metrics.count(NOTIFY_SENT, SUBSCRIBER_EMAIL_CHANNEL, due.kind)
                self._failures = 0
                sent += 1
            elif _refused_for_good(problem):  # no to this one: the session goes on
                self._give_up(due, self._clock(), _describe(problem, self._settings))
            else:
                self._transient(smtp, problem, due.kind)
                return None
        return sent

    def _flush(self, smtp: _Smtp, mark: Mark) -> int | None:
        waiting = smtp.waiting
        return 0 if waiting is None else self._settle(smtp, mark, smtp.flush, waiting.kind)

    def _transient(self, smtp: _Smtp, exc: Exception, kind: str) -> None:
        smtp.close()
        self._failures += 1
        wait = min(2.0**self._failures, MAX_BACKOFF_SECONDS)
        self._resume_at = self._monotonic() + wait
        self._metrics.count(NOTIFY_FAILED, SUBSCRIBER_EMAIL_CHANNEL, kind)
        level = logging.WARNING if self._failures == 1 else logging.DEBUG
        problem = _describe(exc, self._settings)
        log.log(level, "%s: %s; retrying in %g s", SUBSCRIBER_EMAIL_CHANNEL, problem, wait)

    def _pace(self) -> None:
        """At most max_per_second: each send waits for its slot."""
        now = self._monotonic()
        if self._next_send > now:
            self._sleep(self._next_send - now)
        self._next_send = max(self._next_send, now) + self._interval

    def _give_up(self, due: Due, now: datetime, why: str) -> None:
        self._store.subscriptions.finish_message(
            due.subscriber.id, due.key, DeliveryState.GIVEN_UP, now
        )
        self._metrics.count(NOTIFY_GIVEN_UP, SUBSCRIBER_EMAIL_CHANNEL, due.kind)
        log.error("%s: gave up %s to a subscriber: %s", SUBSCRIBER_EMAIL_CHANNEL, due.key, why)


class WebhookDeliverer:
    """Posts the subscribers' due webhook deliveries, several at once."""

    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        composer: Composer,
        *,
        poster: WebhookPoster,
        metrics: NotifyMetrics,
        clock: Callable[[], datetime],
        holder: str,
    ) -> None:
        self._store = store
        self._outbox = outbox
        self._composer = composer
        self._poster = poster
        self._metrics = metrics
        self._clock = clock
        self._holder = holder
        self._pool = ThreadPoolExecutor(WEBHOOK_WORKERS, thread_name_prefix="webhook")

    def drain(self) -> int:
        lease = f"channel:{SUBSCRIBER_WEBHOOK_CHANNEL}"
        sent = 0
        # A round posts up to WEBHOOK_WORKERS x 4 deliveries, each within DEADLINE.
        seconds = 4 * DEADLINE + LEASE_MARGIN_SECONDS
        while self._outbox.acquire(lease, self._holder, seconds):
            due = self._store.subscriptions.due_messages(
                SubscriberKind.WEBHOOK, self._clock(), BATCH
            )
            if not due:
                return sent
            # One delivery per webhook at a time, its oldest first: a webhook sees its
            # events in order, and its run of failures is counted one by one.
            first = list({d.subscriber.id: d for d in reversed(due)}.values())[::-1]
            sent += sum(self._pool.map(self._deliver, first[: WEBHOOK_WORKERS * 4]))
        return sent

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _deliver(self, due: Due) -> int:
        subscriber = due.subscriber
        body = self._composer.webhook(due)
        assert subscriber.secret is not None
        headers = {SIGNATURE_HEADER: signature(subscriber.secret, body), EVENT_HEADER: due.key}
        try:
            status = self._poster.post(subscriber.url, body, headers)
            problem = None if 200 <= status < 300 else f"answered HTTP {status}"
        except WebhookError as exc:
            problem = str(exc)
        now = self._clock()
        if problem is None:
            self._store.subscriptions.finish_message(
                subscriber.id, due.key, DeliveryState.SENT, now
            )
            self._store.subscriptions.webhook_outcome(
                subscriber.id, True, now, disable_after=DISABLE_AFTER
            )
            self._metrics.count(NOTIFY_SENT, SUBSCRIBER_WEBHOOK_CHANNEL, due.kind)
            return 1
        self._metrics.count(NOTIFY_FAILED, SUBSCRIBER_WEBHOOK_CHANNEL, due.kind)
        if due.attempts < len(RETRY_AFTER):
            retry = now + timedelta(seconds=RETRY_AFTER[due.attempts])
            self._store.subscriptions.retry_message(subscriber.id, due.key, retry)
        else:
            self._store.subscriptions.finish_message(
                subscriber.id, due.key, DeliveryState.GIVEN_UP, now
            )
            self._metrics.count(NOTIFY_GIVEN_UP, SUBSCRIBER_WEBHOOK_CHANNEL, due.kind)
        host = urlsplit(subscriber.url).hostname
        if self._store.subscriptions.webhook_outcome(
            subscriber.id, False, now, disable_after=DISABLE_AFTER
        ):
            log.warning(
                "%s: the webhook at %s is disabled (%s)", SUBSCRIBER_WEBHOOK_CHANNEL, host, problem
            )
        else:
            log.info("%s: %s to %s failed: %s", SUBSCRIBER_WEBHOOK_CHANNEL, due.key, host, problem)
        return 0
