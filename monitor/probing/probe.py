"""The prober: one HTTPS request of one target over one IP family, measured phase by phase.

Why it is built this way:

- Each family is probed on its own, so the request goes to an IP literal of that family
  (resolved here, or taken from the target's `resolve:` map) while the real host name is
  sent as Host and SNI and the certificate is checked against it, as a browser would.
- Every probe opens a fresh connection, so connect and TLS are measured each time; the SSL
  context (loading a CA bundle is costly) is made once per ca_file and reused. CPU per
  probe is held to blackbox_exporter's (bench/bench_probe_cpu.py), hence the request path
  is as short as a probe allows: asyncio's own streams and TLS, one HTTP/1.1 exchange
  parsed by h11 (the parser HTTP clients use), and what a target's request needs prepared
  once per target (`_Prepared`). An HTTP client's layers (connection pools, cookies,
  redirects, auth, per-request tracing hooks) have nothing to do for a probe and cost
  about a fifth of its CPU (BENCHMARKS.md, section 1).
- A probe never raises and never outlives the target's timeout: any failure is a
  `ProbeResult` with a `Reason`, so the scheduler, the store and the metrics never see an
  exception (task cancellation by the caller is the one thing passed through).
- Header values are secrets (API keys): no detail text ever contains one.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import errno
import ipaddress
import re
import socket
import ssl
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable, Iterator
from datetime import UTC, datetime
from urllib.parse import urlsplit

import h11

from monitor import __version__
from monitor.config import Target
from monitor.probing.bodies import Decoder, UnsupportedEncoding
from monitor.probing.results import PHASES, ProbeResult, Reason

Resolver = Callable[[str, int, int], Awaitable[list[str]]]
"""`await resolver(host, port, socket.AF_INET | AF_INET6 | AF_UNSPEC)` -> IP address strings;
raises `socket.gaierror` (or any OSError) when the name does not resolve."""

USER_AGENT = f"uptime-sla/{__version__}"

_AF = {"ipv4": socket.AF_INET, "ipv6": socket.AF_INET6}
_RECORD = {"ipv4": "A", "ipv6": "AAAA"}
_TLS_VERSIONS = {"1.0": (1, 0), "1.1": (1, 1), "1.2": (1, 2), "1.3": (1, 3)}
_DETAIL_LIMIT = 300
HEAD_LIMIT = 262_144
"""Bytes a response head may take, interim 1xx responses included (one head may take
ONE_HEAD_LIMIT; a few interim responses are a few hundred bytes)."""
ONE_HEAD_LIMIT = 102_400  # what HTTP clients allow one head (h11's own default is 16 KiB)
READ_SIZE = 65_536
_DELTA_SECONDS = re.compile(r"[0-9]+")  # ASCII digits only: str.isdigit() accepts "²"
_TOKEN = re.compile(r"[-!#$%&'*+.^_`|~0-9A-Za-z]+")
_FIELD_VALUE = re.compile(rb"(?:[^\x00-\x20\x7f]+(?:[ \t]+[^\x00-\x20\x7f]+)*)?")
_ERRNO_TEXT = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset by peer",
    errno.ENETUNREACH: "network unreachable",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ETIMEDOUT: "connection timed out",
    errno.EADDRNOTAVAIL: "address not available",
    errno.EAFNOSUPPORT: "address family not supported",
}
# A connect failing with these never reached the network: no source address of the family
# (or no support for it at all) on this host.
_NEVER_SENT = frozenset({errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT})
_ROUTE_CHECK_PORT = 9  # any port does: a UDP connect() only picks a route, it sends nothing


async def system_resolver(host: str, port: int, family: int) -> list[str]:
    """The default resolver: the OS's getaddrinfo, run off the event loop by asyncio."""
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, family=family, type=socket.SOCK_STREAM
    )
    return [str(info[4][0]) for info in infos]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ResponseHeadTooLarge(Exception):
    """More than HEAD_LIMIT bytes arrived before the final response head was complete."""

    def __init__(self) -> None:
        super().__init__(
            f"response head larger than {HEAD_LIMIT} bytes (interim 1xx responses included)"
        )


