"""What each event says: a title, plain text, HTML and Slack Block Kit, from Jinja2 templates.

The wording follows the status page's (investigating, identified, monitoring, resolved;
scheduled, in progress, completed). Every message carries its event's key ("ref: ...")
so a receiver can recognise the rare duplicate of a crash between send and mark.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from monitor.notify.outbox import Delivery
from sla.timestamps import local_time
from sla.vocabulary import OPERATOR_STATUSES, EventKind, Impact

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

    def __init__(self, timezone: str) -> None:
        self._zone = ZoneInfo(timezone)
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

    def render(self, delivery: Delivery) -> Message:
        p = delivery.payload
        context = {
            "kind": delivery.kind,
            "EventKind": EventKind,
            "p": p,
            "when": self.when,
            "status_word": STATUS_WORDS.get(p.get("status", ""), "Update"),
            "impact_word": IMPACT_WORDS.get(p.get("impact", Impact.NONE), "Incident"),
        }
        title = self._plain.get_template("title.j2").render(context).strip()
        text = self._plain.get_template("body.txt.j2").render(context).strip()
        paragraphs = [part.strip() for part in text.split("\n\n") if part.strip()]
        html = self._env.get_template("email.html.j2").render(
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
            blocks=_blocks(title, paragraphs, delivery.event_key),
            to=tuple(p.get("to", ())),
            attachments=tuple(
                Attachment(a["filename"], base64.b64decode(a["content"]), a["mime"])
                for a in p.get("attachments", ())
            ),
        )


def _blocks(title: str, paragraphs: list[str], key: str) -> list[dict[str, Any]]:
    """Block Kit for a phone: a short header, one section per paragraph, the ref last."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150], "emoji": True}}
    ]
    blocks += [
        {"type": "section", "text": {"type": "mrkdwn", "text": _mrkdwn(part)[:3000]}}
        for part in paragraphs
    ]
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"ref: `{key}`"}]})
    return blocks


def _mrkdwn(text: str) -> str:
    """Slack's three control characters, escaped as its docs ask."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
