"""A provider's webhook sender, as the tests play it: signed JSON events over real HTTP.

sender = WebhookSender("http://[::1]:PORT/hooks/outfame", secret=b"k3y")
sender.send("evt_1")                      # on time, signed: 200
sender.send("evt_2", late=30)             # created 30 s ago: a late first attempt
sender.send("evt_3", signature="sha256=00")  # a forged one: 401
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from support.processes import SCRAPE_TIMEOUT


def sign(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class WebhookSender:
    def __init__(self, url: str, secret: bytes | None = None) -> None:
        self.url = url
        self.secret = secret
        self.answers: list[tuple[str, int]] = []  # (event id, status) in order

    def send(
        self,
        event_id: str,
        *,
        late: float = 0.0,
        signature: str | None = None,
        extra: dict[str, Any] | None = None,
        body: bytes | None = None,
    ) -> int:
        """POST one event created `late` seconds ago; returns the status it was answered."""
        created = datetime.now(UTC) - timedelta(seconds=late)
        if body is None:
            event = {"id": event_id, "created_at": created.isoformat(), "type": "job.done"}
            body = json.dumps({**event, **(extra or {})}).encode()
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["X-Uptime-SLA-Signature"] = signature
        elif self.secret is not None:
            headers["X-Uptime-SLA-Signature"] = sign(self.secret, body)
        status = httpx.post(
            self.url, content=body, headers=headers, timeout=SCRAPE_TIMEOUT
        ).status_code
        self.answers.append((event_id, status))
        return status