class _Exchange:
    """One HTTP/1.1 request and its response on a fresh TLS connection, parsed by h11."""

    __slots__ = ("_http", "_reader", "_writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._http = h11.Connection(h11.CLIENT, max_incomplete_event_size=ONE_HEAD_LIMIT)

    async def send(self, request: h11.Request, body: bytes | None) -> None:
        data = self._http.send(request)
        if body:
            data += self._http.send(h11.Data(data=body))
        self._writer.write(data + self._http.send(h11.EndOfMessage()))
        await self._writer.drain()

    async def response(self) -> h11.Response | h11.InformationalResponse:
        """The final response head (or a 101, should a target's own headers ask to switch
        protocols). Other interim (1xx) responses are skipped, but all heads together may
        take HEAD_LIMIT bytes: a flood of them would otherwise burn CPU until the timeout."""
        budget = HEAD_LIMIT
        while True:
            event = self._http.next_event()
            if isinstance(event, h11.Response):
                return event
            if isinstance(event, h11.InformationalResponse):
                if event.status_code == 101:  # no more HTTP on this connection
                    return event
            elif event is h11.NEED_DATA:
                budget -= await self._receive()
                if budget < 0:
                    raise ResponseHeadTooLarge
            else:  # never loop without reading
                raise h11.RemoteProtocolError(f"unexpected {event!r} before the response")

    async def chunk(self) -> bytes | None:
        """The next piece of the body as it arrives; None once it is over."""
        while True:
            event = self._http.next_event()
            if isinstance(event, h11.Data):
                return bytes(event.data)
            if event is not h11.NEED_DATA:  # EndOfMessage, or PAUSED after a 101
                return None
            await self._receive()

    async def _receive(self) -> int:
        """Read what has arrived (b"" at the end: h11 then says whether the answer was
        complete) and hand it to the parser."""
        data = await self._reader.read(READ_SIZE)
        self._http.receive_data(data)
        return len(data)


# Characters a target URL may hold for its path and query to go out exactly as written: the
# unreserved ones and the delimiters httpx leaves unquoted in both (no "%", no space).
_PLAIN_URL = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/?#[]"
)


def request_target(url: str) -> str:
    """The path and query sent in the request line, percent-encoded as HTTP clients do
    (httpx's `URL.raw_path`). A plain URL is its own answer; only one with characters to
    quote or dot segments to drop goes through httpx, whose import costs `probe` a tenth
    of its start-up (tests/monitor/test_request_target.py holds the two equal)."""
    before_fragment = url.partition("#")[0]
    path = urlsplit(before_fragment).path
    segments = path.split("/")
    if _PLAIN_URL.issuperset(url) and "." not in segments and ".." not in segments:
        query = before_fragment.partition("?")
        return (path or "/") + query[1] + query[2]
    import httpx  # noqa: PLC0415 (see the docstring)

    return httpx.URL(url).raw_path.decode("ascii")


class _Prepared:
    """What every probe of one target needs, worked out once: address parts and the request
    (h11 checks a request's headers as it is made: once per target, not per probe)."""

    __slots__ = ("body", "header_problem", "host", "port", "request", "target")

    def __init__(self, target: Target, user_agent: str) -> None:
        parts = urlsplit(target.url)
        self.target = weakref.ref(target)
        self.host = parts.hostname or ""
        self.port = parts.port or 443
        self.body = target.body.encode() if target.body is not None else None
        headers = {
            "host": ("Host", parts.netloc.rpartition("@")[2]),  # the real name, not the IP
            "user-agent": ("User-Agent", user_agent),
            "accept": ("Accept", "*/*"),
            "accept-encoding": ("Accept-Encoding", "identity"),
            "connection": ("Connection", "close"),
        }
        if self.body is not None or target.method in ("POST", "PUT", "PATCH"):
            headers["content-length"] = ("Content-Length", str(len(self.body or b"")))
        self.header_problem = _header_problem(target.headers)
        self.request: h11.Request | None = None
        if not self.header_problem:  # the target's own headers win (case-insensitively)
            headers.update({name.lower(): (name, v) for name, v in target.headers.items()})
            self.request = h11.Request(
                method=target.method,
                target=request_target(target.url),
                headers=[(name.encode(), value.encode()) for name, value in headers.values()],
            )


