"""Operator text as data: one line for headers, escaped for Slack, XML and terminals."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest

from monitor.text.escape import LINE_BREAKS, single_line, slack, terminal, terminal_line, xml


@pytest.mark.parametrize("brk", [*LINE_BREAKS, "\r\n", "\n\n\n"])
def test_every_line_break_becomes_one_space(brk: str) -> None:
    assert single_line(f"Search{brk}Bcc: victim@example.com") == "Search Bcc: victim@example.com"
    assert single_line(f"a{brk}b").splitlines() == ["a b"]


def test_a_single_line_keeps_the_text_and_drops_other_control_characters() -> None:
    assert single_line("Slow\tlogins \x1b[31mred\x00 — café 🚀") == "Slow logins [31mred — café 🚀"


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("<!channel> now", "&lt;!channel&gt; now"),
        ("<!here>", "&lt;!here&gt;"),
        ("<@U024BE7LH>", "&lt;@U024BE7LH&gt;"),
        ("<https://evil.example|log in>", "&lt;https://evil.example|log in&gt;"),
        ("R&D &amp; ops", "R&amp;D &amp;amp; ops"),
    ],
)
def test_slack_text_can_form_no_mention_and_no_link(typed: str, sent: str) -> None:
    assert slack(typed) == sent
    assert not {"<", ">"} & set(slack(typed))


def test_xml_drops_what_xml_1_0_forbids_and_the_rest_parses() -> None:
    typed = "a\x00b\x08c\x1bd\x1fe\ufffef\uffffg\ud800h\ti\nj\rk €😀"
    kept = xml(typed)
    assert kept == "abcdefgh\ti\nj\rk €😀"
    element = ElementTree.Element("title")
    element.text = kept
    assert ElementTree.fromstring(ElementTree.tostring(element)).text == "abcdefgh\ti\nj\nk €😀"


def test_a_terminal_is_shown_control_characters_escaped_not_obeyed() -> None:
    assert terminal("ok\x1b[2J\x07\x9b\u202eevil\u2028x") == (
        "ok\\x1b[2J\\x07\\x9b\\u202eevil\\u2028x"
    )
    assert terminal("Slow logins — café 🚀 👨‍👩‍👧") == "Slow logins — café 🚀 👨‍👩‍👧"


def test_a_terminal_column_is_one_line_with_control_characters_shown() -> None:
    assert terminal_line("Slow\x1b[2J\r\nsearch\tnow\u2028!") == "Slow\\x1b[2J search now !"
