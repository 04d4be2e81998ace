"""Text for the documents the status site writes: HTML, SVG and the Atom feed.

XML 1.0 cannot carry most control characters, not even as character references: an
operator's message holding one would make the whole feed unreadable to every parser,
and in HTML they are parse errors a browser shows as boxes. They become U+FFFD, the
replacement character, and the rest is escaped as markup. Markup already rendered (a
part of a page, made by a template through this same function) passes unchanged.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

# Characters outside XML 1.0's Char production (tab, line feed and carriage return stay).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff\ud800-\udfff]")


def markup_text(value: object) -> Markup:
    """`value` as text safe in HTML and XML 1.0 content and attribute values."""
    if isinstance(value, Markup):
        return value
    return escape(_NOT_XML.sub("\ufffd", str(value)))