class _CertExpiries:
    """Leaf certificates' notAfter, as aware UTC, by DER bytes. Decoding a certificate costs
    more than fetching its DER bytes, and a target serves the same one probe after probe;
    each Prober keeps its own (bounded) cache."""

    def __init__(self, limit: int = 512) -> None:
        self._limit = limit
        self._known: dict[bytes, datetime | None] = {}

    def of(self, ssl_object: ssl.SSLObject) -> datetime | None:
        der = ssl_object.getpeercert(binary_form=True)
        if der is None:
            return None
        if der in self._known:
            return self._known[der]
        expiry = None
        cert = ssl_object.getpeercert()
        not_after = cert.get("notAfter") if cert else None
        if isinstance(not_after, str):
            with contextlib.suppress(ValueError):
                expiry = datetime.fromtimestamp(ssl.cert_time_to_seconds(not_after), UTC)
        if len(self._known) >= self._limit:
            self._known.clear()
        self._known[der] = expiry
        return expiry


class _TlsVersionTooLow(Exception):
    """Raised after the handshake and before the request is sent, so no header leaves over
    TLS that the target's policy rejects."""

    def __init__(self, negotiated: str, required: str) -> None:
        super().__init__(f"negotiated TLS {negotiated}, target requires TLS {required} or newer")


class _Attempt:
    """The state of one probe, filled in as the request runs.

    The stage tells where a failure or the timeout struck; a phase is timed from the mark
    its stage started at.
    """

    __slots__ = (
        "address",
        "cert_expiry",
        "content_length",
        "expiries",
        "http_version",
        "mark",
        "phases",
        "required_tls",
        "stage",
        "tls_version",
    )

    def __init__(self, required_tls: str | None, expiries: _CertExpiries) -> None:
        self.required_tls = required_tls
        self.expiries = expiries
        self.stage = "resolve"
        self.mark = time.perf_counter()
        self.phases: dict[str, float] = {}
        self.address: str | None = None
        self.tls_version: str | None = None
        self.cert_expiry: datetime | None = None
        self.http_version: str | None = None
        self.content_length: int | None = None

    def lap(self, phase: str, next_stage: str) -> None:
        """Close the phase that started at the last mark and start the next one."""
        now = time.perf_counter()
        self.phases[phase] = now - self.mark
        self.mark = now
        self.stage = next_stage

    def start(self, stage: str) -> None:
        """Start a stage after a step no phase counts (sending the request)."""
        self.mark = time.perf_counter()
        self.stage = stage

    def read_answer(
        self, response: h11.Response | h11.InformationalResponse, headers: _Headers
    ) -> None:
        """HTTP version and Content-Length, for blackbox_exporter's metrics of the same name."""
        self.http_version = response.http_version.decode("ascii", "replace") or None
        length = headers.get("content-length") or ""
        plain = length.isascii() and length.isdigit() and len(length) <= 18  # fits a float
        self.content_length = int(length) if plain else None

    def read_tls(self, ssl_object: ssl.SSLObject | None) -> None:
        """Negotiated version and the leaf certificate's expiry, from the live connection;
        then enforce tls_min_version, before any header is sent."""
        if ssl_object is None:
            return
        version = ssl_object.version() or ""
        self.tls_version = version.removeprefix("TLSv") or None
        self.cert_expiry = self.expiries.of(ssl_object)
        if self.required_tls is None or self.tls_version is None:
            return
        have = _TLS_VERSIONS.get(self.tls_version, (0, 0))
        if have < _TLS_VERSIONS[self.required_tls]:
            raise _TlsVersionTooLow(self.tls_version, self.required_tls)

    def cut(self) -> None:
        """On a failure, keep the time spent in the phase that was running."""
        if self.stage in PHASES and self.stage not in self.phases:
            self.phases[self.stage] = time.perf_counter() - self.mark


