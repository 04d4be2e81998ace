"""Where messages go: Slack incoming webhooks (httpx) and SMTP (smtplib + email).

Every send ends in a `Result`, never an exception: SENT; TRANSIENT (the server or the
network is away: the dispatcher retries with backoff); or POISON (this message can never
be sent: Slack answered 4xx other than 429, the SMTP server answered 5xx to it, the email
library refused to build it), which the dispatcher gives up at once so it never holds
back the messages after it.

A send is bounded in total, not per read: the channel's `timeout` covers connecting, TLS,
the request and the answer, so a server that trickles its answer a byte at a time cannot
keep it alive (the channel's lease outlives `timeout`). What a server says is read within
bounds: an HTTP answer to at most ANSWER_LIMIT bytes, never decompressed; an SMTP reply of
at most MAX_REPLY_LINES lines and MAX_REPLY_BYTES bytes.

Secrets are read at each send (a rotated file takes effect without a restart) and never
enter a result: it names the channel and what failed (HTTP status, exception type, SMTP
code), not the URL, its path or the server's echo of a credential.
"""

from __future__ import annotations

import asyncio
import email.policy
import hashlib
import json
import smtplib
import socket
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from monitor.config import EmailSettings, SlackSettings
from monitor.notify.messages import Message
from monitor.text.escape import single_line, slack
from monitor.text.redact import redact_url
from sla.vocabulary import ChannelKind, channel_name

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

ANSWER_LIMIT = 64 * 1024  # bytes of an HTTP answer read, as sent (never decompressed)
MAX_REPLY_LINES = 100  # lines of one SMTP reply (an EHLO answer has about a dozen)
MAX_REPLY_BYTES = 64 * 1024
MAX_LINE = 8192  # bytes of one reply line, as smtplib allows
_SEEN_LIMIT = 1024  # messages whose delivered recipients an email channel remembers


class Outcome(StrEnum):
    SENT = "sent"
    TRANSIENT = "transient"  # retried with backoff
    POISON = "poison"  # given up at once


@dataclass(frozen=True)
class Result:
    """How a send ended; `detail` says why (for logs), `retry_after` what a server asked."""

    outcome: Outcome
    detail: str = ""
    retry_after: float | None = None


SENT = Result(Outcome.SENT)


def transient(detail: str, retry_after: float | None = None) -> Result:
    return Result(Outcome.TRANSIENT, detail, retry_after)


def poison(detail: str) -> Result:
    return Result(Outcome.POISON, detail)


class Channel(Protocol):
    name: str
    timeout: float  # the longest one send may take, all in

    def send(self, message: Message) -> Result: ...


# --- Slack ---------------------------------------------------------------------------------


def slack_body(message: Message) -> dict[str, Any]:
    """The webhook's JSON: `text` is what a phone's notification shows (escaped like every
    field, so it cannot mention anyone or link anywhere), `blocks` what Slack displays."""
    return {"text": slack(f"{message.title} (ref: {message.key})"), "blocks": message.blocks}


class SlackChannel:
    def __init__(self, settings: SlackSettings) -> None:
        self.name = channel_name(ChannelKind.SLACK, settings.name)
        self.timeout = settings.timeout
        self._settings = settings

    def send(self, message: Message) -> Result:
        try:
            url = self._settings.url()
        except ValueError as exc:  # the URL file went missing: the channel's, not the message's
            return transient(f"{self.name}: {exc}")
        where = redact_url(url, hide_path=True)  # the path of a webhook URL is the secret
        body = json.dumps(slack_body(message)).encode()
        try:
            status, retry_after = asyncio.run(self._post(url, body, message.key))
        except TimeoutError:
            return transient(f"{self.name}: no answer from {where} within {self.timeout:g} s")
        except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
            return transient(f"{self.name}: cannot post to {where}: {type(exc).__name__}")
        if 200 <= status < 300:
            return SENT
        detail = f"{self.name}: {where} answered HTTP {status}"
        if status == 429 or status >= 500:
            return transient(detail, _seconds(retry_after))
        return poison(detail)

    async def _post(self, url: str, body: bytes, key: str) -> tuple[int, str | None]:
        """POST within the channel's timeout, all in; read at most ANSWER_LIMIT bytes of
        the answer as they arrive (`identity` asked for, nothing inflated)."""
        headers = {
            "Content-Type": "application/json",
            "Accept-Encoding": "identity",
            # A header is ASCII: anything else in a key is sent as \x../\u.... escapes.
            "X-Uptime-SLA-Key": single_line(key).encode("ascii", "backslashreplace").decode(),
        }
        async with asyncio.timeout(self.timeout):
            async with (
                httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as client,
                client.stream("POST", url, content=body, headers=headers) as answer,
            ):
                read = 0
                async for chunk in answer.aiter_raw():
                    read += len(chunk)
                    if read >= ANSWER_LIMIT:
                        break
                return answer.status_code, answer.headers.get("Retry-After")


