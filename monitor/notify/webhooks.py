"""Posting to subscribers' webhooks: public addresses only, no redirects, bounded in time and size.

A subscriber's URL is checked when they subscribe and again at every delivery: its host
is resolved, and if any of its addresses is loopback, private, link-local, multicast or
otherwise not global, nothing is sent (unless `allow_private_webhooks`). The connection
then goes to an address that was checked, never to a second lookup's answer, so a name
that changes its answer between the check and the connection (DNS rebinding) gains
nothing. The certificate is still verified against the URL's host name.

Each delivery has one deadline for everything (connect, TLS, request, answer), reads at
most 64 KiB of the answer and follows no redirect: a 3xx is a failed delivery.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore

from monitor.errors import MonitorError

SIGNATURE_HEADER = "X-Uptime-SLA-Signature"
EVENT_HEADER = "X-Uptime-SLA-Event-Id"
MAX_ANSWER = 64 * 1024
DEADLINE = 10.0  # seconds for a whole delivery
MAX_URL = 2048

Resolve = Callable[[str, int], list[str]]


class WebhookError(MonitorError):
    """A delivery failed: what happened, never the URL (its path may be a secret)."""


class WebhookRefused(WebhookError):
    """The URL is not one we post to (not https, or an address that is not public)."""


def system_resolve(host: str, port: int) -> list[str]:
    """Every address of `host` (an IP literal is its own)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in found))


def not_public(address: str) -> bool:
    """Loopback, private, link-local, multicast, reserved, shared or unspecified."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def check_url(url: str) -> tuple[str, int]:
    """An https:// URL with a host: its host and port (WebhookRefused says what is wrong,
    never the URL, which may hold a secret)."""
    if len(url) > MAX_URL or not url.isascii() or any(c.isspace() for c in url):
        raise WebhookRefused("the webhook URL must be a plain https:// URL")
    try:
        parts = urlsplit(url)
        port = parts.port or 443
    except ValueError:
        raise WebhookRefused("the webhook URL is not a valid URL") from None
    if parts.scheme != "https":
        raise WebhookRefused("the webhook URL must start with https://")
    if not parts.hostname:
        raise WebhookRefused("the webhook URL has no host")
    return parts.hostname, port


def check_destination(
    url: str, *, allow_private: bool, resolve: Resolve = system_resolve
) -> list[str]:
    """The addresses a delivery to `url` may connect to; WebhookRefused if none may."""
    host, port = check_url(url)
    addresses = resolve(host, port)
    if not addresses:
        raise WebhookRefused("the webhook's host name does not resolve")
    if not allow_private and any(not_public(a) for a in addresses):
        raise WebhookRefused(
            "the webhook's host resolves to a loopback, private or otherwise non-public address"
        )
    return addresses


def signature(secret: str, body: bytes) -> str:
    """`sha256=HEX`: HMAC-SHA256 of the exact body, keyed with the subscriber's secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class _DeadlineStream(httpcore.NetworkStream):
    """A stream whose every read and write shares one deadline."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: float) -> None:
        self._stream = stream
        self._deadline = deadline

    def _left(self, timeout: float | None) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise httpcore.ReadTimeout("the delivery's deadline passed")
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._left(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        wrapped = self._stream.start_tls(ssl_context, server_hostname, self._left(timeout))
        return _DeadlineStream(wrapped, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _CheckedBackend(httpcore.NetworkBackend):
    """Connects only to the addresses checked for this delivery, within its deadline."""

    def __init__(self, addresses: Iterable[str], deadline: float) -> None:
        self._addresses = list(addresses)
        self._deadline = deadline
        self._system = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        failure: Exception | None = None
        for address in self._addresses:
            left = self._deadline - time.monotonic()
            if left <= 0:
                break
            try:
                stream = self._system.connect_tcp(
                    address, port, min(left, timeout or left), local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            return _DeadlineStream(stream, self._deadline)
        raise httpcore.ConnectError(f"cannot connect: {type(failure).__name__}")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class WebhookPoster:
    """POSTs one body to one webhook; returns the HTTP status or raises WebhookError."""

    def __init__(
        self,
        *,
        allow_private: bool,
        deadline: float = DEADLINE,
        resolve: Resolve = system_resolve,
        context: ssl.SSLContext | None = None,
    ) -> None:
        self._allow_private = allow_private
        self._deadline = deadline
        self._resolve = resolve
        self._context = context or ssl.create_default_context()

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        addresses = check_destination(url, allow_private=self._allow_private, resolve=self._resolve)
        deadline = time.monotonic() + self._deadline
        pool = httpcore.ConnectionPool(
            ssl_context=self._context,
            max_connections=1,
            network_backend=_CheckedBackend(addresses, deadline),
        )
        fields = [(k.encode(), v.encode()) for k, v in headers.items()]
        fields.append((b"Content-Type", b"application/json"))
        fields.append((b"User-Agent", b"uptime-sla-webhook"))
        seconds = {"connect": self._deadline, "read": self._deadline, "write": self._deadline}
        try:
            with (
                pool,
                pool.stream(
                    "POST", url, headers=fields, content=body, extensions={"timeout": seconds}
                ) as answer,
            ):
                read = 0
                for chunk in answer.iter_stream():  # bounded, never decompressed
                    read += len(chunk)
                    if read >= MAX_ANSWER:
                        break
                return int(answer.status)
        except httpcore.TimeoutException:
            raise WebhookError("the webhook did not answer in time") from None
        except (httpcore.NetworkError, httpcore.ProtocolError) as exc:
            raise WebhookError(f"cannot post to the webhook: {type(exc).__name__}") from None
        except ssl.SSLError as exc:
            raise WebhookError(f"TLS with the webhook failed: {type(exc).__name__}") from None