class Prober:
    """Probes targets from one location; reuse one Prober for the life of the monitor.

    `now` is the wall clock stamped on results (injectable for tests); `resolver` replaces
    getaddrinfo (see `Resolver`), so tests need no DNS.
    """

    def __init__(
        self,
        location: str,
        *,
        now: Callable[[], datetime] = _utcnow,
        resolver: Resolver = system_resolver,
        user_agent: str = USER_AGENT,
    ) -> None:
        self.location = location
        self._now = now
        self._resolver = resolver
        self._user_agent = user_agent
        self._contexts: dict[str | None, ssl.SSLContext] = {}
        self._prepared: dict[int, _Prepared] = {}
        self._expiries = _CertExpiries()
        self._prune_at = 1024

    async def __aenter__(self) -> Prober:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Nothing to wait for: every probe closes its own connection."""

    async def probe(self, target: Target, family: str) -> ProbeResult:
        """One request of `target` over `family` ("ipv4"/"ipv6"); never raises, never takes
        longer than target.timeout (plus the few milliseconds it takes to close a socket)."""
        started = self._now()
        attempt = _Attempt(target.tls_min_version, self._expiries)
        t0 = attempt.mark

        def result(
            success: bool,
            reason: Reason | None,
            detail: str = "",
            status_code: int | None = None,
            retry_after: float | None = None,
        ) -> ProbeResult:
            return ProbeResult(
                target=target.name,
                family=family,
                location=self.location,
                started=started,
                success=success,
                reason=reason,
                status_code=status_code,
                duration_seconds=time.perf_counter() - t0,
                phases=dict(attempt.phases),
                tls_version=attempt.tls_version,
                http_version=attempt.http_version,
                content_length=attempt.content_length,
                cert_expiry=attempt.cert_expiry,
                address=attempt.address,
                retry_after_seconds=retry_after,
                detail=_redact(detail, _secrets(target)) if detail else "",
            )

        try:
            async with asyncio.timeout(target.timeout):
                return await self._run(target, family, attempt, result)
        except TimeoutError:
            attempt.cut()
            return result(
                False, Reason.TIMEOUT, f"no answer within {target.timeout:g} s ({attempt.stage})"
            )
        except _TlsVersionTooLow as exc:
            return result(False, Reason.TLS_VERSION, str(exc))
        except asyncio.CancelledError:
            raise  # the caller is shutting down: not a probe failure
        except Exception as exc:
            attempt.cut()
            reason, detail = _classify(exc, attempt.stage, attempt.address)
            return result(False, reason, detail)

    async def address(self, target: Target, family: str) -> tuple[str, tuple[Reason, str] | None]:
        """Where a request of `target` over `family` goes (its `resolve:` address, or DNS), or
        the failure that says why there is none: the promise checks connect there too."""
        prepared = self._prepare(target)
        return await self._address(target, family, prepared.host, prepared.port)

    async def _run(
        self,
        target: Target,
        family: str,
        attempt: _Attempt,
        result: Callable[..., ProbeResult],
    ) -> ProbeResult:
        prepared = self._prepare(target)
        address, failure = await self._address(target, family, prepared.host, prepared.port)
        attempt.lap("resolve", "connect")
        if failure is not None:
            reason, detail = failure
            return result(False, reason, detail)
        attempt.address = address
        if prepared.request is None:  # refused here: a bad header value must never be sent
            return result(False, Reason.ERROR, prepared.header_problem)

        reader, writer = await asyncio.open_connection(address, prepared.port)
        try:  # no keep-alive, no TLS goodbye: a probe drops its connection when done
            attempt.lap("connect", "tls")
            await writer.start_tls(self._context(target.ca_file), server_hostname=prepared.host)
            attempt.lap("tls", "request")
            attempt.read_tls(writer.get_extra_info("ssl_object"))
            exchange = _Exchange(reader, writer)
            await exchange.send(prepared.request, prepared.body)
            attempt.start("processing")
            response = await exchange.response()
            attempt.lap("processing", "transfer")
            status = response.status_code
            headers = _Headers(response.headers)
            attempt.read_answer(response, headers)
            if status == 429:
                detail, hold = _rate_limited(
                    headers.get("retry-after"), self._now(), target.max_retry_after
                )
                return result(True, Reason.RATE_LIMITED, detail, status, hold)
            if not any(low <= status <= high for low, high in target.expect_status):
                return result(False, Reason.STATUS, f"unexpected status {status}", status)
            body_failure = await _read_body(exchange, headers, target)
            attempt.lap("transfer", "done")
            if body_failure:
                return result(False, Reason.BODY, body_failure, status)
            return result(True, None, "", status)
        finally:
            writer.transport.abort()

    async def _address(
        self, target: Target, family: str, host: str, port: int
    ) -> tuple[str, tuple[Reason, str] | None]:
        """The address to connect to, or the failure that says why there is none."""
        if target.resolve:
            addresses = target.resolve.get(family)  # type: ignore[call-overload]
            if not addresses:
                return "", (Reason.NO_ADDRESS, f"resolve has no {family} address")
            return addresses[0], None
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            if (literal.version == 4) != (family == "ipv4"):
                return "", (Reason.NO_ADDRESS, f"URL names an IPv{literal.version} address")
            return str(literal), None

        wanted = _AF[family]
        try:
            found = [a for a in await self._resolver(host, port, wanted) if _family_of(a) == family]
        except OSError:
            found = []
        if found:
            return found[0], None
        try:  # does the name exist at all, with the other family?
            other = await self._resolver(host, port, socket.AF_UNSPEC)
        except OSError as exc:
            return "", (Reason.DNS, f"dns lookup failed: {_os_text(exc)}")
        if other:
            return "", (Reason.NO_ADDRESS, f"host has no {_RECORD[family]} record")
        return "", (Reason.DNS, "dns lookup returned no address")

    def _prepare(self, target: Target) -> _Prepared:
        """The target's prepared request parts, cached for as long as the target lives."""
        prepared = self._prepared.get(id(target))
        if prepared is None or prepared.target() is not target:
            if len(self._prepared) >= self._prune_at:  # targets of an old config: forget them
                self._prepared = {k: v for k, v in self._prepared.items() if v.target()}
                # Amortised: with 5,000 live targets, do not rebuild the cache on every miss.
                self._prune_at = max(1024, 2 * len(self._prepared))
            prepared = self._prepared[id(target)] = _Prepared(target, self._user_agent)
        return prepared

    def _context(self, ca_file: str | None) -> ssl.SSLContext:
        """One SSL context per ca_file (None: the system's CAs), kept for the Prober's life."""
        context = self._contexts.get(ca_file)
        if context is None:
            context = self._contexts[ca_file] = ssl.create_default_context(cafile=ca_file)
            context.set_alpn_protocols(["http/1.1"])
        return context


