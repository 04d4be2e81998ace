"""The status page's optional webhook component: its status from the receiver's first
attempts of the last 24 hours, shown on the page and in the Statuspage JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from monitor.config import Config
from monitor.status.site import SiteRenderer
from monitor.status.state import StatusBuilder
from monitor.store import Store
from monitor.store.promises import Classified
from sla.promises import FIRST

NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)


def config(database_url: str, component: str | None = "Webhooks") -> Config:
    return Config.model_validate(
        {
            "storage": {"url": database_url},
            "targets": [{"name": "api", "url": "https://api.test/"}],
            "status_page": {"title": "Outfame API status", "history_days": 3},
            "webhook_receivers": [
                {
                    "name": "outfame",
                    "path": "/hooks/outfame",
                    "listen": "127.0.0.1:8091",
                    "status_component": component,
                }
            ],
        }
    )


def deliver(store: Store, latencies: list[float], hours_ago: float = 1) -> None:
    for number, latency in enumerate(latencies):
        found = Classified(FIRST, 200, latency_seconds=latency)
        store.promises.record_delivery(
            "outfame", f"e{hours_ago}-{number}", NOW - timedelta(hours=hours_ago),
            lambda _s, f=found: f,
        )  # fmt: skip


def webhooks(database_url: str, store: Store):
    snapshot = StatusBuilder(config(database_url), store).snapshot(NOW)
    return snapshot, {c.id: c for c in snapshot.components}["webhooks"]


def test_a_webhook_component_is_operational_while_first_attempts_keep_the_promise(
    database_url, store
):
    deliver(store, [0.3] * 997 + [8.0] * 3)
    deliver(store, [9.0] * 50, hours_ago=30)  # a bad hour yesterday: not recent any more
    snapshot, component = webhooks(database_url, store)
    assert (component.status, component.monitored, component.position) == ("operational", True, 2)
    assert snapshot.indicator == "none"


def test_a_webhook_component_is_degraded_when_too_many_first_attempts_are_late(database_url, store):
    deliver(store, [0.3] * 996 + [8.0] * 4)
    snapshot, component = webhooks(database_url, store)
    assert component.status == "degraded_performance"
    assert snapshot.indicator == "minor"
    files = SiteRenderer().files(snapshot)
    components = json.loads(files["api/v2/components.json"])["components"]
    assert {c["name"]: c["status"] for c in components}["Webhooks"] == "degraded_performance"
    assert b"Webhooks" in files["index.html"]


def test_without_recent_deliveries_the_component_is_not_monitored(database_url, store):
    _, component = webhooks(database_url, store)
    assert (component.status, component.monitored) == ("operational", False)


@pytest.mark.parametrize("component", [None])
def test_receivers_without_a_component_add_none(database_url, store, component):
    snapshot = StatusBuilder(config(database_url, component), store).snapshot(NOW)
    assert [c.id for c in snapshot.components] == ["api"]
