"""What a request may carry, checked before anything is stored.

A body is read to at most MAX_BODY bytes within BODY_SECONDS; it must be a form
(`application/x-www-form-urlencoded`) in UTF-8. Addresses are ASCII `local@domain`
(lower case, the way they are kept), and never start with a character a spreadsheet
reads as a formula, so the subscriber CSV is safe to open.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl

from monitor.config import StatusComponent, slug

MAX_BODY = 32 * 1024
BODY_SECONDS = 10.0
MAX_FIELDS = 256
FORM_TYPE = "application/x-www-form-urlencoded"
_ATOM = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_ADDRESS = re.compile(
    rf"(?P<local>{_ATOM}(?:\.{_ATOM})*)@(?P<domain>(?:{_LABEL}\.)+(?:[a-z]{{2,63}}|xn--[a-z0-9-]{{1,59}}))",
    re.ASCII,
)
_FORMULA = tuple("=+-@'\t\r")
ADDRESS_HINT = "is not an email address such as name@example.com"


class FormError(Exception):
    """What is wrong with a request, in words for the person who sent it."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def read_body(content_length: str | None, chunks: AsyncIterator[bytes]) -> bytes:
    """The whole body, or FormError 413 (too large) or 408 (too slow)."""
    if content_length is not None:
        if not content_length.isdigit():
            raise FormError(400, "The request's length is not a number.")
        if int(content_length) > MAX_BODY:
            raise FormError(413, "The request is too large.")

    async def collect() -> bytes:
        body = bytearray()
        async for chunk in chunks:
            body += chunk
            if len(body) > MAX_BODY:
                raise FormError(413, "The request is too large.")
        return bytes(body)

    try:
        return await asyncio.wait_for(collect(), BODY_SECONDS)
    except TimeoutError:
        raise FormError(408, "The request took too long to arrive.") from None


def parse_form(content_type: str | None, body: bytes) -> dict[str, list[str]]:
    """The fields of a urlencoded UTF-8 form, each with all its values."""
    kind, _, parameters = (content_type or "").partition(";")
    if kind.strip().lower() != FORM_TYPE:
        raise FormError(400, "Send the form as application/x-www-form-urlencoded.")
    charset = parameters.strip().lower().removeprefix("charset=").strip('"')
    if parameters.strip() and charset not in ("utf-8", "utf8"):
        raise FormError(400, "Send the form in UTF-8.")
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise FormError(400, "The form could not be read.") from None
    fields: dict[str, list[str]] = {}
    for name, value in pairs:
        if any(ord(c) < 32 and c not in "\t" for c in value) or "\x7f" in value:
            raise FormError(400, "The form holds control characters.")
        fields.setdefault(name, []).append(value)
    return fields


def one(fields: dict[str, list[str]], name: str, what: str) -> str:
    """The field's single value (FormError when it is missing, empty or repeated)."""
    values = fields.get(name, [])
    if len(values) != 1 or not values[0].strip():
        raise FormError(400, f"Enter {what}.")
    return values[0].strip()


def email_address(text: str) -> str:
    """The address as it is kept (lower case), or ValueError saying what a good one is."""
    address = text.strip().lower()
    match = _ADDRESS.fullmatch(address)
    if (
        match is None
        or len(address) > 254
        or len(match["local"]) > 64
        or address.startswith(_FORMULA)
    ):
        raise ValueError(ADDRESS_HINT)
    return address


@dataclass(frozen=True)
class Components:
    """The page's components, found by display name (what forms send) or by id."""

    names: tuple[str, ...]

    @classmethod
    def of(cls, components: Iterable[StatusComponent]) -> Components:
        return cls(tuple(c.name for c in components))

    def choose(self, given: Iterable[str]) -> tuple[str, ...]:
        """The names chosen, in page order; ValueError naming an unknown one."""
        by_id = {slug(name): name for name in self.names}
        chosen = set()
        for value in given:
            name = value if value in self.names else by_id.get(value.strip())
            if name is None:
                shown = value if len(value) <= 80 else value[:80] + "…"
                raise ValueError(f"There is no component named {shown!r}.")
            chosen.add(name)
        return tuple(name for name in self.names if name in chosen)

    def from_ids(self, ids: Iterable[str]) -> tuple[str, ...]:
        """Names of these ids (a confirmation link carries ids); unknown ones are gone."""
        wanted = set(ids)
        return tuple(name for name in self.names if slug(name) in wanted)
