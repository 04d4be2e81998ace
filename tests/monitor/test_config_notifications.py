"""The `notifications:` and `reports:` sections: the spec's example loads, mistakes exit 2."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config import load_config

WEBHOOK = "https://hooks.slack.example/services/T000/B000/sentinel-webhook-4d2f"
PASSWORD = "sentinel-smtp-password-9b1e"

BASE = textwrap.dedent(
    """\
    targets:
      - name: api-health
        url: https://api.outfame.com/v1/health
        service: public-api
    plans:
      pro: {objective: 99.9, credits: [{below: 99.9, percent: 10}]}
    contracts:
      - customer: acme
        display_name: Acme Corp.
        contacts: [billing@acme.example]
        plan: pro
        service: public-api
        monthly_fee: "100.00"
        start: 2026-01-01
    notifications:
      slack:
        - name: status
          webhook_url_file: {secrets}/slack-status
          events: [incident, maintenance]
        - name: finance
          webhook_url: ${SLACK_FINANCE_WEBHOOK}
          events: []
      email:
        smtp: {host: smtp.example.com, port: 587, starttls: true, username: status, password_file: {secrets}/smtp}
        from: status@example.com
        to: [subscribers@example.com]
        events: [incident, maintenance]
      maintenance_notice: 24h
      give_up_after: 24h
    reports:
      dir: {secrets}/reports
      formats: [html, json]
      delay: 6h
      min_coverage_percent: 99
      slack: [finance]
      email_customers: false
    """
)


@pytest.fixture
def secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "slack-status").write_text(WEBHOOK + "\n")
    (tmp_path / "smtp").write_text(PASSWORD + "\n")
    monkeypatch.setenv("SLACK_FINANCE_WEBHOOK", WEBHOOK.replace("4d2f", "f1n4"))
    return tmp_path


@pytest.fixture
def config_file(secrets: Path):
    def write(text: str = BASE) -> Path:
        path = secrets / "uptime-sla.yaml"
        path.write_text(text.replace("{secrets}", str(secrets)))
        return path

    return write


def test_the_spec_example_passes_check_config(config_file, capsys) -> None:
    assert main(["-c", str(config_file()), "check-config"]) == 0
    assert WEBHOOK not in capsys.readouterr().out


def test_secrets_are_read_from_files_and_never_shown_in_the_model(config_file) -> None:
    config = load_config(config_file())
    status, finance = config.notifications.slack
    assert status.url() == WEBHOOK
    assert finance.url().endswith("f1n4")
    assert config.notifications.email.smtp.password() == PASSWORD
    assert config.notifications.email.sender == "status@example.com"
    assert config.contracts[0].contacts == ("billing@acme.example",)
    assert WEBHOOK not in repr(config)
    assert "f1n4" not in repr(config)
    assert config.notifications.give_up_after == 86400.0
    assert config.reports.delay == 6 * 3600.0


def test_without_the_sections_nothing_is_notified_and_no_statement_is_written(
    config_file,
) -> None:
    text = BASE.split("notifications:")[0]
    config = load_config(config_file(text))
    assert config.notifications.slack == ()
    assert config.notifications.email is None
    assert config.reports.dir is None


BROKEN = [
    # (what to change, text it becomes, the path the message must name)
    (
        "events: [incident, maintenance]",
        "events: [incident, outage]",
        "notifications.slack[0].events[1]",
    ),
    ("slack: [finance]", "slack: [accounting]", "reports.slack[0]"),
    (
        "webhook_url_file: {secrets}/slack-status",
        "webhook_url_file: {secrets}/nope",
        "notifications.slack[0].webhook_url_file",
    ),
    (
        "password_file: {secrets}/smtp",
        "password_file: {secrets}/missing",
        "notifications.email.smtp.password_file",
    ),
    ("email_customers: false", "email_customers: true", "reports.email_customers"),
    ("formats: [html, json]", "formats: [html, docx]", "reports.formats[1]"),
    ("delay: 6h", "delay: later", "reports.delay"),
    ("give_up_after: 24h", "give_up_after: never", "notifications.give_up_after"),
    ("contacts: [billing@acme.example]", "contacts: [billing]", "contracts[0].contacts[0]"),
    ("- name: finance", "- name: status", "notifications.slack[1].name"),
    (
        "webhook_url: ${SLACK_FINANCE_WEBHOOK}",
        "webhook_url: ftp://x",
        "notifications.slack[1].webhook_url",
    ),
    ("min_coverage_percent: 99", "min_coverage_percent: 101", "reports.min_coverage_percent"),
    ("starttls: true", "starttls: false", "notifications.email.smtp.starttls"),
    ("email_customers: false", "email_customers: false\n  file_mode: 0644", "reports.file_mode"),
    ("email_customers: false", "email_customers: false\n  file_mode: 640", "reports.file_mode"),
    ("email_customers: false", "email_customers: false\n  file_mode: 0440", "reports.file_mode"),
    ("email_customers: false", "email_customers: false\n  dir_mode: '0755'", "reports.dir_mode"),
    ("email_customers: false", "email_customers: false\n  dir_mode: 0640", "reports.dir_mode"),
    (
        "password_file: {secrets}/smtp}",
        "password_file: {secrets}/smtp, timeout: 2h}",
        "notifications.email.smtp.timeout",
    ),
    (
        "events: [incident, maintenance]",
        "events: [incident, maintenance]\n      timeout: 0s",
        "notifications.slack[0].timeout",
    ),
]


@pytest.mark.parametrize(("old", "new", "path"), BROKEN, ids=[b[2] for b in BROKEN])
def test_a_broken_notification_config_exits_2_with_one_line_naming_the_path(
    config_file, capsys, old: str, new: str, path: str
) -> None:
    assert old in BASE
    text = BASE.replace(old, new, 1)
    if new == "email_customers: true":  # ... and no `email:` section
        head, rest = text.split("  email:\n")
        text = head + rest[rest.index("  maintenance_notice") :]
    config = config_file(text)
    assert main(["-c", str(config), "check-config"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert f"{config}:" in err
    assert f" {path}:" in err, err
    for secret in (WEBHOOK, PASSWORD, "f1n4"):
        assert secret not in err


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ('"::1"', True),
        ('"[::1]"', True),
        ("localhost", True),
        ("smtp.example.com", False),
        ("10.0.0.25", False),
        ("localhost.example.com", False),
    ],
)
def test_a_login_without_tls_is_allowed_only_to_a_loopback_host(
    config_file, capsys, host: str, allowed: bool
) -> None:
    text = BASE.replace("host: smtp.example.com", f"host: {host}").replace(
        "starttls: true", "starttls: false"
    )
    assert main(["-c", str(config_file(text)), "check-config"]) == (0 if allowed else 2)
    if not allowed:
        assert "notifications.email.smtp.starttls: must be true when username is set" in (
            capsys.readouterr().err
        )


def test_each_send_has_a_timeout_of_30_s_unless_set(config_file) -> None:
    config = load_config(config_file())
    assert [s.timeout for s in config.notifications.slack] == [30.0, 30.0]
    assert config.notifications.email is not None
    assert config.notifications.email.smtp.timeout == 30.0
    text = BASE.replace("events: []", "events: []\n      timeout: 5s")
    assert load_config(config_file(text)).notifications.slack[1].timeout == 5.0


SECOND_CONTRACT = """\
  - customer: {name}
    plan: pro
    service: public-api
    monthly_fee: "50.00"
    start: 2026-01-01
