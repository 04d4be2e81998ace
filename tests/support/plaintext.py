"""Plaintext HTTP listeners on loopback: what a provider's port 80 may do with a request.

A `PlaintextServer` listens on 127.0.0.1 and [::1] with one port number for both, in a
thread of its own, and answers every request as its mode says:

- a status code (301, 403, 429, 200...) with optional headers: an HTTP answer;
- `"close"`: accept the connection, read the request and close it without a word;
- `"refuse"`: the port is bound but not listening, so a connect is refused.

Each request's head is kept (`requests`), so a test can check that nothing secret was sent.

    with PlaintextServer(301, headers={"Location": "https://api.test/"}) as plain:
        plain.port
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from typing import Literal

from support.https import LOOPBACK

Mode = int | Literal["close", "refuse"]


class PlaintextServer:
    def __init__(self, mode: Mode, headers: dict[str, str] | None = None) -> None:
        self.mode = mode
        self.headers = dict(headers or {})
        self.requests: list[bytes] = []
        self.port = 0
        self._sockets: list[socket.socket] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._servers: list[asyncio.Server] = []

    def __enter__(self) -> PlaintextServer:
        for _ in range(100):  # one port number free on both loopback addresses
            v4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            v4.bind((LOOPBACK["ipv4"], 0))
            v6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            try:
                v6.bind((LOOPBACK["ipv6"], v4.getsockname()[1]))
            except OSError:
                v4.close()
                v6.close()
                continue
            self.port, self._sockets = v4.getsockname()[1], [v4, v6]
            break
        else:
            raise RuntimeError("no port free on both 127.0.0.1 and ::1")
        if self.mode == "refuse":
            return self
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._loop is not None and self._thread is not None:
            asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()
        for sock in self._sockets:
            sock.close()

    async def _start(self) -> None:
        for sock in self._sockets:
            sock.listen(16)
            sock.setblocking(False)
            self._servers.append(await asyncio.start_server(self._handle, sock=sock))

    async def _stop(self) -> None:
        for server in self._servers:
            server.close()
            await server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            self.requests.append(head)
            if isinstance(self.mode, int):
                lines = [f"HTTP/1.1 {self.mode} Whatever", "Content-Length: 0"]
                lines += [f"{name}: {value}" for name, value in self.headers.items()]
                writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
                await writer.drain()
        writer.close()
