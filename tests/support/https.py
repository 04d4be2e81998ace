"""Real HTTPS servers on loopback for the tests: the prober's counterpart.

An `HttpsServer` listens on 127.0.0.1 and [::1] with one port number for both, serves a
certificate from a trustme CA, and runs an asyncio loop in a background thread, so tests
(and subprocesses such as `uptime-sla run`) talk to it over real sockets and real TLS.

Each path answers as its `Route` says (status, body, headers, delay, hang, trickle, large
body, interim 1xx responses first, connection held open after the answer). A Route's
`headers` go out as given and replace the server's own, so a test can declare a
Content-Length that lies or a Content-Encoding (tests/support/bombs.py builds bodies). A family's listener can be stopped and started again at runtime: while stopped its
port stays reserved by a bound socket that does not listen, so connecting is refused
(`connect`) instead of reaching some other server. Every request is recorded with the family
it came in on. Only loopback addresses are ever used.

    server = HttpsServer(routes={"/busy": Route(status=429, headers={"Retry-After": "5"})})
    with server:
        server.url("/busy")      # https://api.test:PORT/busy
        server.target_fields()   # url, ca_file and resolve for monitor.config.Target(...)
        server.stop_family("ipv6")
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import trustme

Family = Literal["ipv4", "ipv6"]
FAMILIES: tuple[Family, ...] = ("ipv4", "ipv6")
LOOPBACK: dict[Family, str] = {"ipv4": "127.0.0.1", "ipv6": "::1"}
HOST = "api.test"
CERT_HOSTS = (HOST, "localhost", "127.0.0.1", "::1")

_T = TypeVar("_T")
_CHUNK = 65536
_INTERIM = (
    b"HTTP/1.1 100 Continue\r\n\r\n",
    b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n",
)
_REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    301: "Moved Permanently",
    302: "Found",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass(frozen=True)
class Route:
    """How one path answers.

    hang: read the request and never answer. delay: seconds to wait before answering.
    trickle: seconds between body bytes (the body goes out one byte at a time).
    body_size: send this many bytes of b"x" (streamed, never held in memory) instead of body.
    content_length: False sends no Content-Length: the body ends when the server closes.
    interim: send this many interim responses (100 Continue and 103 Early Hints, in turn)
    before the real one, as fast as the client reads them (10**9 is a flood that outlasts
    any probe).
    hold_open: after the answer, keep the connection open and silent (with a Content-Length
    header larger than the body, the client waits for bytes that never come).
    """

    status: int = 200
    body: bytes | str = b'{"status":"ok"}'
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    hang: bool = False
    trickle: float | None = None
    body_size: int | None = None
    content_length: bool = True
    interim: int = 0
    hold_open: bool = False

    @property
    def body_bytes(self) -> bytes:
        return self.body.encode() if isinstance(self.body, str) else self.body


@dataclass(frozen=True)
class Request:
    """One request as the server saw it."""

    family: Family
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    at: dt.datetime  # UTC wall clock when the request head was read
    monotonic: float  # time.monotonic() at the same moment
    target: str = ""  # the request line's target as sent: path and query


class HttpsServer:
    """One HTTPS server on loopback; see the module docstring. Use `with` or start()/close()."""

    def __init__(
        self,
        *,
        ca: trustme.CA | None = None,
        ca_file: str | Path | None = None,
        families: Iterable[Family] = FAMILIES,
        routes: dict[str, Route] | None = None,
        default: Route | None = None,
        cert_hosts: Iterable[str] = CERT_HOSTS,
        cert_not_after: dt.datetime | None = None,
        tls_max_version: Literal["1.2", "1.3"] | None = None,
        tls_min_version: Literal["1.2", "1.3"] | None = None,
        tls_hang: bool = False,
        host: str = HOST,
        host_families: Iterable[Family] = FAMILIES,
    ) -> None:
        """families: those listening at start (the others are reserved, refusing).
        host_families: those the host has at all (a test's network namespace may lack IPv6):
        the others are neither listened on nor reserved.
        cert_hosts: the names the certificate is valid for (pass others for a wrong-host cert).
        tls_max_version "1.2": a server that cannot do TLS 1.3.
        tls_min_version "1.3": a server that refuses TLS 1.2 (keeps the promise "TLS 1.3 only").
        tls_hang: accept TCP connections and never start TLS (nor answer anything)."""
        self.host = host
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        if ca is None:
            ca = trustme.CA()
        if ca_file is None:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="https-ca-")
            ca_file = Path(self._tmpdir.name) / "ca.pem"
            ca.cert_pem.write_to_path(str(ca_file))
        self.ca = ca
        self.ca_file = str(ca_file)
        self._initial = tuple(families)
        self._host_families = tuple(host_families)
        self._routes: dict[str, Route] = dict(routes or {})
        self._default = default or Route()
        self._tls_hang = tls_hang
        self._ssl = self._server_context(ca, tuple(cert_hosts), cert_not_after, tls_max_version)
        if tls_min_version == "1.3":
            self._ssl.minimum_version = ssl.TLSVersion.TLSv1_3
        self._requests: list[Request] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._servers: dict[Family, asyncio.Server] = {}
        self._reserved: dict[Family, socket.socket] = {}
        self._writers: dict[Family, set[asyncio.StreamWriter]] = {f: set() for f in FAMILIES}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing: asyncio.Event | None = None
        self.port = 0

    # --- what tests use -----------------------------------------------------------------

    def url(self, path: str = "/", host: str | None = None) -> str:
        """https://api.test:PORT/path (or another host name or a bracketed IP literal)."""
        return f"https://{host or self.host}:{self.port}{path}"

    def target_fields(
        self, path: str = "/", families: Iterable[Family] = FAMILIES
    ) -> dict[str, Any]:
        """url, ca_file and resolve (loopback per family) for monitor.config.Target(**...)."""
        return {
            "url": self.url(path),
            "ca_file": self.ca_file,
            "resolve": {family: [LOOPBACK[family]] for family in families},
        }

    def route(self, path: str, **route: Any) -> None:
        """Change how `path` answers from now on, e.g. server.route("/", status=503)."""
        with self._lock:
            self._routes[path] = Route(**route)

    @property
    def requests(self) -> list[Request]:
        """A snapshot of every request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def request_count(self, family: Family | None = None, path: str | None = None) -> int:
        return sum(
            1
            for r in self.requests
            if (family is None or r.family == family) and (path is None or r.path == path)
        )

    def listening(self, family: Family) -> bool:
        return family in self._servers

    def stop_family(self, family: Family) -> None:
        """Stop listening on that family's address (open connections are cut); the port
        stays reserved, so new connections are refused."""
        self._call(self._stop_family(family))

    def start_family(self, family: Family) -> None:
        """Listen again on that family's address, on the same port."""
        self._call(self._start_family(family))

    # --- life cycle -----------------------------------------------------------------------

    def start(self) -> HttpsServer:
        if self._loop is not None:
            return self
        self._loop = asyncio.new_event_loop()
        self._loop.set_exception_handler(lambda loop, context: None)  # clients hang up at will
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=f"https-server-{id(self):x}", daemon=True
        )
        self._thread.start()
        try:
            self._call(self._start())
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Stop every listener, cut every connection, end the thread, free the ports."""
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None:
            with contextlib.suppress(Exception):
                self._call(self._shutdown())
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            if not thread.is_alive():
                loop.close()
        for sock in self._reserved.values():
            sock.close()
        self._reserved.clear()
        self._loop = self._thread = None
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    def __enter__(self) -> HttpsServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- inside the server's loop -----------------------------------------------------------

    def _call(self, coro: Coroutine[Any, Any, _T], timeout: float = 10.0) -> _T:
        assert self._loop is not None, "server not started"
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    @staticmethod
    def _server_context(
        ca: trustme.CA,
        hosts: tuple[str, ...],
        not_after: dt.datetime | None,
        max_version: str | None,
    ) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(*hosts, not_after=not_after).configure_cert(context)
        if max_version == "1.2":
            context.maximum_version = ssl.TLSVersion.TLSv1_2
        context.set_alpn_protocols(["http/1.1"])
        return context

    async def _start(self) -> None:
        self._closing = asyncio.Event()
        for _ in range(100):  # one port number free on both loopback addresses
            v4 = _bound_socket("ipv4", 0, reuse=False)
            reserved = {"ipv4": v4}
            try:
                if "ipv6" in self._host_families:
                    reserved["ipv6"] = _bound_socket("ipv6", v4.getsockname()[1], reuse=False)
            except OSError:
                v4.close()
                continue
            self.port = v4.getsockname()[1]
            for sock in reserved.values():  # from now on, rebinding after a stop must be allowed
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._reserved = reserved
            break
        else:
            raise RuntimeError("no port free on both 127.0.0.1 and ::1")
        for family in self._initial:
            await self._start_family(family)

    async def _start_family(self, family: Family) -> None:
        if family in self._servers:
            return
        sock = self._reserved.pop(family, None) or _bound_socket(family, self.port)
        sock.listen(128)
        sock.setblocking(False)

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self._connection(family, reader, writer)

        self._servers[family] = await asyncio.start_server(
            handle, sock=sock, ssl=None if self._tls_hang else self._ssl
        )

    async def _stop_family(self, family: Family) -> None:
        server = self._servers.pop(family, None)
        if server is None:
            return
        server.close()
        for writer in list(self._writers[family]):
            writer.transport.abort()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 5)
        self._reserved[family] = _bound_socket(family, self.port)

    async def _shutdown(self) -> None:
        assert self._closing is not None
        self._closing.set()
        for family in list(self._servers):
            server = self._servers.pop(family)
            server.close()
        for writers in self._writers.values():
            for writer in list(writers):
                writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)

    async def _connection(
        self, family: Family, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        assert self._closing is not None
        self._tasks.add(task)  # type: ignore[arg-type]
        self._writers[family].add(writer)
        try:
            if self._tls_hang:
                await self._closing.wait()
                return
            while await self._exchange(family, reader, writer):
                pass
        except (OSError, EOFError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            self._writers[family].discard(writer)
            self._tasks.discard(task)  # type: ignore[arg-type]
            writer.transport.abort()

    async def _exchange(
        self, family: Family, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Serve one request; True to keep the connection for another."""
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.strip():
            return False
        lines = head.decode("latin-1").split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length") or 0)
        body = await reader.readexactly(length) if length else b""
        path = target.split("?", 1)[0]
        with self._lock:
            self._requests.append(
                Request(
                    family=family,
                    method=method,
                    path=path,
                    headers=headers,
                    body=body,
                    at=dt.datetime.now(dt.UTC),
                    monotonic=time.monotonic(),
                    target=target,
                )
            )
            route = self._routes.get(path, self._default)
        assert self._closing is not None
        if route.hang:
            await self._closing.wait()
            return False
        if route.delay:
            await asyncio.sleep(route.delay)
        if route.interim and not await self._send_interim(writer, route.interim):
            return False

        keep_alive = route.content_length and headers.get("connection", "").lower() != "close"
        size = route.body_size if route.body_size is not None else len(route.body_bytes)
        out = {"Content-Type": "application/json"}
        if route.content_length:
            out["Content-Length"] = str(size)
        out["Connection"] = "keep-alive" if keep_alive else "close"
        out.update(route.headers)
        reason = _REASONS.get(route.status, "Status")
        head_out = f"HTTP/1.1 {route.status} {reason}\r\n" + "".join(
            f"{name}: {value}\r\n" for name, value in out.items()
        )
        writer.write(head_out.encode("latin-1") + b"\r\n")
        if method != "HEAD":
            await self._send_body(writer, route, size)
        await writer.drain()
        if route.hold_open:
            await self._closing.wait()
            return False
        return keep_alive

    @staticmethod
    async def _send_interim(writer: asyncio.StreamWriter, count: int) -> bool:
        """Interim responses in batches; False when the client has gone meanwhile."""
        sent = 0
        while sent < count:
            if writer.transport.is_closing():
                return False
            batch = range(sent, min(count, sent + 1000))
            writer.write(b"".join(_INTERIM[i % 2] for i in batch))
            sent = batch.stop
            await writer.drain()
            await asyncio.sleep(0)
        return True

    @staticmethod
    async def _send_body(writer: asyncio.StreamWriter, route: Route, size: int) -> None:
        """Stops as soon as the client has gone."""
        if route.body_size is not None:
            block = b"x" * _CHUNK
            left = size
            while left > 0 and not writer.transport.is_closing():
                writer.write(block[: min(left, _CHUNK)])
                left -= _CHUNK
                await writer.drain()
                await asyncio.sleep(0)  # let a lost connection be noticed (drain() may not yield)
        elif route.trickle is not None:
            for i in range(size):
                if writer.transport.is_closing():
                    return
                writer.write(route.body_bytes[i : i + 1])
                await writer.drain()
                await asyncio.sleep(route.trickle)
        else:
            writer.write(route.body_bytes)


def _bound_socket(family: Family, port: int, reuse: bool = True) -> socket.socket:
    """A socket bound to the family's loopback address; until listen() it refuses connections.

    The first bind of a port is exclusive (no SO_REUSEADDR), so no other server can hold the
    same port; binding it again after a stop needs SO_REUSEADDR (connections in TIME_WAIT).
    """
    af = socket.AF_INET if family == "ipv4" else socket.AF_INET6
    sock = socket.socket(af, socket.SOCK_STREAM)
    try:
        if reuse:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if af == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((LOOPBACK[family], port))
    except BaseException:
        sock.close()
        raise
    return sock