class _Headers:
    """A response's header fields, looked up case-insensitively. A field sent on several
    lines reads as one list, as HTTP says: `Content-Encoding: gzip` twice is `gzip, gzip`."""

    __slots__ = ("_fields",)

    def __init__(self, fields: Iterable[tuple[bytes, bytes]]) -> None:
        self._fields: dict[str, str] = {}
        for raw_name, raw_value in fields:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            self._fields[name] = f"{self._fields[name]}, {value}" if name in self._fields else value

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._fields.get(name, default)


async def _read_body(exchange: _Exchange, headers: _Headers, target: Target) -> str:
    """Read the body within max_body_bytes, counted both on the wire and once its
    Content-Encoding is undone; return a failure detail, or "" when the body is fine.

    Decoding is lazy and stepwise (monitor.probing.bodies), with a turn for the event loop after
    every step, so a compression bomb costs about max_body_bytes of work and memory and
    the probe's timeout still holds."""
    limit = target.max_body_bytes
    too_large = f"body larger than {limit} bytes"
    length = headers.get("content-length") or ""
    if length.isdigit() and int(length) > limit and target.method != "HEAD":
        return too_large
    expected = target.body_contains
    check = expected is not None
    encoding = headers.get("content-encoding")
    try:
        decoder: Decoder | None = Decoder(encoding)
    except UnsupportedEncoding as exc:
        if check:  # the text cannot be looked for; without a check, the wire bound is enough
            return f"body has a Content-Encoding the prober cannot decode: {exc}"
        decoder = None
    body = bytearray()
    received = decoded = 0
    while (chunk := await exchange.chunk()) is not None:
        received += len(chunk)
        if received > limit:
            return too_large  # stop reading: the caller drops the connection
        if decoder is None:
            continue
        try:
            for piece in decoder.feed(chunk):
                decoded += len(piece)
                if decoded > limit:
                    return f"{too_large} once decoded ({encoding})"
                if check:
                    body += piece
                if decoder.decoding:
                    await asyncio.sleep(0)
        except ValueError as exc:
            return str(exc)
    if expected is not None and expected.encode() not in body:
        return "body does not contain the expected text"
    return ""


