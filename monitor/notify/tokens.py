"""Signed links for subscribers: a confirmation (valid 48 h) and an unsubscribe link.

A token is its fields as JSON, then an HMAC-SHA256 of them keyed with the subscription
secret, both base64url: it names a subscriber without anything to look up, and nobody
without the secret can make one (nor change what one confirms). The secret is read at
each use, so replacing its file takes effect at once (and voids every earlier link).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

CONFIRM_VALID = timedelta(hours=48)
MAX_TOKEN = 4096  # characters; a real one is a few hundred
_CONFIRM, _UNSUBSCRIBE = "confirm", "unsubscribe"
_CONTEXT = b"uptime-sla subscription link\0"


@dataclass(frozen=True)
class Confirmation:
    subscriber_id: str
    components: tuple[str, ...]  # component ids (slugs) the subscriber chose; () means all


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Tokens:
    def __init__(self, secret: Callable[[], bytes]) -> None:
        self._secret = secret

    def confirm(self, subscriber_id: str, components: Sequence[str], asked: datetime) -> str:
        """The link of a confirmation email sent for a request made at `asked`."""
        expires = int((asked + CONFIRM_VALID).timestamp())
        return self._sign([_CONFIRM, subscriber_id, expires, sorted(components)])

    def unsubscribe(self, subscriber_id: str) -> str:
        """Valid as long as the subscriber exists: an old email's link still works."""
        return self._sign([_UNSUBSCRIBE, subscriber_id])

    def read_confirm(self, token: str, now: datetime) -> Confirmation | None:
        """The confirmation a genuine, unexpired token stands for; None for any other."""
        fields = self._verify(token)
        if fields is None or len(fields) != 4 or fields[0] != _CONFIRM:
            return None
        _, subscriber_id, expires, components = fields
        if not isinstance(subscriber_id, str) or not isinstance(expires, int):
            return None
        if not isinstance(components, list) or not all(isinstance(c, str) for c in components):
            return None
        if now.timestamp() >= expires:
            return None
        return Confirmation(subscriber_id, tuple(components))

    def read_unsubscribe(self, token: str) -> str | None:
        fields = self._verify(token)
        if fields is None or len(fields) != 2 or fields[0] != _UNSUBSCRIBE:
            return None
        return fields[1] if isinstance(fields[1], str) else None

    def _sign(self, fields: list[Any]) -> str:
        body = json.dumps(fields, separators=(",", ":")).encode()
        return f"{_encode(body)}.{_encode(self._mac(body))}"

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._secret(), _CONTEXT + body, hashlib.sha256).digest()

    def _verify(self, token: str) -> list[Any] | None:
        if not token or len(token) > MAX_TOKEN or not token.isascii():
            return None
        body_text, dot, mac_text = token.partition(".")
        if not dot:
            return None
        try:
            body, mac = _decode(body_text), _decode(mac_text)
        except (binascii.Error, ValueError):
            return None
        if not hmac.compare_digest(mac, self._mac(body)):
            return None
        try:
            fields = json.loads(body)
        except ValueError:
            return None
        return fields if isinstance(fields, list) and fields else None
