"""The promise checks of one (target, family): what each one sends and how it decides.

- `tls_only`: a handshake that offers at most the version below the promised one (TLS 1.2
  for "1.3") must fail. It trusts the target's `ca_file` and sends its host name, so a
  failure on the certificate proves nothing and gives no verdict.
- `plaintext_rejected`: `GET http://HOST:plaintext_port/PATH` (no query, none of the
  target's headers: nothing secret goes out in clear) gets no HTTP answer or a 4xx.
- `retry_after_on_429`: every 429 seen (by the probes, or by the plaintext request)
  carries a Retry-After that reads as seconds or an HTTP date.
- `both_families`: the host has an address of the family (its `resolve:` entry, or DNS).

A check that cannot tell (no address, the monitor's own network, a certificate failure)
gives no verdict: `None`, logged, never counted. A check never raises.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import re
import ssl
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import httpx

from monitor.config import Target
from monitor.probing.probe import USER_AGENT, Prober, parse_retry_after
from monitor.probing.results import ProbeResult, Reason
from sla.promises import BOTH_FAMILIES, PLAINTEXT_REJECTED, RETRY_AFTER_ON_429, TLS_ONLY

log = logging.getLogger(__name__)

_BELOW = {"1.3": ssl.TLSVersion.TLSv1_2, "1.2": ssl.TLSVersion.TLSv1_1}
_STATUS_LINE = re.compile(rb"^HTTP/\d(?:\.\d)? (\d{3})(?: |\r?$)")
_HEAD_LIMIT = 65_536
# Reasons the handshake failed on our side: the client could not offer what was asked.
_LOCAL_TLS = ("NO_PROTOCOLS_AVAILABLE", "NO_CIPHERS_AVAILABLE", "UNSUPPORTED_PROTOCOL")
# A connect that never left this monitor, or could not reach the host: nothing answered.
_UNREACHED = frozenset({errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT, errno.ENETUNREACH})


@dataclass(frozen=True)
class Outcome:
    """One check's verdict for one (promise, target, family)."""

    promise: str
    target: str
    family: str
    kept: bool
    at: datetime
    detail: str


class SslContexts:
    """Client contexts that offer at most the version below a promise, per (ca_file,
    promised version): loading a CA bundle costs more than a handshake."""

    def __init__(self) -> None:
        self._made: dict[tuple[str | None, str], ssl.SSLContext] = {}

    def get(self, ca_file: str | None, promised: str) -> ssl.SSLContext:
        key = (ca_file, promised)
        if key not in self._made:
            self._made[key] = below_context(ca_file, promised)
        return self._made[key]


def below_context(ca_file: str | None, promised: str) -> ssl.SSLContext:
    """A verifying client context whose newest version is the one below `promised`."""
    context = ssl.create_default_context(cafile=ca_file)
    with warnings.catch_warnings():  # offering TLS 1.1 on purpose, to see it refused
        warnings.simplefilter("ignore", DeprecationWarning)
        context.maximum_version = _BELOW[promised]
        if promised == "1.2":  # offering TLS 1.1 needs the legacy protocols allowed here
            context.minimum_version = ssl.TLSVersion.TLSv1
            context.set_ciphers("DEFAULT:@SECLEVEL=0")
    context.set_alpn_protocols(["http/1.1"])
    return context


def retry_after_outcome(result: ProbeResult, at: datetime) -> Outcome | None:
    """A probe's 429 as a check of `retry_after_on_429` (None for any other answer)."""
    if result.reason != Reason.RATE_LIMITED:
        return None
    valid = result.retry_after_seconds is not None
    return Outcome(
        RETRY_AFTER_ON_429,
        result.target,
        result.family,
        valid,
        at,
        "429 with a valid Retry-After" if valid else "429 without a valid Retry-After",
    )


