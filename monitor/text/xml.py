"""Text for XML 1.0 documents (the status site's Atom feed).

XML 1.0 cannot carry most control characters, not even as character references: an
operator's message holding one would make the whole feed unreadable to every parser.
They become U+FFFD, the replacement character, and the rest is escaped as markup.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

# Characters outside XML 1.0's Char production (tab, line feed and carriage return stay).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def xml_text(text: object) -> Markup:
    """`text` escaped for XML 1.0 content or attribute values."""
    return escape(_NOT_XML.sub("\ufffd", str(text)))
