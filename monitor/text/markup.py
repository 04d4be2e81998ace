"""Text for the documents the status site writes: HTML, SVG and the Atom feed.

XML 1.0 cannot carry most control characters, not even as character references: an
operator's message holding one would make the whole feed unreadable to every parser,
and in HTML they are parse errors a browser shows as boxes. `printable` replaces them
with U+FFFD, the replacement character; the templates' autoescaping then escapes the
text, once. Markup already rendered (a part of a page, made through this same function)
and numbers pass unchanged.
"""

from __future__ import annotations

import re

# Characters outside XML 1.0's Char production (tab, line feed and carriage return stay).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff\ud800-\udfff]")


def printable(value: object) -> object:
    """`value` with the characters HTML and XML 1.0 cannot show replaced (a Jinja2
    `finalize`: every expression of the status site's templates passes through it)."""
    if type(value) is str and _NOT_XML.search(value):  # not Markup: that is made already
        return _NOT_XML.sub("\ufffd", value)
    return value