class PromiseChecks:
    """Runs the checks of one target over one family; `prober` finds the address (the same
    one the probes connect to) and `now` stamps the outcomes."""

    def __init__(self, prober: Prober, now: Callable[[], datetime]) -> None:
        self._prober = prober
        self._now = now
        self._contexts = SslContexts()

    async def check(self, target: Target, family: str) -> list[Outcome]:
        """Every promise the target's `promises:` asks for, over `family`."""
        settings = target.promises
        if settings is None:
            return []
        at = self._now()
        found: list[Outcome | None] = []

        def outcome(promise: str, kept: bool, detail: str) -> Outcome:
            return Outcome(promise, target.name, family, kept, at, detail)

        address, failure = await self._prober.address(target, family)
        if settings.both_families:
            if failure is None:
                found.append(outcome(BOTH_FAMILIES, True, f"has an address ({family})"))
            elif failure[0] == Reason.NO_ADDRESS:
                found.append(outcome(BOTH_FAMILIES, False, failure[1]))
            else:
                log.info("%s/%s: both_families not checked: %s", target.name, family, failure[1])
        if failure is not None:
            return [o for o in found if o is not None]
        if settings.tls_only is not None:
            verdict = await self._tls_only(target, address, settings.tls_only)
            found.append(None if verdict is None else outcome(TLS_ONLY, *verdict))
        if settings.plaintext_rejected or settings.retry_after_on_429:
            answer = await self._plaintext(target, address, settings.plaintext_port)
            if answer is not None:
                status, retry_after, detail = answer
                if settings.plaintext_rejected:
                    kept = status is None or 400 <= status < 500
                    found.append(outcome(PLAINTEXT_REJECTED, kept, detail))
                if settings.retry_after_on_429 and status == 429:
                    valid = parse_retry_after(retry_after, at) is not None
                    found.append(
                        outcome(
                            RETRY_AFTER_ON_429,
                            valid,
                            f"plaintext 429 {'with a valid' if valid else 'without a valid'}"
                            " Retry-After",
                        )
                    )
        return [o for o in found if o is not None]

    async def _tls_only(
        self, target: Target, address: str, promised: str
    ) -> tuple[bool, str] | None:
        """Kept when a handshake offering at most the version below `promised` fails."""
        parts = urlsplit(target.url)
        host, port = parts.hostname or "", parts.port or 443
        offered = "TLS 1.2" if promised == "1.3" else "TLS 1.1"
        context = self._contexts.get(target.ca_file, promised)
        try:
            async with asyncio.timeout(target.timeout):
                _reader, writer = await asyncio.open_connection(address, port)
        except (OSError, TimeoutError) as exc:
            log.info("%s: tls_only not checked: cannot connect (%s)", target.name, _why(exc))
            return None
        try:
            async with asyncio.timeout(target.timeout):
                await writer.start_tls(context, server_hostname=host)
            ssl_object = writer.get_extra_info("ssl_object")
            version = ssl_object.version() if ssl_object is not None else None
        except ssl.SSLCertVerificationError:
            log.info("%s: tls_only not checked: the certificate did not verify", target.name)
            return None
        except ssl.SSLError as exc:
            reason = exc.reason or type(exc).__name__
            if reason in _LOCAL_TLS:
                log.warning(
                    "%s: tls_only not checked: this monitor cannot offer %s", target.name, offered
                )
                return None
            return True, f"a handshake offering at most {offered} was refused ({_words(reason)})"
        except (ConnectionError, asyncio.IncompleteReadError, EOFError):
            return True, f"a handshake offering at most {offered} was cut off by the server"
        except (OSError, TimeoutError) as exc:
            log.info("%s: tls_only not checked: %s", target.name, _why(exc))
            return None
        finally:
            writer.transport.abort()
        return False, f"a handshake offering at most {offered} succeeded ({version or 'TLS'})"

    async def _plaintext(
        self, target: Target, address: str, port: int
    ) -> tuple[int | None, str | None, str] | None:
        """`(status or None, Retry-After, detail)` of a plaintext request, or None when it
        could not be sent at all (no verdict)."""
        parts = urlsplit(target.url)
        host = parts.hostname or ""
        authority = host if port == 80 else f"{host}:{port}"
        if ":" in host:
            authority = f"[{host}]" if port == 80 else f"[{host}]:{port}"
        path = httpx.URL(target.url).raw_path.split(b"?", 1)[0].decode("ascii") or "/"
        head = (
            f"GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: {USER_AGENT}\r\n"
            "Accept: */*\r\nConnection: close\r\n\r\n"
        ).encode("ascii")
        writer = None
        try:
            async with asyncio.timeout(target.timeout):
                try:
                    reader, writer = await asyncio.open_connection(address, port)
                except OSError as exc:
                    if exc.errno in _UNREACHED:
                        log.info("%s: plaintext not checked: %s", target.name, _why(exc))
                        return None
                    return None, None, f"no HTTP answer on port {port} ({_why(exc)})"
                writer.write(head)
                await writer.drain()
                answer = await _read_head(reader)
        except TimeoutError:
            return None, None, f"no HTTP answer on port {port} within {target.timeout:g} s"
        except OSError as exc:
            return None, None, f"no HTTP answer on port {port} ({_why(exc)})"
        finally:
            if writer is not None:
                writer.transport.abort()
        match = _STATUS_LINE.match(answer)
        if match is None:
            return None, None, f"no HTTP answer on port {port}"
        status = int(match.group(1))
        retry_after = _header(answer, b"retry-after")
        return status, retry_after, f"plaintext request on port {port} answered {status}"


async def _read_head(reader: asyncio.StreamReader) -> bytes:
    """The response head (status line and headers), at most _HEAD_LIMIT bytes."""
    head = b""
    with contextlib.suppress(asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        while b"\r\n\r\n" not in head and b"\n\n" not in head and len(head) < _HEAD_LIMIT:
            chunk = await reader.read(min(4096, _HEAD_LIMIT - len(head)))
            if not chunk:
                break
            head += chunk
    return head


def _header(head: bytes, name: bytes) -> str | None:
    for line in head.split(b"\n")[1:]:
        field, sep, value = line.partition(b":")
        if sep and field.strip().lower() == name:
            return value.strip().decode("latin-1")
    return None


def _words(reason: str) -> str:
    return reason.replace("_", " ").lower()


def _why(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.errno:
        return os.strerror(exc.errno).lower()  # not asyncio's text, which quotes the address
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return type(exc).__name__
