"""The promise keys of the config: `promises:` under defaults and targets (merged key by
key), `webhook_receivers:`, and every mistake as one line naming its path."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config import load_config

BASE = textwrap.dedent(
    """\
    defaults:
      promises:
        every: 1h
        tls_only: "1.3"
        plaintext_rejected: true
        plaintext_port: 80
        retry_after_on_429: true
    targets:
      - name: api-health
        url: https://api.outfame.com/v1/health
        promises: {every: 5m, plaintext_port: 8080}
      - name: api-search
        url: https://api.outfame.com/v1/search
        promises: null
      - name: api-jobs
        url: https://api.outfame.com/v1/jobs
    webhook_receivers:
      - name: outfame-webhooks
        path: /hooks/outfame
        listen: 127.0.0.1:8091
        secret_file: SECRET_FILE
        id_field: id
        sent_at_field: created_at
        promise: {first_attempt_percent: 99.7, within: 5s, retries: [1m, 5m, 30m]}
        fail_first_percent: 1
    """
)


@pytest.fixture
def write(tmp_path: Path):
    secret = tmp_path / "outfame-hook"
    secret.write_text("k3y\n")

    def write(text: str) -> Path:
        path = tmp_path / "uptime-sla.yaml"
        path.write_text(text.replace("SECRET_FILE", str(secret)))
        return path

    return write


def test_a_targets_promises_override_the_defaults_key_by_key(write):
    health, search, jobs = load_config(write(BASE)).targets
    assert health.promises is not None
    assert (health.promises.every, health.promises.plaintext_port) == (300.0, 8080)
    assert (health.promises.tls_only, health.promises.retry_after_on_429) == ("1.3", True)
    assert search.promises is None  # `promises: null` turns the checks off for it
    assert jobs.promises is not None
    assert (jobs.promises.every, jobs.promises.plaintext_port) == (3600.0, 80)


def test_without_promises_nothing_is_checked_and_with_an_empty_block_everything_is(write):
    targets = "targets:\n  - {name: a, url: 'https://a.test/'}\n"
    assert load_config(write(targets)).targets[0].promises is None
    everything = load_config(write(f"defaults: {{promises: {{}}}}\n{targets}")).targets[0]
    assert everything.promises is not None
    assert everything.promises.model_dump() == {
        "every": 3600.0,
        "tls_only": "1.3",
        "plaintext_rejected": True,
        "plaintext_port": 80,
        "retry_after_on_429": True,
        "both_families": True,
    }


def test_tls_only_false_switches_that_check_off(write):
    config = load_config(write(BASE.replace('tls_only: "1.3"', "tls_only: false")))
    assert all(t.promises is None or t.promises.tls_only is None for t in config.targets)


def test_a_webhook_receiver_and_its_secret(write):
    (receiver,) = load_config(write(BASE)).webhook_receivers
    assert receiver.secret() == b"k3y"  # the trailing newline is not part of the key
    assert receiver.promise.retries == (60.0, 300.0, 1800.0)
    assert receiver.promise.first_attempt_percent == Decimal("99.7")
    assert (receiver.fail_first_percent, receiver.fail_retries) == (Decimal(1), 0)


BROKEN = [
    ("every: 1h", "every: 0.5s", "defaults.promises.every"),
    ('tls_only: "1.3"', 'tls_only: "1.1"', "defaults.promises.tls_only"),
    ("plaintext_port: 80", "plaintext_port: 0", "defaults.promises.plaintext_port"),
    ("retry_after_on_429: true", "retry_after: true", "defaults.promises.retry_after"),
    ("    listen: 127.0.0.1:8091\n", "", "webhook_receivers[0].listen"),
    ("listen: 127.0.0.1:8091", "listen: anywhere", "webhook_receivers[0].listen"),
    ("path: /hooks/outfame", "path: hooks", "webhook_receivers[0].path"),
    ("path: /hooks/outfame", "path: /hooks/../admin", "webhook_receivers[0].path"),
    (
        "secret_file: SECRET_FILE",
        "secret_file: /nonexistent/key",
        "webhook_receivers[0].secret_file",
    ),
    ("fail_first_percent: 1", "fail_first_percent: 101", "webhook_receivers[0].fail_first_percent"),
    ("fail_first_percent: 1", "fail_retries: 3", "webhook_receivers[0].fail_retries"),
    ("id_field: id", "id_field: 'a..b'", "webhook_receivers[0].id_field"),
    ("99.7", "0", "webhook_receivers[0].promise.first_attempt_percent"),
    ("within: 5s", "within: soon", "webhook_receivers[0].promise.within"),
    (
        "fail_first_percent: 1",
        "fail_first_percent: 1\n    colour: red",
        "webhook_receivers[0].colour",
    ),
]


@pytest.mark.parametrize(("old", "new", "path"), BROKEN, ids=[b[2] for b in BROKEN])
def test_a_broken_promise_key_exits_2_naming_its_path(write, capsys, old, new, path):
    assert old in BASE
    config = write(BASE.replace(old, new, 1))
    assert main(["-c", str(config), "check-config"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert f" {path}" in err, err


def test_a_receiver_without_listen_needs_the_subscription_service(write, capsys):
    config = write(BASE.replace("    listen: 127.0.0.1:8091\n", ""))
    assert main(["-c", str(config), "check-config"]) == 2
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith(
            "webhook_receivers[0].listen: is required (HOST:PORT) unless status_page.subscriptions"
            " is set, whose listener the receiver then shares"
        )
    )


def test_two_receivers_on_one_path_of_one_listener_are_refused(write, capsys):
    receivers = BASE.split("webhook_receivers:\n")[1]
    twice = BASE + receivers.replace("name: outfame-webhooks", "name: other")
    assert main(["-c", str(write(twice)), "check-config"]) == 2
    assert "webhook_receivers[1].path: is served by another receiver" in capsys.readouterr().err


def test_a_webhook_component_may_not_take_another_components_id(write, capsys):
    page = "status_page:\n  components: [{name: Webhooks, targets: [api-health]}]\n"
    text = BASE.replace(
        "fail_first_percent: 1", "fail_first_percent: 1\n    status_component: webhooks"
    )
    assert main(["-c", str(write(text + page)), "check-config"]) == 2
    assert "webhook_receivers[0].status_component: has the same id 'webhooks'" in (
        capsys.readouterr().err
    )
    assert main(["-c", str(write(text)), "check-config"]) == 0