notifications:"""


def test_customer_names_are_unique_ignoring_case(config_file, capsys) -> None:
    """`acme` and `Acme` would share a statement file on a case-insensitive disk."""
    text = BASE.replace("notifications:", SECOND_CONTRACT.format(name="Acme"), 1)
    assert main(["-c", str(config_file(text)), "check-config"]) == 2
    err = capsys.readouterr().err
    assert "contracts[1].customer: differs from contracts[0].customer only in case" in err
    text = BASE.replace("notifications:", SECOND_CONTRACT.format(name="acme"), 1)
    config = load_config(config_file(text))  # two contracts of one customer: one spelling
    assert [c.customer for c in config.contracts] == ["acme", "acme"]


def test_statement_modes_are_0640_and_0750_unless_set(config_file) -> None:
    reports = load_config(config_file()).reports
    assert (reports.file_mode, reports.dir_mode) == (0o640, 0o750)
    text = BASE.replace("email_customers: false", "email_customers: false\n  file_mode: '0600'")
    assert load_config(config_file(text)).reports.file_mode == 0o600


def test_an_unreadable_secret_file_is_exit_2(config_file, secrets: Path, capsys) -> None:
    (secrets / "smtp").unlink()
    (secrets / "smtp").mkdir()  # unreadable even for root, unlike a file without permissions
    assert main(["-c", str(config_file()), "check-config"]) == 2
    assert "notifications.email.smtp.password_file: cannot read secret file" in (
        capsys.readouterr().err
    )


WHOLE_EXAMPLE = textwrap.dedent(
    """\
    location: us-west-2
    storage:
      url: sqlite:///uptime-sla.db
    metrics:
      listen: 127.0.0.1:9464
    defaults:
      interval: 30s
      timeout: 10s
      families: [ipv4, ipv6]
      expect_status: ["200-299"]
    targets:
      - name: api-health
        url: https://api.outfame.com/v1/health
        service: public-api
        headers: {Authorization: "Bearer ${OUTFAME_API_KEY}"}
        tls_min_version: "1.3"
        body_contains: '"status":"ok"'
        resolve: {ipv4: ["127.0.0.1"], ipv6: ["::1"]}
    sla:
      timezone: UTC
      slice: 60s
    plans:
      enterprise: {objective: 99.99, max_credit_percent: 100}
    contracts:
      - customer: acme
        display_name: Acme Corp.
        contacts: [billing@acme.example]
        plan: enterprise
        service: public-api
        monthly_fee: "12000.00"
        currency: USD
        start: 2026-01-01
        end: null
        credits: [{below: 99.99, percent: 10}, {below: 99.9, percent: 25}, {below: 99.0, percent: 50}]
    maintenance:
      - start: 2026-02-10T02:00:00Z
        end: 2026-02-10T03:00:00Z
        targets: [api-health]
        reason: database upgrade
    status_page:
      title: Outfame API status
      url: https://status.example.com
      output_dir: /var/lib/uptime-sla/status
      refresh: 60s
      history_days: 90
      timezone: UTC
      components:
        - name: Public API
          description: REST endpoints
          targets: [api-health]
          group: API
    notifications:
      slack:
        - name: status
          webhook_url_file: /run/secrets/slack-status
          events: [incident, maintenance]
        - name: finance
          webhook_url: ${SLACK_FINANCE_WEBHOOK}
          events: []
      email:
        smtp: {host: smtp.example.com, port: 587, starttls: true, username: status, password_file: /run/secrets/smtp}
        from: status@example.com
        to: [subscribers@example.com]
        events: [incident, maintenance]
      maintenance_notice: 24h
      give_up_after: 24h
    reports:
      dir: /var/lib/uptime-sla/reports
      formats: [html, json]
      delay: 6h
      min_coverage_percent: 99
      slack: [finance]
      email_customers: false
    """
)


def test_the_whole_example_of_every_section_passes_check_config(
    secrets: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """Sections 5, 8 and 9 of the config reference together, its variables set and its
    secret files present (here under a temporary folder instead of /run/secrets)."""
    monkeypatch.setenv("OUTFAME_API_KEY", "sk-test")
    path = secrets / "whole.yaml"
    path.write_text(WHOLE_EXAMPLE.replace("/run/secrets", str(secrets)))
    assert main(["-c", str(path), "check-config"]) == 0
    out, err = capsys.readouterr()
    assert "ok" in out
    assert WEBHOOK not in out + err
