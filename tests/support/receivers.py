"""The other ends of notifications, real and on loopback: a Slack webhook receiver (HTTP)
and an SMTP server (aiosmtpd) with STARTTLS and login, both recording what they got.

Both can be taken down and brought back: the Slack receiver answers 503 while
`available` is false; the SMTP server refuses connections after `down()`, or (after
`hang()`) accepts them and never says a word, until `up()`; with `mailbox.hold_after` set
it takes that many messages and leaves the next one unanswered.

Both can also be hostile: the Slack receiver's `answer` decides each reply (any status, a
gzip bomb, an answer trickled a byte at a time), and `HostileSmtp` (aiosmtpd, plain text)
refuses chosen recipients or messages, streams an endless multi-line reply, or trickles
its reply to a message it has accepted. Each records when the client hung up on it.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from support.bombs import zeros
from support.processes import free_port

WEBHOOK_PATH = "/services/T0001/B0001/sentinel-webhook-6c1d"
SMTP_USER = "status"
SMTP_PASSWORD = "sentinel-smtp-password-3e7a"


@dataclass
class SlackPost:
    path: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.body["blocks"][-1]["elements"][0]["text"].removeprefix("ref: ").strip("`")

    @property
    def title(self) -> str:
        return self.body["blocks"][0]["text"]["text"]

    @property
    def text(self) -> str:
        return "\n".join(b["text"]["text"] for b in self.body["blocks"] if b["type"] == "section")


@dataclass(frozen=True)
class Answer:
    """What the receiver answers a post: `trickle` spreads the whole answer (status line
    included) over that many seconds, a byte at a time (padded with a header as needed)."""

    status: int = 200
    body: bytes = b"ok"
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "text/plain"),)
    trickle: float = 0.0
    recorded: bool = True  # false: the post is not kept (a refused message)

    def raw(self) -> bytes:
        head = [f"HTTP/1.1 {self.status} Answer", f"Content-Length: {len(self.body)}"]
        head += [f"{name}: {value}" for name, value in self.headers]
        head.append("Connection: close")
        if self.trickle:  # a byte every TRICKLE_STEP or faster: a hang-up is seen at once
            size = len("\r\n".join(head)) + len(self.body) + 14
            head.append("X-Slow: " + "." * max(1, int(self.trickle / TRICKLE_STEP) - size))
        return ("\r\n".join(head) + "\r\n\r\n").encode() + self.body


TRICKLE_STEP = 0.05  # seconds between the bytes of a trickled answer or reply


class SlackReceiver:
    """Slack's incoming webhook as far as a sender sees it: POST JSON, answer `ok`.

    `answer(post)` may say otherwise; the receiver counts the answers a client stopped
    reading (`hung_up`) and the most posts of one message it was sent at once."""

    def __init__(self) -> None:
        self.posts: list[SlackPost] = []
        self.available = True
        self.answer: Callable[[SlackPost], Answer] | None = None
        self.hung_up = 0
        self.most_at_once = 0
        self._in_flight: Counter[str] = Counter()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                post = SlackPost(
                    self.path, json.loads(self.rfile.read(length)), dict(self.headers.items())
                )
                if not receiver.available:
                    self._reply(Answer(status=503, body=b""))
                    return
                answer = receiver.answer(post) if receiver.answer else Answer()
                key = self.headers.get("X-Uptime-SLA-Key", "")
                with receiver._lock:
                    if answer.recorded:
                        receiver.posts.append(post)
                    receiver._in_flight[key] += 1
                    receiver.most_at_once = max(receiver.most_at_once, receiver._in_flight[key])
                try:
                    self._reply(answer)
                finally:
                    with receiver._lock:
                        receiver._in_flight[key] -= 1

            def _reply(self, answer: Answer) -> None:
                raw = answer.raw()
                try:
                    if not answer.trickle:
                        self.wfile.write(raw)
                        return
                    # Paced against the clock, not by sleeps alone: on a busy machine every
                    # sleep overshoots, and a 6 s trickle would take 9.
                    start, step = time.monotonic(), answer.trickle / len(raw)
                    for i, byte in enumerate(raw):
                        self.wfile.write(bytes((byte,)))
                        time.sleep(max(0.0, start + (i + 1) * step - time.monotonic()))
                except OSError:  # the client hung up
                    with receiver._lock:
                        receiver.hung_up += 1
                finally:
                    self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def url(self, path: str = WEBHOOK_PATH) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def event_keys(self) -> list[str]:
        return [post.key for post in self.posts]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def gzip_bomb(size: int) -> Answer:
    """A 200 whose gzip body stands for `size` zero bytes (a multiple of 16 MiB)."""
    return Answer(body=zeros(size, "gzip"), headers=(("Content-Encoding", "gzip"),))


@dataclass
class Mailbox:
    messages: list[EmailMessage] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)  # recipients answered 550
    connections: set[tuple[str, int]] = field(default_factory=set)  # client (host, port)s
    pipelining: bool = False  # offer PIPELINING (RFC 2920) in the EHLO answer
    # Once this many messages are in, hold every further one unanswered (the client sees a
    # slow server) until it is set back to None; a held message is then refused (451).
    hold_after: int | None = None

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        if not self.pipelining:
            return responses
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.connections.add(tuple(session.peer[:2]))
        if self.hold_after is not None and len(self.messages) >= self.hold_after:
            while self.hold_after is not None:
                await asyncio.sleep(0.05)
            return "451 4.3.0 Held, try again later"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        message["X-Was-TLS"] = "yes" if session.ssl else "no"
        message["X-Authenticated"] = "yes" if session.authenticated else "no"
        self.messages.append(message)
        return "250 OK"


class SmtpServer:
    """aiosmtpd on 127.0.0.1 requiring STARTTLS before login (the trustme CA's cert)."""

    def __init__(self, ca: trustme.CA) -> None:
        self.mailbox = Mailbox()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        self._context = context
        self.port = free_port()
        self._controller: Controller | None = None
        self._silent: socket.socket | None = None
        self.up()

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == SMTP_USER.encode()
            and auth_data.password == SMTP_PASSWORD.encode()
        )
        return AuthResult(success=ok, handled=False)

    def up(self) -> None:
        if self._silent is not None:
            self._silent.close()
            self._silent = None
        self._controller = Controller(
            self.mailbox,
            hostname="127.0.0.1",
            port=self.port,
            tls_context=self._context,
            require_starttls=True,
            authenticator=self._authenticate,
            auth_required=True,
            auth_require_tls=True,
        )
        self._controller.start()

    def down(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def close(self) -> None:
        self.down()
        if self._silent is not None:
            self._silent.close()
            self._silent = None

    def hang(self) -> None:
        """Listen without ever accepting: the kernel completes connections, no greeting
        comes, so a client waits for its whole timeout (the worst kind of outage)."""
        self.down()
        silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        silent.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        silent.bind(("127.0.0.1", self.port))
        silent.listen(64)
        self._silent = silent

    @property
    def messages(self) -> list[EmailMessage]:
        return self.mailbox.messages

    def event_keys(self) -> list[str]:
        return [str(m["X-Uptime-SLA-Key"]) for m in self.messages]


class HostileHandler(Mailbox):
    """What a hostile relay does, set by `mode` at any time:

    - "ok": accepts every message;
    - "refuse": answers 550 to recipients in `refused` and 554 to a message whose subject
      has "poison" in it (and 451, a temporary failure, to "later");
    - "endless": answers EHLO with a multi-line reply that never ends (a few KB a line);
    - "trickle": accepts a message, then trickles its reply a byte every TRICKLE_STEP for
      `trickle` seconds.
    """

    def __init__(self) -> None:
        super().__init__()
        self.mode = "ok"
        self.refused: set[str] = set()
        self.trickle = 60.0
        self.hung_up = 0
        self.streamed = 0  # bytes of endless replies written

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        if self.mode != "endless":
            return responses
        line = b"250-" + b"x" * 4000 + b"\r\n"
        try:
            while True:
                server._writer.write(line * 16)
                await server._writer.drain()
                self.streamed += len(line) * 16
        except (OSError, asyncio.CancelledError):
            self.hung_up += 1
            raise

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.mode == "refuse" and address in self.refused:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        subject = str(message.get("Subject", ""))
        if self.mode == "refuse" and "poison" in subject:
            return "554 5.6.0 Message refused"
        if self.mode == "refuse" and "later" in subject:
            return "451 4.3.0 Try again later"
        status = await super().handle_DATA(server, session, envelope)
        if self.mode == "trickle":
            reply = b"250-" + b"." * int(self.trickle / TRICKLE_STEP) + b"\r\n"
            try:
                for byte in reply:
                    server._writer.write(bytes((byte,)))
                    await server._writer.drain()
                    await asyncio.sleep(TRICKLE_STEP)
            except (OSError, asyncio.CancelledError):
                self.hung_up += 1
                raise
        return status


class HostileSmtp:
    """aiosmtpd on 127.0.0.1, plain text and without login, doing what `handler.mode` says."""

    def __init__(self) -> None:
        self.handler = HostileHandler()
        self.port = free_port()
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    @property
    def messages(self) -> list[EmailMessage]:
        return self.handler.messages

    def close(self) -> None:
        self._controller.stop()
