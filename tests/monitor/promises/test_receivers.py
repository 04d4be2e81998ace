"""Webhook receivers served by uvicorn on 127.0.0.1 and [::1], a sender posting signed
events: first attempts, late ones, duplicates, retries after our own 503, forged
signatures; stored in SQLite and PostgreSQL, counted in the metrics."""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from support.processes import free_port
from support.webhooks import WebhookSender

from monitor.config import Config
from monitor.errors import MonitorError
from monitor.promises.receivers import signature
from monitor.promises.runner import PromiseEngine, PromiseProcess, promise_metrics
from monitor.store import Store
from sla.slices import month_bounds

SECRET = b"whsec-7d1f0a"


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "hook.key"
    path.write_bytes(SECRET + b"\n")  # as an editor saves it: the newline is not the key
    return path


def receiver(name: str, listen: str, secret_file: Path | None, **fields: Any) -> dict[str, Any]:
    return {
        "name": name,
        "path": f"/hooks/{name}",
        "listen": listen,
        **({"secret_file": str(secret_file)} if secret_file else {}),
        "sent_at_field": "created_at",
        **fields,
    }


class Running:
    """A PromiseEngine on a thread, its store and a way to read its metrics."""

    def __init__(self, config: Config, store: Store) -> None:
        self.config, self.store = config, store
        self.metrics = promise_metrics(config)
        self.registry = CollectorRegistry()
        self.registry.register(self.metrics)
        self.engine = PromiseEngine(config, store, self.metrics, lambda: datetime.now(UTC))

    def sample(self, name: str, **labels: str) -> float:
        text = generate_latest(self.registry).decode()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and labels.items() <= sample.labels.items():
                    return sample.value
        raise KeyError((name, labels))


@pytest.fixture
def running(store: Store, secret_file: Path) -> Iterator[Any]:
    started: list[Running] = []

    def start(*receivers: dict[str, Any]) -> Running:
        config = Config.model_validate({"location": "lab", "webhook_receivers": list(receivers)})
        service = Running(config, store)
        service.engine.start_thread()
        started.append(service)
        return service

    yield start
    for service in started:
        service.engine.stop_thread()


def url(listen: str, name: str) -> str:
    return f"http://{listen}/hooks/{name}"


def deliveries(store: Store) -> list[tuple[str, int | None]]:
    start, end = month_bounds(2000, 1, "UTC")[0], datetime.now(UTC) + timedelta(days=1)
    return [(d.kind, d.retry) for d in store.promises.webhook_deliveries(start, end)]


def test_signed_events_first_attempts_late_ones_and_duplicates(running, store, secret_file):
    listen = f"[::1]:{free_port()}"
    hooks = running(receiver("outfame", listen, secret_file))
    sender = WebhookSender(url(listen, "outfame"), secret=SECRET)

    assert sender.send("evt_1") == 200
    assert sender.send("evt_2", late=12) == 200  # created 12 s ago: a late first attempt
    assert sender.send("evt_1") == 200  # at-least-once: a duplicate, answered 2xx

    assert (
        hooks.sample("uptime_sla_webhook_deliveries_total", attempt="first", result="accepted") == 2
    )
    assert hooks.sample("uptime_sla_webhook_duplicates_total", receiver="outfame") == 1
    assert hooks.sample("uptime_sla_webhook_delivery_seconds_count", receiver="outfame") == 2
    assert hooks.sample("uptime_sla_webhook_delivery_seconds_bucket", le="5.0") == 1
    assert hooks.sample("uptime_sla_webhook_delivery_seconds_bucket", le="30.0") == 2
    assert deliveries(store) == [("first", None), ("first", None), ("duplicate", None)]


def test_a_bad_signature_is_401_and_counts_nowhere_but_bad_signature(running, store, secret_file):
    listen = f"127.0.0.1:{free_port()}"
    hooks = running(receiver("outfame", listen, secret_file))
    sender = WebhookSender(url(listen, "outfame"), secret=SECRET)

    assert sender.send("evt_1", signature="sha256=" + "0" * 64) == 401
    assert sender.send("evt_1", signature="") == 401
    wrong_key = signature(b"another key", b'{"id": "evt_1"}')
    assert sender.send("evt_1", signature=wrong_key, body=b'{"id": "evt_1"}') == 401

    assert hooks.sample("uptime_sla_webhook_deliveries_total", result="bad_signature") == 3
    assert hooks.sample("uptime_sla_webhook_deliveries_total", result="accepted") == 0
    assert hooks.sample("uptime_sla_webhook_deliveries_total", result="rejected") == 0
    assert hooks.sample("uptime_sla_webhook_delivery_seconds_count", receiver="outfame") == 0
    assert deliveries(store) == []
    assert sender.send("evt_1") == 200  # the real one is still its first attempt


