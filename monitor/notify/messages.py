"""What each event says: a title, plain text, HTML and Slack Block Kit, from Jinja2 templates.

The wording follows the status page's (investigating, identified, monitoring, resolved;
scheduled, in progress, completed). Every message carries its event's key ("ref: ...")
so a receiver can recognise the rare duplicate of a crash between send and mark.

Operator text (titles, messages, reasons, component names) is data: the title is made one
line (it becomes an email Subject and a Slack header), and every Slack field is escaped
(`monitor.text.escape`). Slack takes at most MAX_BLOCKS blocks and SECTION_LIMIT
characters a section: a longer text is split into sections, and what does not fit is cut,
ending with CONTINUED and the status page's link.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from monitor.config import history_link
from monitor.notify.outbox import Delivery
from monitor.status.wording import incident_path, page_link
from monitor.text.escape import single_line, slack
from sla.timestamps import local_time
from sla.vocabulary import OPERATOR_STATUSES, EventKind, Impact

MAX_BLOCKS = 50  # Slack's limits for one message
SECTION_LIMIT = 3000
HEADER_LIMIT = 150
CONTINUED = "… (continued on the status page)"

# An update's status as a title says it; postmortem and anything else is an "Update".
STATUS_WORDS: dict[str, str] = {status: status.title() for status in OPERATOR_STATUSES}
IMPACT_WORDS: dict[str, str] = {
    Impact.MINOR: "Minor incident",
    Impact.MAJOR: "Major outage",
    Impact.CRITICAL: "Critical outage",
    Impact.NONE: "Incident",
}
# Slack attachment bar / HTML accent: red for trouble, blue for plans, green done.
COLOURS: dict[str, str] = {
    EventKind.INCIDENT_OPENED: "#d1242f",
    EventKind.INCIDENT_UPDATED: "#bf8700",
    EventKind.INCIDENT_RESOLVED: "#1a7f37",
    EventKind.MAINTENANCE_ANNOUNCED: "#0969da",
    EventKind.MAINTENANCE_STARTED: "#0969da",
    EventKind.MAINTENANCE_COMPLETED: "#1a7f37",
    EventKind.STATEMENT_READY: "#6e7781",
    EventKind.STATEMENT: "#6e7781",
}


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mime: str


@dataclass(frozen=True)
class Message:
    key: str
    kind: str
    title: str
    text: str
    html: str
    blocks: list[dict[str, Any]]
    to: tuple[str, ...] = ()  # set: these recipients instead of the channel's own
    attachments: tuple[Attachment, ...] = field(default=())


class Renderer:
    """Renders deliveries; one per process (the templates compile once)."""

    def __init__(self, timezone: str, status_url: str | None = None) -> None:
        self._zone = ZoneInfo(timezone)
        self._status_url = status_url
        self._env = Environment(
            loader=PackageLoader("monitor.notify", "templates"),
            autoescape=select_autoescape(["html.j2"]),
            undefined=StrictUndefined,
            keep_trailing_newline=False,
        )
        self._plain = Environment(
            loader=PackageLoader("monitor.notify", "templates"),
            autoescape=False,
            undefined=StrictUndefined,
        )

    def when(self, value: str) -> str:
        """A payload's RFC 3339 time as people read it, to the minute."""
        return local_time(datetime.fromisoformat(value), self._zone, seconds=False)

    def content(self, delivery: Delivery) -> tuple[str, str, list[str]]:
        """The event's title, its text, and the text's paragraphs."""
        p = delivery.payload
        context = {
            "kind": delivery.kind,
            "EventKind": EventKind,
            "p": p,
            "when": self.when,
            "status_word": STATUS_WORDS.get(p.get("status", ""), "Update"),
            "impact_word": IMPACT_WORDS.get(p.get("impact", Impact.NONE), "Incident"),
        }
        title = single_line(self._plain.get_template("title.j2").render(context)).strip()
        text = self._plain.get_template("body.txt.j2").render(context).strip()
        return title, text, [part.strip() for part in text.split("\n\n") if part.strip()]

    def html(self, template: str, **context: Any) -> str:
        """An HTML template of the notifications, autoescaped."""
        return self._env.get_template(template).render(**context)

    def plain(self, template: str, **context: Any) -> str:
        """A text template of the notifications (subjects, plain bodies)."""
        return self._plain.get_template(template).render(**context)

    def render(self, delivery: Delivery) -> Message:
        p = delivery.payload
        title, text, paragraphs = self.content(delivery)
        html = self.html(
            "email.html.j2",
            title=title,
            paragraphs=paragraphs,
            key=delivery.event_key,
            colour=COLOURS.get(delivery.kind, "#6e7781"),
        )
        return Message(
            key=delivery.event_key,
            kind=delivery.kind,
            title=title,
            text=f"{text}\n\nref: {delivery.event_key}\n",
            html=html,
            blocks=_blocks(title, paragraphs, delivery.event_key, self._link(delivery)),
            to=tuple(p.get("to", ())),
            attachments=tuple(
                Attachment(a["filename"], base64.b64decode(a["content"]), a["mime"])
                for a in p.get("attachments", ())
            ),
        )

    def _link(self, delivery: Delivery) -> str | None:
        """Where the whole text is: the incident's own page, else the page's history."""
        if self._status_url is None:
            return None
        if delivery.kind.startswith("incident") and "id" in delivery.payload:
            return page_link(self._status_url, incident_path(str(delivery.payload["id"])))
        return history_link(self._status_url)


def _blocks(title: str, paragraphs: list[str], key: str, link: str | None) -> list[dict[str, Any]]:
    """Block Kit for a phone: a short header, a section per paragraph (or per 3,000
    characters of one), the ref last; at most MAX_BLOCKS, every field escaped."""
    header = slack_pieces(title, HEADER_LIMIT)[0] if title else ""
    sections = [piece for part in paragraphs for piece in slack_pieces(part, SECTION_LIMIT)]
    room = MAX_BLOCKS - 2  # the header and the ref
    if len(sections) > room:
        end = slack(CONTINUED) + (f" <{slack(link)}>" if link else "")
        sections = [*sections[: room - 1], end]
    return [
        {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}},
        *({"type": "section", "text": {"type": "mrkdwn", "text": s}} for s in sections),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"ref: `{slack(key)}`"}]},
    ]


def slack_pieces(text: str, limit: int) -> list[str]:
    """`text` escaped for Slack, in pieces of at most `limit` characters once escaped, cut
    at a space where one is near (never inside an escape)."""
    pieces: list[str] = []
    while True:
        escaped = slack(text)
        if len(escaped) <= limit:
            return [*pieces, escaped] if escaped or not pieces else pieces
        size = 0
        for cut, char in enumerate(text):  # noqa: B007 (cut is used after the loop)
            size += len(slack(char))
            if size > limit:
                break
        space = text.rfind(" ", 0, cut + 1)
        if space > cut // 2:
            cut = space
        pieces.append(slack(text[:cut].rstrip()))
        text = text[cut:].lstrip()