def _seconds(value: str | None) -> float | None:
    """A Retry-After in delta-seconds (a date is not worth the parsing here)."""
    if value is None or not value.strip().isdigit() or not value.isascii():
        return None
    return float(value.strip())


# --- email ---------------------------------------------------------------------------------


class SendTimeout(smtplib.SMTPException):
    """The send's deadline passed."""


class ReplyTooLarge(smtplib.SMTPException):
    """A reply longer than MAX_REPLY_LINES lines or MAX_REPLY_BYTES bytes."""


class BoundedSMTP(smtplib.SMTP):
    """smtplib under a total deadline, reading replies within bounds.

    Each read and write waits at most until the deadline (a trickle of single bytes cannot
    renew a per-read timeout), and a reply is read line by line from the socket, not
    through smtplib's unbounded loop, so an endless multi-line reply fails the send after
    MAX_REPLY_LINES lines instead of filling memory.
    """

    def __init__(self, deadline: float, local_hostname: str) -> None:
        self._deadline = deadline  # time.monotonic()
        self._pending = b""
        self._read_from: object = None
        super().__init__(local_hostname=local_hostname)

    def renew(self, seconds: float) -> None:
        """A new deadline `seconds` from now: a connection that carries many messages (the
        subscribers' fan-out) gives each message the whole `timeout`."""
        self._deadline = time.monotonic() + seconds

    def _left(self) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            self.close()
            raise SendTimeout("the send's deadline passed")
        return left

    def connect(
        self, host: str = "localhost", port: int = 0, source_address: Any = None
    ) -> tuple[int, bytes]:
        self._host = host  # what STARTTLS checks the certificate against
        self.timeout = self._left()  # connecting, then the greeting (read by getreply)
        return super().connect(host, port, source_address)

    def send(self, s: ReadableBuffer | str) -> None:
        if self.sock is not None:
            self.sock.settimeout(self._left())
        super().send(s)

    def getreply(self) -> tuple[int, bytes]:
        lines: list[bytes] = []
        size = 0
        while True:
            line = self._line()
            size += len(line)
            if len(lines) >= MAX_REPLY_LINES or size > MAX_REPLY_BYTES:
                self.close()
                raise ReplyTooLarge(f"a reply of more than {MAX_REPLY_LINES} lines or 64 KiB")
            lines.append(line[4:].strip(b" \t\r\n"))
            try:
                code = int(line[:3])
            except ValueError:
                return -1, b"\n".join(lines)
            if line[3:4] != b"-":
                return code, b"\n".join(lines)

    def _line(self) -> bytes:
        if self._read_from is not self.sock:  # connected anew, or TLS began: start afresh
            self._pending, self._read_from = b"", self.sock
        while True:
            end = self._pending.find(b"\n")
            if end >= 0:
                line, self._pending = self._pending[: end + 1], self._pending[end + 1 :]
                return line
            if len(self._pending) > MAX_LINE:
                self.close()
                raise smtplib.SMTPResponseException(500, b"Line too long.")
            if self.sock is None:
                raise smtplib.SMTPServerDisconnected("not connected")
            try:
                self.sock.settimeout(self._left())
                data = self.sock.recv(8192)
            except TimeoutError:
                self.close()
                raise SendTimeout("the send's deadline passed") from None
            except OSError as exc:
                self.close()
                raise smtplib.SMTPServerDisconnected(type(exc).__name__) from None
            if not data:
                self.close()
                raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
            self._pending += data

    def quit_quietly(self) -> None:
        """QUIT within what is left of the deadline; the message is sent whatever it says."""
        try:
            if self.sock is not None:
                self.quit()
        except (smtplib.SMTPException, OSError):
            pass
        finally:
            self.close()


@dataclass(frozen=True)
class _Mail:
    recipient: str
    data: bytes
    options: tuple[str, ...]


