"""The other ends of notifications, real and on loopback: a Slack webhook receiver (HTTP)
and an SMTP server (aiosmtpd) with STARTTLS and login, both recording what they got.

Both can be taken down and brought back: the Slack receiver answers 503 while
`available` is false; the SMTP server refuses connections after `down()`, or (after
`hang()`) accepts them and never says a word, until `up()`.
"""

from __future__ import annotations

import email
import email.policy
import json
import socket
import ssl
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from support.processes import free_port

WEBHOOK_PATH = "/services/T0001/B0001/sentinel-webhook-6c1d"
SMTP_USER = "status"
SMTP_PASSWORD = "sentinel-smtp-password-3e7a"


@dataclass
class SlackPost:
    path: str
    body: dict[str, Any]

    @property
    def key(self) -> str:
        return self.body["blocks"][-1]["elements"][0]["text"].removeprefix("ref: ").strip("`")

    @property
    def title(self) -> str:
        return self.body["blocks"][0]["text"]["text"]

    @property
    def text(self) -> str:
        return "\n".join(b["text"]["text"] for b in self.body["blocks"] if b["type"] == "section")


class SlackReceiver:
    """Slack's incoming webhook as far as a sender sees it: POST JSON, answer `ok`."""

    def __init__(self) -> None:
        self.posts: list[SlackPost] = []
        self.available = True
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                if not receiver.available:
                    self.send_response(503)
                    self.end_headers()
                    return
                receiver.posts.append(SlackPost(self.path, body))
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok")

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


@dataclass
class Mailbox:
    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
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
