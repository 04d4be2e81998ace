"""A config with every channel wired to the local receivers, and a clock tests move."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.notifying import WINDOW
from support.receivers import SMTP_PASSWORD, SMTP_USER, SlackReceiver, SmtpServer

from monitor.config import Config, load_config
from monitor.metrics.collectors import NotifyMetrics
from monitor.notify.service import Notifier
from monitor.status.state import StatusBuilder
from monitor.store import Store


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))


@pytest.fixture
def notify_config(
    tmp_path: Path, slack_receiver: SlackReceiver, smtp_server: SmtpServer
) -> Callable[..., Config]:
    """`notify_config(extra_yaml, database=..., smtp=..., slack=..., to=...)`: targets, a
    contract with a contact, a Slack channel for incidents and maintenance, one for finance,
    and email to subscribers. `smtp` (a YAML mapping) replaces the server's settings,
    `slack` (", key: value") adds to the status channel's, `to` replaces the recipients."""
    (tmp_path / "smtp-password").write_text(SMTP_PASSWORD + "\n")
    (tmp_path / "slack-status").write_text(slack_receiver.url() + "\n")
    default_smtp = (
        f"{{host: 127.0.0.1, port: {smtp_server.port}, username: {SMTP_USER},"
        f' password_file: "{tmp_path / "smtp-password"}"}}'
    )

    def make(
        extra: str = "",
        database: str | None = None,
        smtp: str | None = None,
        slack: str = "",
        to: str = "[subscribers@example.com]",
    ) -> Config:
        text = textwrap.dedent(f"""\
            location: lab
            storage: {{url: "{database or f"sqlite:///{tmp_path / 'uptime-sla.db'}"}"}}
            targets:
              - {{name: api-health, url: "https://api.test/health", service: public-api}}
              - {{name: web, url: "https://web.test/", service: website}}
            plans: {{pro: {{objective: 99.9, credits: [{{below: 99.9, percent: 10}}]}}}}
            contracts:
              - {{customer: acme, display_name: Acme Corp., contacts: [billing@acme.example],
                  plan: pro, service: public-api, monthly_fee: "1000.00", start: 2026-01-01}}
              - {{customer: globex, contacts: [ap@globex.example, cfo@globex.example],
                  plan: pro, service: website, monthly_fee: "500.00", start: 2026-01-01}}
            notifications:
              slack:
                - {{name: status, webhook_url_file: "{tmp_path / "slack-status"}",
                    events: [incident, maintenance]{slack}}}
                - {{name: finance, webhook_url: "{slack_receiver.url("/finance")}", events: []}}
              email:
                smtp: {smtp or default_smtp}
                from: status@example.com
                to: {to}
                events: [incident, maintenance]
              maintenance_notice: 1h
              give_up_after: 2h
            """) + textwrap.dedent(extra)
        path = tmp_path / "uptime-sla.yaml"
        path.write_text(text)
        return load_config(path)

    return make


@pytest.fixture
def notifier(notify_config, clock):
    """`notifier(extra_yaml=WINDOW, location=..., **notify_config_options)`: a Notifier on
    the fake clock, with its `store` and `metrics` at hand; stopped and closed at teardown."""
    notifiers = []

    def make(extra: str = WINDOW, location: str | None = None, **kwargs):
        config = notify_config(extra, **kwargs)
        if location is not None:
            config = config.model_copy(update={"location": location})
        store = Store(config.storage.url)
        status = StatusBuilder(config, store).snapshot
        metrics = NotifyMetrics()
        notifier = Notifier(config, store, metrics, clock, status=status)
        notifier.store, notifier.metrics = store, metrics
        notifiers.append((notifier, store))
        return notifier

    yield make
    for notifier, store in notifiers:
        notifier.stop()
        store.close()