class EmailChannel:
    """One SMTP server; `to` is the channel's list unless a message names its recipients.

    Each recipient gets a message of its own (no one sees another's address), all over one
    connection. Within the process, a retry skips the recipients that already have it.
    """

    def __init__(self, name: str, settings: EmailSettings, to: tuple[str, ...]) -> None:
        self.name = name
        self.timeout = settings.smtp.timeout
        self._settings = settings
        self._to = to
        self._delivered: dict[str, set[str]] = {}  # message key -> recipients who have it
        self._hostname: str | None = None

    def send(self, message: Message) -> Result:
        recipients = list(dict.fromkeys(message.to or self._to))
        if not recipients:
            return SENT
        delivered = self._delivered.setdefault(message.key, set())
        while len(self._delivered) > _SEEN_LIMIT:
            del self._delivered[next(iter(self._delivered))]
        try:
            mails = [self._compose(message, r) for r in recipients if r not in delivered]
        except Exception as exc:  # the email library refuses it: it always will
            self._delivered.pop(message.key, None)
            return poison(f"{self.name}: cannot build the message: {type(exc).__name__}")
        result = self._deliver(mails, delivered)
        if result.outcome is not Outcome.TRANSIENT:
            self._delivered.pop(message.key, None)
        return result

    def _deliver(self, mails: list[_Mail], delivered: set[str]) -> Result:
        smtp = self._settings.smtp
        where = f"{smtp.host}:{smtp.port}"
        try:
            password = smtp.password()
        except ValueError as exc:  # the password file went missing
            return transient(f"{self.name}: {exc}")
        if self._hostname is None:
            self._hostname = socket.getfqdn()
        server = BoundedSMTP(time.monotonic() + self.timeout, self._hostname)
        refused: list[int] = []
        try:
            server.connect(smtp.host, smtp.port)
            if smtp.starttls:
                server.starttls(context=ssl.create_default_context())
            if smtp.username is not None:
                server.login(smtp.username, password or "")
            for mail in mails:
                code = _refused(server, self._settings.sender, mail)
                if code is not None:
                    refused.append(code)
                delivered.add(mail.recipient)
        except SendTimeout:
            return transient(f"{self.name}: no answer from {where} within {self.timeout:g} s")
        except ReplyTooLarge:
            return transient(
                f"{self.name}: {where} answered with a reply of more than"
                f" {MAX_REPLY_LINES} lines or 64 KiB"
            )
        except smtplib.SMTPResponseException as exc:  # 4xx, or 5xx before any message
            return transient(f"{self.name}: {where} refused: SMTP {exc.smtp_code}")
        except smtplib.SMTPRecipientsRefused as exc:  # a temporary refusal (4xx)
            codes = sorted({code for code, _ in exc.recipients.values()})
            return transient(f"{self.name}: {where} refused: SMTP {codes[0]}")
        except (smtplib.SMTPException, OSError) as exc:
            return transient(f"{self.name}: cannot send via {where}: {type(exc).__name__}")
        finally:
            server.quit_quietly()
        if not refused:
            return SENT
        detail = f"{self.name}: {where} refused the message: SMTP {refused[0]}"
        if len(refused) == len(mails):
            return poison(detail)
        return Result(Outcome.SENT, f"{detail} for {len(refused)} of {len(mails)} recipients")

    def _compose(self, message: Message, recipient: str) -> _Mail:
        email_message = EmailMessage()
        email_message["Subject"] = single_line(message.title)
        email_message["From"] = self._settings.sender
        email_message["To"] = recipient
        email_message["Date"] = formatdate(localtime=False)
        # The same event on the same channel for the same recipient always has the same
        # Message-ID: a duplicate after a crash is recognisable (and dropped by many).
        identity = f"{self.name}\0{message.key}\0{recipient}"
        digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
        email_message["Message-ID"] = f"<{digest}@uptime-sla>"
        email_message["X-Uptime-SLA-Key"] = single_line(message.key)
        email_message.set_content(message.text)
        email_message.add_alternative(message.html, subtype="html")
        for attachment in message.attachments:
            maintype, _, subtype = attachment.mime.partition("/")
            email_message.add_attachment(
                attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
            )
        international = not (recipient.isascii() and self._settings.sender.isascii())
        policy = email.policy.SMTPUTF8 if international else email.policy.SMTP
        options = ("SMTPUTF8", "BODY=8BITMIME") if international else ()
        return _Mail(recipient, email_message.as_bytes(policy=policy), options)


def _refused(server: BoundedSMTP, sender: str, mail: _Mail) -> int | None:
    """Send one message; the SMTP code when the server refuses it for good (5xx)."""
    try:
        server.sendmail(sender, [mail.recipient], mail.data, mail_options=list(mail.options))
    except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
        if 500 <= exc.smtp_code < 600:
            return exc.smtp_code
        raise
    except smtplib.SMTPRecipientsRefused as exc:
        ((code, _),) = exc.recipients.values()
        if 500 <= code < 600:
            return code
        raise
    except smtplib.SMTPNotSupportedError:  # SMTPUTF8 asked of a server without it
        return 555
    return None