def _rate_limited(value: str | None, now: datetime, most: float) -> tuple[str, float | None]:
    """A 429's detail, and how long its series is to be held back: what Retry-After asks,
    at most the target's max_retry_after (a year, or 10^14 s, would silence the series)."""
    asked = parse_retry_after(value, now)
    if asked is None:
        return "rate limited (429)", None
    if asked <= most:
        return f"rate limited (429), retry after {asked:.15g} s", asked
    return (
        f"rate limited (429), retry after {asked:.15g} s, held {most:g} s (max_retry_after)",
        most,
    )


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After as finite seconds from now: delta-seconds or an HTTP date; None when
    absent or unreadable. Never raises, whatever the server sends."""
    if value is None:
        return None
    value = value.strip()
    if _DELTA_SECONDS.fullmatch(value):
        digits = value.lstrip("0") or "0"
        return float(digits) if len(digits) <= 15 else 1e15  # past any sane max_retry_after
    try:
        when = email.utils.parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - now).total_seconds())
    except (TypeError, ValueError, IndexError, OverflowError, AttributeError):
        return None


def _family_of(address: str) -> str:
    return "ipv6" if ":" in address else "ipv4"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, its causes and contexts, and the members of exception groups."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            todo.extend(current.exceptions)
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                todo.append(linked)


def _classify(exc: Exception, stage: str, address: str | None = None) -> tuple[Reason, str]:
    """Map an exception raised while probing to a reason and a short message."""
    chain = list(_chain(exc))
    for e in chain:
        if isinstance(e, ResponseHeadTooLarge):
            return Reason.ERROR, str(e)
    if stage == "tls":
        return _tls_failure(chain)
    if stage == "connect":
        return _connect_failure(chain, exc, address)
    if isinstance(exc, h11.RemoteProtocolError):
        if stage in {"request", "processing"}:
            return Reason.ERROR, "server closed the connection without a response"
        return Reason.ERROR, f"protocol error: {_short(exc)}"
    if isinstance(exc, OSError):  # ssl.SSLError too: a broken record after the handshake
        return Reason.ERROR, f"connection lost ({stage})"
    return Reason.ERROR, f"{type(exc).__name__}: {_short(exc)}"


def _connect_failure(
    chain: list[BaseException], exc: Exception, address: str | None
) -> tuple[Reason, str]:
    """Why no TCP connection was made: `local` when the probe never left this host, else
    `connect` (it reached the network), with the OS's error in words.

    EADDRNOTAVAIL and EAFNOSUPPORT come from this host alone. ENETUNREACH may too (no route
    here) or may be a router's answer on the way: the kernel tells them apart when asked for
    a route and a source address for the same address over UDP, which sends no packet.
    """
    for e in chain:
        if isinstance(e, OSError) and e.errno is not None:
            local = e.errno in _NEVER_SENT or (
                e.errno == errno.ENETUNREACH and address is not None and not _can_send_to(address)
            )
            if not local:
                return Reason.CONNECT, _os_text(e)
            version = "IPv6" if ":" in (address or "") else "IPv4"
            return (
                Reason.LOCAL,
                f"no {version} route or source address on this monitor ({_os_text(e)})",
            )
    return Reason.CONNECT, f"connect failed: {_short(exc)}"


def _can_send_to(address: str) -> bool:
    """Whether this host has a route and a source address for `address` (nothing is sent)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as udp:
            udp.connect((address, _ROUTE_CHECK_PORT))
    except OSError:
        return False
    return True