def test_retries_after_our_own_503_are_timed_from_the_previous_attempt(running, store):
    listen = f"127.0.0.1:{free_port()}"
    hooks = running(receiver("outfame", listen, None, fail_first_percent=100, fail_retries=2))
    sender = WebhookSender(url(listen, "outfame"))

    answers = [sender.send("evt_1") for _ in range(5)]

    # First attempt and retries 1 and 2 fail on purpose; retry 3 (the last promised) is
    # answered 2xx, so the next one is a duplicate.
    assert answers == [503, 503, 503, 200, 200]
    assert deliveries(store) == [
        ("first", None),
        ("retry", 1),
        ("retry", 2),
        ("retry", 3),
        ("duplicate", None),
    ]
    assert (
        hooks.sample("uptime_sla_webhook_deliveries_total", attempt="first", result="rejected") == 1
    )
    assert (
        hooks.sample("uptime_sla_webhook_deliveries_total", attempt="retry", result="rejected") == 2
    )
    assert (
        hooks.sample("uptime_sla_webhook_deliveries_total", attempt="retry", result="accepted") == 1
    )
    for number in ("1", "2", "3"):
        assert hooks.sample("uptime_sla_webhook_retry_delay_seconds_count", retry=number) == 1
    delays = [
        d.delay_seconds
        for d in store.promises.webhook_deliveries(datetime(2000, 1, 1, tzinfo=UTC), datetime.now(UTC))
        if d.kind == "retry"
    ]
    assert all(delay is not None and 0 <= delay < 10 for delay in delays)


def test_a_share_of_first_attempts_fails_to_observe_the_retries(running, store):
    listen = f"[::1]:{free_port()}"
    running(receiver("outfame", listen, None, fail_first_percent=50))
    sender = WebhookSender(url(listen, "outfame"))

    answers = [sender.send(f"evt_{n}") for n in range(6)]
    retried = [sender.send(f"evt_{n}") for n in range(6) if answers[n] == 503]

    assert answers == [200, 503, 200, 503, 200, 503]
    assert retried == [200, 200, 200]  # retry 1 of each: answered 2xx


def test_below_a_100_percent_share_no_more_than_five_503s_in_a_row(running, store):
    """The provider disables an endpoint after 10 consecutive failed deliveries."""
    listen = f"127.0.0.1:{free_port()}"
    running(receiver("outfame", listen, None, fail_first_percent=90))
    sender = WebhookSender(url(listen, "outfame"))
    answers = [sender.send(f"evt_{n}") for n in range(12)]
    assert answers == [200, 503, 503, 503, 503, 503, 200, 503, 503, 503, 200, 503]


def test_what_tells_retries_from_duplicates_survives_a_restart(running, store):
    listen = f"127.0.0.1:{free_port()}"
    first = running(receiver("outfame", listen, None, fail_first_percent=100))
    sender = WebhookSender(url(listen, "outfame"))
    assert sender.send("evt_1") == 503
    first.engine.stop_thread()

    running(receiver("outfame", listen, None, fail_first_percent=100))
    assert sender.send("evt_1") == 200  # retry 1, although the monitor restarted
    assert sender.send("evt_1") == 200  # then a duplicate
    assert deliveries(store) == [("first", None), ("retry", 1), ("duplicate", None)]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json", 400),
        (b'{"type": "no id"}', 400),
        (b'{"id": true}', 400),
        (b'{"id": ""}', 400),
        (b"[1, 2]", 400),
        (b'{"id": 42, "created_at": "yesterday"}', 200),  # no creation time: no latency
    ],
)
def test_a_body_without_an_event_id_is_rejected(running, store, body, status):
    listen = f"127.0.0.1:{free_port()}"
    hooks = running(receiver("outfame", listen, None))
    assert WebhookSender(url(listen, "outfame")).send("x", body=body) == status
    result = "accepted" if status == 200 else "rejected"
    assert hooks.sample("uptime_sla_webhook_deliveries_total", attempt="first", result=result) == 1
    assert hooks.sample("uptime_sla_webhook_delivery_seconds_count", receiver="outfame") == 0


