"""Operator and customer text as data, converted for the sink it is written to.

Titles, messages, maintenance reasons, component and customer names are accepted as typed
(never refused) and made safe where they are written, by one function per sink:

- `single_line`: for every header (an email Subject, a Slack header, a terminal column):
  each run of line breaks (CR, LF, VT, FF, the separators 0x1C-0x1E, NEL, U+2028, U+2029)
  becomes one space, a tab a space, and other control characters are dropped;
- `slack`: Slack mrkdwn and plain text, whose control characters `&`, `<`, `>` are escaped,
  so no `<!channel>`, `<!here>`, `<@U...>` or `<url|label>` can be formed from text;
- `xml`: XML 1.0 (the Atom feed, SVG badges), which cannot hold most control characters
  at all (not even as `&#...;`): they are dropped (the serialiser escapes `&`, `<`, `>`);
- `terminal`: a terminal, where control characters are shown escaped (`\\x1b`, `\\u202e`)
  instead of moving the cursor, colouring the screen or reordering the line
  (`terminal_line` for a column of a table: line breaks and tabs a space first).

Pure string work that never raises, so it is safe on anything a user typed.
"""

from __future__ import annotations

import re
import unicodedata

# What a mail client, a terminal or Python's str.splitlines takes for the end of a line.
LINE_BREAKS = "\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029"
_BREAK_RUNS = re.compile(f"[{re.escape(LINE_BREAKS)}]+")
# C0 (but tab and the breaks above), DEL and C1 (but NEL): dropped from a single line.
_OTHER_CONTROLS = re.compile("[\x00-\x08\x0e-\x1b\x1f\x7f\x80-\x84\x86-\x9f]")
# XML 1.0's Char production, negated: what no XML document may contain.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# The bidirectional controls that reorder what a terminal shows ("Trojan Source").
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_SLACK = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def single_line(text: str) -> str:
    """`text` as one line: line breaks become one space, other control characters go."""
    text = _BREAK_RUNS.sub(" ", text).replace("\t", " ")
    return _OTHER_CONTROLS.sub("", text)


def slack(text: str) -> str:
    """`text` for any Slack text field: `&`, `<` and `>` as the entities Slack decodes."""
    return text.translate(_SLACK)


def xml(text: str) -> str:
    """`text` without the characters XML 1.0 forbids (most C0 controls, U+FFFE, U+FFFF,
    lone surrogates); escaping `&`, `<`, `>` is the serialiser's (ElementTree, Jinja2)."""
    return _NOT_XML.sub("", text)


def _shown(char: str) -> str:
    if unicodedata.category(char) not in ("Cc", "Zl", "Zp") and char not in _BIDI:
        return char
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def terminal_line(text: str) -> str:
    """`text` as one column of a terminal line: line breaks and tabs become one space,
    the other control characters are shown escaped (see `terminal`)."""
    return terminal(_BREAK_RUNS.sub(" ", text).replace("\t", " "))


def terminal(text: str) -> str:
    """`text` for a terminal: control characters (escape sequences), bidirectional
    overrides and line or paragraph separators shown as `\\x..` / `\\u....`."""
    if text.isprintable():
        return text
    return "".join(_shown(char) for char in text)
