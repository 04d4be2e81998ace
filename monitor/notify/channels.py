"""Where messages go: Slack incoming webhooks (httpx) and SMTP (smtplib + email).

Secrets are read at each send (a rotated file takes effect without a restart) and never
enter an error: errors name the channel and what failed (HTTP status, exception type,
SMTP code), not the URL, its path or the server's echo of a credential.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import Protocol

import httpx

from monitor.config import EmailSettings, SlackSettings
from monitor.errors import NotifyError
from monitor.notify.messages import Message
from monitor.text.escape import single_line, slack
from monitor.text.redact import redact_url
from sla.vocabulary import ChannelKind, channel_name


class Channel(Protocol):
    name: str

    def send(self, message: Message) -> None: ...


class SlackChannel:
    def __init__(self, settings: SlackSettings, client: httpx.Client) -> None:
        self.name = channel_name(ChannelKind.SLACK, settings.name)
        self._settings = settings
        self._client = client

    def send(self, message: Message) -> None:
        try:
            url = self._settings.url()
        except ValueError as exc:
            raise NotifyError(f"{self.name}: {exc}") from None
        # `text` is what a phone's notification shows: escaped like every field, so a title
        # cannot mention anyone or link anywhere.
        body = {"text": slack(f"{message.title} (ref: {message.key})"), "blocks": message.blocks}
        where = redact_url(url, hide_path=True)  # the path of a webhook URL is the secret
        try:
            answer = self._client.post(url, json=body, headers={"X-Uptime-SLA-Key": message.key})
        except httpx.HTTPError as exc:
            raise NotifyError(
                f"{self.name}: cannot post to {where}: {type(exc).__name__}"
            ) from None
        if not answer.is_success:
            raise NotifyError(f"{self.name}: {where} answered HTTP {answer.status_code}")


class EmailChannel:
    """One SMTP server; `to` is the channel's list unless a message names its recipients."""

    def __init__(self, name: str, settings: EmailSettings, to: tuple[str, ...]) -> None:
        self.name = name
        self._settings = settings
        self._to = to

    def send(self, message: Message) -> None:
        recipients = message.to or self._to
        if not recipients:
            return
        email = self._compose(message, recipients)
        smtp = self._settings.smtp
        try:
            with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout) as server:
                if smtp.starttls:
                    server.starttls(context=ssl.create_default_context())
                if smtp.username is not None:
                    server.login(smtp.username, smtp.password() or "")
                server.send_message(email, to_addrs=list(recipients))
        except ValueError as exc:  # the password file went missing
            raise NotifyError(f"{self.name}: {exc}") from None
        except smtplib.SMTPResponseException as exc:
            raise NotifyError(
                f"{self.name}: {smtp.host}:{smtp.port} refused: SMTP {exc.smtp_code}"
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise NotifyError(
                f"{self.name}: cannot send via {smtp.host}:{smtp.port}: {type(exc).__name__}"
            ) from None

    def _compose(self, message: Message, recipients: tuple[str, ...]) -> EmailMessage:
        email = EmailMessage()
        email["Subject"] = single_line(message.title)
        email["From"] = self._settings.sender
        email["To"] = ", ".join(recipients)
        email["Date"] = formatdate(localtime=False)
        # The same event on the same channel always has the same Message-ID: a duplicate
        # after a crash is recognisable (and dropped by many mail systems).
        digest = hashlib.sha256(f"{self.name}\0{message.key}".encode()).hexdigest()[:32]
        email["Message-ID"] = f"<{digest}@uptime-sla>"
        email["X-Uptime-SLA-Key"] = single_line(message.key)
        email.set_content(message.text)
        email.add_alternative(message.html, subtype="html")
        for attachment in message.attachments:
            maintype, _, subtype = attachment.mime.partition("/")
            email.add_attachment(
                attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
            )
        return email
