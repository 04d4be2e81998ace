"""Operator text is data on every channel: line breaks never reach a header, nothing in a
title or an update can mention anyone on Slack, Slack's limits hold for any length, and
each email recipient gets a message of its own."""

from __future__ import annotations

import json

from support.notifying import open_incident, step

from monitor.config import SlackSettings
from monitor.notify.channels import Outcome, SlackChannel
from monitor.notify.messages import CONTINUED, MAX_BLOCKS, SECTION_LIMIT, Message

BREAKS = ["\r\n", "\n", "\r", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


def test_a_line_break_in_a_title_reason_or_component_reaches_every_channel_on_one_line(
    notifier, clock, slack_receiver, smtp_server
) -> None:
    monitor = notifier(  # YAML escapes: U+2028 and NEL
        r"""
        status_page:
          components: [{name: "Public\u2028API", services: [public-api]}]
        maintenance:
          - {start: 2026-03-10T12:30:00Z, end: 2026-03-10T13:00:00Z, services: [public-api],
             reason: "database\Nupgrade"}
        """
    )
    for n, brk in enumerate(BREAKS):  # one incident per kind of line break, opened in order
        title = f"Search down{brk}Bcc: victim@example.com"
        clock.advance(seconds=1)
        open_incident(
            monitor.store,
            f"i{n:02d}",
            title,
            f"Errors{brk}on search.",
            clock.now,
            ("Public\u2028API",),
        )  # as `incident open --component` stores it
    clock.advance(minutes=31)  # the window starts: one more message behind the incidents
    assert step(monitor) == 2 * (len(BREAKS) + 1)  # on Slack and by email: none wedged
    subjects = [str(m["Subject"]) for m in smtp_server.messages]
    assert subjects == [
        *["Major outage: Search down Bcc: victim@example.com"] * len(BREAKS),
        "Maintenance in progress: database upgrade",
    ]
    assert all(m["Bcc"] is None for m in smtp_server.messages)
    assert {m["X-Envelope-To"] for m in smtp_server.messages} == {"subscribers@example.com"}
    assert [p.title for p in slack_receiver.posts] == subjects
    assert all(len(p.body["text"].splitlines()) == 1 for p in slack_receiver.posts)
    plain = smtp_server.messages[0].get_body(("plain",)).get_content()
    assert "affecting Public\u2028API since" in plain  # a body may keep its line breaks


def test_no_slack_field_can_mention_anyone_or_link_anywhere(
    notifier, clock, slack_receiver
) -> None:
    monitor = notifier("")
    title = "<!channel> <https://evil.example/login|log in> & co"
    message = "<!here> <@U024BE7LH> <#C0001> <!subteam^S01> see <https://evil.example>"
    open_incident(monitor.store, "i1", title, message, clock.now)
    step(monitor)
    (post,) = [p for p in slack_receiver.posts if p.path != "/finance"]
    raw = json.dumps(post.body)
    assert "<" not in raw
    assert ">" not in raw
    assert post.body["text"].startswith(
        "Major outage: &lt;!channel&gt; &lt;https://evil.example/login|log in&gt; &amp; co"
    )
    assert "&lt;!here&gt; &lt;@U024BE7LH&gt;" in post.text


def test_an_update_of_sixty_paragraphs_fits_slack_and_ends_with_the_incident_link(
    notifier, clock, slack_receiver, smtp_server
) -> None:
    monitor = notifier("status_page: {url: 'https://status.example.com'}\n")
    paragraphs = [f"Step {n}: we moved shard {n} & checked <it>." for n in range(60)]
    paragraphs[3] = "x" * 2000 + " <&> " * 400  # 4,000 characters, 6,400 once escaped
    open_incident(monitor.store, "i1", "Long", "\n\n".join(paragraphs), clock.now)
    step(monitor)
    (post,) = slack_receiver.posts
    blocks = post.body["blocks"]
    assert len(blocks) == MAX_BLOCKS
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert all(len(s) <= SECTION_LIMIT for s in sections)
    assert sections[-1] == (
        "… (continued on the status page) <https://status.example.com/incidents/i1.html>"
    )
    assert sections[-1].startswith(CONTINUED)
    assert sections[1] == "Step 0: we moved shard 0 &amp; checked &lt;it&gt;."
    assert all("&lt;&amp;&gt;" in s for s in sections[5:7])  # the long one, cut in pieces
    plain = smtp_server.messages[0].get_body(("plain",)).get_content()
    assert "Step 59:" in plain  # email is not cut


def test_each_recipient_gets_a_message_of_its_own(notifier, clock, smtp_server) -> None:
    monitor = notifier("", to="[ops@example.com, cto@example.com, ops@example.com]")
    open_incident(monitor.store, "i1", "Search errors", "Errors.", clock.now)
    step(monitor)
    mails = smtp_server.messages
    assert [m["X-Envelope-To"] for m in mails] == ["ops@example.com", "cto@example.com"]
    assert [m["To"] for m in mails] == ["ops@example.com", "cto@example.com"]
    assert all(m["Cc"] is None and m["Bcc"] is None for m in mails)
    assert len({m["Message-ID"] for m in mails}) == 2


def test_a_key_outside_ascii_still_reaches_slack_escaped_in_its_header(slack_receiver) -> None:
    settings = SlackSettings(name="status", webhook_url=slack_receiver.url())
    message = Message("incident/café/opened", "incident_opened", "Café down", "t", "", [])
    assert SlackChannel(settings).send(message).outcome is Outcome.SENT
    (post,) = slack_receiver.posts
    assert post.headers["X-Uptime-SLA-Key"] == "incident/caf\\xe9/opened"