def test_an_event_id_deep_in_the_body(running, store):
    """Statuspage-shaped deliveries carry their id in meta.event_id."""
    listen = f"127.0.0.1:{free_port()}"
    running(receiver("status", listen, None, id_field="meta.event_id", sent_at_field="meta.at"))
    sender = WebhookSender(url(listen, "status"))
    body = b'{"meta": {"event_id": "e-1", "at": "2026-03-10T12:00:00Z"}}'
    assert [sender.send("e-1", body=body) for _ in range(2)] == [200, 200]
    assert deliveries(store) == [("first", None), ("duplicate", None)]


def test_receivers_share_a_listener_and_only_post_is_served(running, store):
    listen = f"127.0.0.1:{free_port()}"
    running(receiver("a", listen, None), receiver("b", listen, None))
    assert WebhookSender(url(listen, "a")).send("1") == 200
    assert WebhookSender(url(listen, "b")).send("1") == 200  # ids are per receiver
    assert WebhookSender(f"http://{listen}/hooks/c").send("1") == 404
    assert deliveries(store) == [("first", None), ("first", None)]


def test_a_listener_already_taken_is_an_error_naming_its_key(store):
    taken = free_port()
    with socket.create_server(("127.0.0.1", taken)):
        config = Config.model_validate(
            {"webhook_receivers": [receiver("a", f"127.0.0.1:{taken}", None)]}
        )
        engine = PromiseEngine(config, store, promise_metrics(config), lambda: datetime.now(UTC))
        with pytest.raises(MonitorError, match=r"^webhook_receivers\[0\]\.listen: cannot listen"):
            engine.bind()


# --- in a process of its own, as `run` starts it -------------------------------------------


def process_config(database_url: str, listen: str) -> Config:
    return Config.model_validate(
        {
            "location": "lab",
            "storage": {"url": database_url},
            "webhook_receivers": [receiver("outfame", listen, None, fail_first_percent=100)],
        }
    )


def test_the_process_serves_receivers_and_sends_its_counts_back(tmp_path: Path):
    database_url = f"sqlite:///{tmp_path / 'uptime-sla.db'}"
    Store(database_url).close()  # `run` creates the schema before the process starts
    listen = f"[::1]:{free_port()}"
    config = process_config(database_url, listen)
    metrics = promise_metrics(config)
    process = PromiseProcess(config, metrics)
    process.start()
    try:
        sender = WebhookSender(url(listen, "outfame"))
        assert [sender.send("evt_1"), sender.send("evt_1")] == [503, 200]
    finally:
        process.stop()
    registry = CollectorRegistry()
    registry.register(metrics)
    text = generate_latest(registry).decode()
    assert (
        'uptime_sla_webhook_deliveries_total{attempt="first",receiver="outfame",result="rejected"} 1.0'
        in text
    )
    assert (
        'uptime_sla_webhook_deliveries_total{attempt="retry",receiver="outfame",result="accepted"} 1.0'
        in text
    )


def test_the_process_reports_a_taken_listener_before_probing_starts(tmp_path: Path):
    database_url = f"sqlite:///{tmp_path / 'uptime-sla.db'}"
    Store(database_url).close()
    taken = free_port()
    with socket.create_server(("127.0.0.1", taken)):
        config = process_config(database_url, f"127.0.0.1:{taken}")
        process = PromiseProcess(config, promise_metrics(config))
        with pytest.raises(MonitorError, match=r"^webhook_receivers\[0\]\.listen: cannot listen"):
            process.start()


def test_the_process_stops_when_run_says_so_not_on_the_groups_sigterm(tmp_path: Path):
    """A service manager signals the whole process group; the process waits for `run` to
    stop it after the probes, so its last check runs are stored."""
    database_url = f"sqlite:///{tmp_path / 'uptime-sla.db'}"
    Store(database_url).close()
    config = process_config(database_url, f"127.0.0.1:{free_port()}")
    process = PromiseProcess(config, promise_metrics(config))
    process.start()
    child = process._process
    os.kill(child.pid, signal.SIGTERM)
    child.join(timeout=1.0)
    assert child.is_alive()
    process.stop()
    assert child.exitcode == 0
