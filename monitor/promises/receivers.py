"""Webhook receivers: endpoints the provider delivers its webhooks to, so the monitor can
hold its delivery promise to account (docs/promises.md).

Each delivery is, in order: read (at most MAX_BODY bytes); its signature checked when the
receiver has a `secret_file` (a bad one is 401 and counted as `bad_signature` only);
its JSON read for the event id (`id_field`) and creation time (`sent_at_field`); then
classified against what was stored of that event, in the same transaction as it is stored:

- a first attempt: latency from creation to receipt; answered 503 when it is one of
  `fail_first_percent` (to observe the retries), else 200;
- a retry (the event was last answered 503): retry N, its delay since the previous
  attempt; answered 200 (503 for the first `fail_retries` retries of a chosen event);
- a duplicate (the event was answered 2xx already): answered 200, counted as a duplicate.

The routes are plain Starlette routes (`receiver_routes`), so the subscription service's
application can mount them on its own listener; `receiver_app` serves them on their own.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from monitor.config import WebhookReceiverSettings
from monitor.errors import MonitorError
from monitor.metrics.promises import Counts
from monitor.store import Store
from monitor.store.promises import Classified, EventState
from sla.promises import (
    ACCEPTED,
    BAD_SIGNATURE,
    DUPLICATE,
    FIRST,
    REJECTED,
    RETRY,
    chosen_to_fail,
)

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Uptime-SLA-Signature"
MAX_BODY = 1 << 20  # a webhook event is a few KiB
MAX_EVENT_ID = 200  # characters
# A share below 100 % never answers more than this many deliberate 503s in a row: the
# provider disables an endpoint after 10 consecutive failed deliveries.
MAX_FAILED_IN_A_ROW = 5


def signature(secret: bytes, body: bytes) -> str:
    """The header value a sender puts on `body`: `sha256=` and the HMAC-SHA256 in hex."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def signed(secret: bytes | None, body: bytes, header: str | None) -> bool:
    if secret is None:
        return True
    if header is None:
        return False
    return hmac.compare_digest(signature(secret, body), header.strip().lower())


def field(document: Any, path: str) -> Any:
    """`meta.event_id` of a JSON document (None when any step is missing)."""
    for name in path.split("."):
        if not isinstance(document, dict) or name not in document:
            return None
        document = document[name]
    return document


def event_id(value: Any) -> str | None:
    """An event id as text: a string or a whole number, not too long."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value)
    return text if 0 < len(text) <= MAX_EVENT_ID else None


def rfc3339(value: Any) -> datetime | None:
    """An RFC 3339 time with its offset, as aware UTC (None when it is anything else)."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError:
        return None
    return None if parsed.tzinfo is None else parsed.astimezone(UTC)


class BodyTooLarge(Exception):
    pass


class WebhookReceiver:
    """One receiver; `handle` is its Starlette endpoint."""

    def __init__(
        self,
        settings: WebhookReceiverSettings,
        store: Store,
        metrics: Counts,
        clock: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self._store = store
        self._metrics = metrics
        self._clock = clock
        self._lock = threading.Lock()  # classify runs in worker threads
        self._first_attempts = 0
        self._failed_in_a_row = 0

    @property
    def name(self) -> str:
        return self.settings.name

    async def handle(self, request: Request) -> Response:
        received = self._clock()
        try:
            body = await _read(request)
        except BodyTooLarge:
            self._metrics.delivery(self.name, FIRST, REJECTED)
            return _answer(413, "body too large")
        try:
            secret = self.settings.secret()
        except ValueError as exc:  # the file went missing or unreadable since start-up
            log.error("webhook receiver %s: %s", self.name, exc)
            return _answer(503, "receiver not ready")
        if not signed(secret, body, request.headers.get(SIGNATURE_HEADER)):
            self._metrics.delivery(self.name, FIRST, BAD_SIGNATURE)
            return _answer(401, "bad signature")
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            document = None
        identity = event_id(field(document, self.settings.id_field))
        if identity is None:
            self._metrics.delivery(self.name, FIRST, REJECTED)
            return _answer(400, f"no event id in {self.settings.id_field}")
        sent = None
        if self.settings.sent_at_field is not None:
            sent = rfc3339(field(document, self.settings.sent_at_field))
        latency = None if sent is None else (received - sent).total_seconds()
        try:
            found = await asyncio.to_thread(
                self._store.promises.record_delivery,
                self.name,
                identity,
                received,
                lambda state: self._classify(state, received, latency),
            )
        except MonitorError as exc:
            log.warning("webhook receiver %s: not stored (answered 503): %s", self.name, exc)
            return _answer(503, "not stored, retry later")
        self._count(found)
        if found.delivered:
            return _answer(found.answered, "duplicate" if found.kind == DUPLICATE else "accepted")
        return _answer(found.answered, "failed on purpose to observe retries")

    def _classify(
        self, state: EventState | None, received: datetime, latency: float | None
    ) -> Classified:
        """What this delivery is to the receiver, and what it answers (docstring above)."""
        settings = self.settings
        with self._lock:
            if state is None:
                self._first_attempts += 1
                fail = chosen_to_fail(self._first_attempts, settings.fail_first_percent)
                return Classified(FIRST, self._status(fail), latency_seconds=latency)
            if state.delivered:
                return Classified(DUPLICATE, 200)
            retry = state.attempts
            fail = retry <= settings.fail_retries
            return Classified(
                RETRY,
                self._status(fail),
                retry=retry,
                delay_seconds=(received - state.last).total_seconds(),
            )

    def _status(self, fail: bool) -> int:
        """503 when chosen to fail (within MAX_FAILED_IN_A_ROW below a 100 % share)."""
        every = self.settings.fail_first_percent >= 100
        if fail and (every or self._failed_in_a_row < MAX_FAILED_IN_A_ROW):
            self._failed_in_a_row += 1
            return 503
        self._failed_in_a_row = 0
        return 200

    def _count(self, found: Classified) -> None:
        if found.kind == DUPLICATE:
            self._metrics.duplicate(self.name)
            return
        self._metrics.delivery(self.name, found.kind, ACCEPTED if found.delivered else REJECTED)
        if found.kind == FIRST and found.latency_seconds is not None:
            self._metrics.latency(self.name, found.latency_seconds)
        if found.kind == RETRY and found.retry is not None and found.delay_seconds is not None:
            self._metrics.retry_delay(self.name, found.retry, found.delay_seconds)


async def _read(request: Request) -> bytes:
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY:
        raise BodyTooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise BodyTooLarge
    return bytes(body)


def _answer(status: int, message: str) -> Response:
    return JSONResponse({"status": status, "message": message}, status_code=status)


def receiver_routes(receivers: Sequence[WebhookReceiver]) -> list[BaseRoute]:
    """One POST route per receiver at its `path`: mount them into any Starlette app."""
    return [
        Route(r.settings.path, r.handle, methods=["POST"], name=f"webhook:{r.name}")
        for r in receivers
    ]


def receiver_app(receivers: Sequence[WebhookReceiver]) -> Starlette:
    """An application of its own for receivers that have their own `listen`."""
    return Starlette(routes=receiver_routes(receivers))
