"""uvicorn serving the subscription service on its own thread and event loop.

Beside `run`'s probing, never on its loop: a burst of requests (or of DNS lookups for
webhook URLs) queues here, not in front of a probe. The socket is bound before the
thread starts, so a taken port is a one-line error at start-up, not a dead thread.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading

import uvicorn
from starlette.types import ASGIApp

from monitor.config import split_listen
from monitor.errors import MonitorError

log = logging.getLogger(__name__)

MAX_CONCURRENT = 64  # requests in progress; more are answered 503 at once


def bind(listen: str, where: str) -> socket.socket:
    host, port = split_listen(listen)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise MonitorError(f"{where}: cannot listen on {listen}: {exc.strerror}") from None
    sock.setblocking(False)
    return sock


class ServiceThread:
    """An ASGI app served on `listen` until stop()."""

    def __init__(
        self, app: ASGIApp, listen: str, *, trusted_proxies: tuple[str, ...], where: str
    ) -> None:
        self._socket = bind(listen, where)
        self.port = self._socket.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_config=None,  # the monitor's logging; uvicorn's own would replace it
            access_log=False,  # request lines hold tokens
            proxy_headers=True,
            forwarded_allow_ips=list(trusted_proxies),
            server_header=False,
            lifespan="off",
            limit_concurrency=MAX_CONCURRENT,
            timeout_keep_alive=5,
            h11_max_incomplete_event_size=16 * 1024,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, name="subscriptions", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _serve(self) -> None:
        try:
            asyncio.run(self._server.serve(sockets=[self._socket]))
        except Exception:  # the service stops; probing goes on
            log.exception("subscriptions: the service stopped")

    def stop(self, timeout: float = 5.0) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._socket.close()
