"""Builders for the subscription tests: a config with the service, the service running
in-process on a real socket, and what a subscriber's mailbox and webhook receiver get.

`write_config` gives two services and three components, email to the test SMTP server
(STARTTLS and login, support.receivers.SmtpServer) and `status_page.subscriptions` on a
free port; `ServiceUnderTest` serves it with uvicorn on that port until closed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx

from monitor.config import Config, load_config
from monitor.store import Store
from monitor.subscriptions.app import SubscriptionService, compose
from monitor.subscriptions.server import ServiceThread
from support.processes import SCRAPE_TIMEOUT, free_port
from support.receivers import SMTP_PASSWORD, SMTP_USER

SECRET = "sentinel-subscription-secret-8c2d"
COMPONENTS = ("Public API", "Website", '<b>Search</b> & "more"')
_LINK = re.compile(r"(https?://\S+/(?:confirm|unsubscribe)\?token=[\w.%-]+)")


def write_secrets(folder: Path) -> tuple[Path, Path]:
    """The subscription secret and the SMTP password, as files beside a config."""
    secret, password = folder / "subscriptions-secret", folder / "smtp-password"
    secret.write_text(SECRET + "\n")
    password.write_text(SMTP_PASSWORD + "\n")
    return secret, password


def write_config(
    tmp_path: Path,
    smtp_port: int,
    *,
    port: int | None = None,
    base_url: str | None = None,
    database: str | None = None,
    allow_private: bool = True,
    subscriptions: str = "",
    email: str = "",
    top: str = "",
) -> Path:
    """The config file; `subscriptions`, `email` and `top` add YAML lines to those blocks
    (webhooks to loopback are allowed unless `allow_private` is false)."""
    port = port or free_port()
    secret, password = write_secrets(tmp_path)
    database = database or f"sqlite:///{tmp_path / 'uptime-sla.db'}"
    base_url = base_url or f"http://127.0.0.1:{port}/subscriptions"
    components = "".join(
        f"    - {{name: {json.dumps(name)}, services: [{service}]}}\n"
        for name, service in zip(COMPONENTS, ("public-api", "website", "search"), strict=True)
    )

    def block(lines: str, indent: str) -> str:
        return textwrap.indent(textwrap.dedent(lines).strip() + "\n", indent) if lines else ""

    config = tmp_path / "uptime-sla.yaml"
    config.write_text(
        f"""location: lab
storage: {{url: "{database}", batch_interval: 0.2s}}
metrics: {{listen: "127.0.0.1:{free_port()}"}}
targets:
  - {{name: api, url: "https://api.test/", service: public-api}}
  - {{name: web, url: "https://web.test/", service: website}}
  - {{name: search, url: "https://search.test/", service: search}}
notifications:
  email:
    smtp: {{host: 127.0.0.1, port: {smtp_port}, username: {SMTP_USER},
            password_file: "{password}"}}
    from: status@example.com
{block(email, "    ")}status_page:
  title: Outfame API status
  url: https://status.example.com
  components:
{components}  subscriptions:
    listen: 127.0.0.1:{port}
    base_url: {base_url}
    secret_file: "{secret}"
    allow_private_webhooks: {"true" if allow_private else "false"}
{block(subscriptions, "    ")}{block(top, "")}"""
    )
    return config


class ServiceUnderTest:
    """The subscription service of `config` on its listener, in this process."""

    def __init__(self, config: Config, clock: Callable[[], datetime] | None = None) -> None:
        page = config.status_page
        assert page is not None
        assert page.subscriptions is not None
        self.config = config
        self.store = Store(config.storage.url)
        self.service = SubscriptionService(config, self.store, clock or (lambda: datetime.now(UTC)))
        self._thread = ServiceThread(
            compose(self.service.routes()),
            page.subscriptions.listen,
            trusted_proxies=page.subscriptions.trusted_proxies,
            where="test",
        )
        self._thread.start()
        self.base = page.subscriptions.base_url
        self.client = httpx.Client(timeout=SCRAPE_TIMEOUT, follow_redirects=False)

    @classmethod
    def of(cls, path: Path, clock: Callable[[], datetime] | None = None) -> ServiceUnderTest:
        return cls(load_config(path), clock)

    def post(self, path: str, data: Any = None, **options: Any) -> httpx.Response:
        return self.client.post(f"{self.base}{path}", data=data, **options)

    def get(self, path: str, **options: Any) -> httpx.Response:
        return self.client.get(f"{self.base}{path}", **options)

    def close(self) -> None:
        self.client.close()
        self._thread.stop()
        self.store.close()


def links(message: EmailMessage) -> list[str]:
    """The confirm and unsubscribe links in an email's plain text."""
    part = message.get_body(("plain",))
    assert part is not None
    return _LINK.findall(part.get_content())


def paragraphs(html: str) -> list[str]:
    """The messages of one of the service's pages."""
    return re.findall(r'<p class="lede">(.*?)</p>', html, re.S)


def button_token(html: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', html)
    assert found, html
    return found[1]


def signed_by(secret: str, body: bytes, header: str) -> bool:
    """`X-Uptime-SLA-Signature: sha256=HEX` as a receiver checks it."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)