def _tls_failure(chain: list[BaseException]) -> tuple[Reason, str]:
    """Why the TLS handshake failed: the certificate check, the TLS alert, or the socket."""
    for e in chain:
        if isinstance(e, ssl.SSLCertVerificationError):
            return Reason.TLS, f"certificate verify failed: {e.verify_message}"
    for e in chain:
        if isinstance(e, ssl.SSLError):
            what = (e.reason or str(e)).replace("_", " ").lower()
            return Reason.TLS, f"tls handshake failed: {what}"
    for e in chain:
        if isinstance(e, OSError) and e.errno in _ERRNO_TEXT:
            return Reason.TLS, f"tls handshake failed: {_ERRNO_TEXT[e.errno]}"
    return Reason.TLS, "tls handshake failed: connection closed by the server"


def _os_text(exc: OSError) -> str:
    if exc.errno in _ERRNO_TEXT:
        return _ERRNO_TEXT[exc.errno]
    return (exc.strerror or str(exc) or type(exc).__name__).lower()


def _short(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _header_problem(headers: dict[str, str]) -> str:
    """Why a header cannot be sent as configured (naming the header, never its value)."""
    for name, value in headers.items():
        if not _TOKEN.fullmatch(name):
            return "a header name is not a valid HTTP token"
        if not _FIELD_VALUE.fullmatch(value.encode("utf-8", "surrogateescape")):
            return (
                f"header {name} has a value HTTP does not allow (control character or edge space)"
            )
    return ""


def _secrets(target: Target) -> list[str]:
    """Every header value in the forms an exception message could quote it in."""
    forms: set[str] = set()
    for value in target.headers.values():
        if value:
            quoted = {value, repr(value)[1:-1], repr(value.encode("utf-8", "replace"))[2:-1]}
            forms.update(quoted, {" ".join(form.split()) for form in quoted})
    return sorted(forms - {""}, key=len, reverse=True)


def _redact(detail: str, secrets: list[str]) -> str:
    """Never let a header value through, and keep the message one short line."""
    for step in range(2):  # as quoted, then again once whitespace is folded
        if step:
            detail = " ".join(detail.split())
        for secret in secrets:
            if secret in detail:
                detail = detail.replace(secret, "[redacted]")
    if len(detail) > _DETAIL_LIMIT:
        detail = detail[: _DETAIL_LIMIT - 3] + "..."
    for secret in secrets:  # a cut could not create a secret, but be certain
        if secret in detail:
            detail = "detail withheld (it quoted a header value)"
    return detail
