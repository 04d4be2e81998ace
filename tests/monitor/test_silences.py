"""Maintenance windows become Alertmanager silences: created, updated and expired by
`sync`, idempotently, against a real Alertmanager on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.processes import free_port
from support.prom import ALERTMANAGER, Alertmanager, alertmanager_config

from monitor.cli import main
from monitor.config import Config
from monitor.errors import AlertmanagerError
from monitor.integrations.rules import ALERT_NAMES
from monitor.integrations.silences import (
    CREATED_BY,
    sync_silences,
    wanted_silences,
    window_id,
)

NOW = datetime.now(UTC).replace(microsecond=0)
HOUR = timedelta(hours=1)
OURS = ("alertname", "|".join(ALERT_NAMES), True)


def config_with(*windows: dict[str, Any]) -> Config:
    return Config.model_validate(
        {
            "targets": [
                {"name": "api-health", "url": "https://api.test/health", "service": "public-api"},
                {"name": "api.search", "url": "https://api.test/search", "service": "search"},
            ],
            "maintenance": list(windows),
        }
    )


def window(start: timedelta, end: timedelta, **scope: Any) -> dict[str, Any]:
    return {"start": NOW + start, "end": NOW + end, "reason": "database upgrade", **scope}


# --- what the config asks for -----------------------------------------------------------------


def test_windows_under_way_and_to_come_are_wanted_but_not_those_already_over():
    config = config_with(
        window(-2 * HOUR, -HOUR, targets=["api-health"]),
        window(-HOUR, HOUR, targets=["api-health"]),
        window(HOUR, 2 * HOUR, targets=["api-health"]),
    )
    wanted = wanted_silences(config, NOW)
    assert [(s.starts_at, s.ends_at) for s in wanted] == [
        (NOW - HOUR, NOW + HOUR),
        (NOW + HOUR, NOW + 2 * HOUR),
    ]


def test_a_silence_matches_only_uptime_sla_alerts_of_the_window_scope():
    config = config_with(
        window(HOUR, 2 * HOUR, targets=["api-health", "api.search"]),
        window(HOUR, 2 * HOUR, services=["search"]),
        window(HOUR, 2 * HOUR),
    )
    targets, services, everything = wanted_silences(config, NOW)
    assert targets.matchers == (OURS, ("target", "api-health|api\\.search", True))
    assert services.matchers == (OURS, ("service", "search", False))
    assert everything.matchers == (OURS,)


def test_a_window_naming_targets_and_services_needs_two_silences():
    config = config_with(window(HOUR, 2 * HOUR, targets=["api-health"], services=["search"]))
    by_target, by_service = wanted_silences(config, NOW)
    assert by_target.matchers[1][0] == "target"
    assert by_service.matchers[1][0] == "service"
    assert by_target.window_id != by_service.window_id


def test_a_window_keeps_its_id_when_its_end_or_reason_change_but_not_its_start_or_scope():
    original = config_with(window(HOUR, 2 * HOUR, targets=["api-health"])).maintenance[0]
    longer = original.model_copy(update={"end": NOW + 3 * HOUR, "reason": "it takes longer"})
    later = original.model_copy(update={"start": NOW + 90 * timedelta(minutes=1)})
    wider = original.model_copy(update={"targets": ("api-health", "api.search")})
    assert window_id(longer) == window_id(original)
    assert window_id(later) != window_id(original)
    assert window_id(wider) != window_id(original)


def test_the_comment_carries_the_reason_and_the_window_id():
    (silence,) = wanted_silences(config_with(window(HOUR, 2 * HOUR)), NOW)
    assert silence.comment == f"database upgrade [uptime-sla window {silence.window_id}]"


# --- against a real Alertmanager ---------------------------------------------------------------

needs_alertmanager = pytest.mark.skipif(
    ALERTMANAGER is None, reason="Alertmanager (prometheus-alertmanager) is not installed"
)


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Alertmanager]:
    if ALERTMANAGER is None:
        pytest.skip("Alertmanager (prometheus-alertmanager) is not installed")
    config = alertmanager_config("http://127.0.0.1:9/never-used")  # no alert is ever sent
    with Alertmanager(config, tmp_path_factory.mktemp("am")) as server:
        yield server


@pytest.fixture
def client(alertmanager: Alertmanager) -> Iterator[httpx.Client]:
    """A client of the shared Alertmanager, which starts every test without silences."""
    with httpx.Client(base_url=alertmanager.url, timeout=10) as http:
        for silence in http.get("/api/v2/silences").json():
            if silence["status"]["state"] != "expired":
                http.delete(f"/api/v2/silence/{silence['id']}")
        yield http


def active(client: httpx.Client) -> list[dict[str, Any]]:
    return [s for s in client.get("/api/v2/silences").json() if s["status"]["state"] != "expired"]


@needs_alertmanager
def test_sync_creates_a_silence_per_window_and_a_second_run_changes_nothing(client):
    config = config_with(
        window(-HOUR, HOUR, targets=["api-health"]), window(HOUR, 2 * HOUR, services=["search"])
    )
    first = sync_silences(config, client, NOW)
    silences = active(client)
    second = sync_silences(config, client, NOW)

    assert (first.created, first.unchanged) == (2, 0)
    assert (second.created, second.updated, second.expired, second.unchanged) == (0, 0, 0, 2)
    assert active(client) == silences
    assert {s["status"]["state"] for s in silences} == {"active", "pending"}
    assert all(s["createdBy"] == CREATED_BY for s in silences)
    assert {s["endsAt"] for s in silences} == {
        (NOW + HOUR).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        (NOW + 2 * HOUR).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
    }


@needs_alertmanager
def test_a_longer_window_updates_its_silence_in_place(client):
    running = window(-HOUR, HOUR, targets=["api-health"])
    sync_silences(config_with(running), client, NOW)
    (before,) = active(client)

    result = sync_silences(config_with(running | {"end": NOW + 3 * HOUR}), client, NOW)

    (after,) = active(client)
    assert (result.updated, result.created, result.expired) == (1, 0, 0)
    assert after["id"] == before["id"]
    assert after["endsAt"] == (NOW + 3 * HOUR).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@needs_alertmanager
def test_a_window_gone_from_the_config_is_expired_and_other_silences_are_left_alone(client):
    sync_silences(config_with(window(HOUR, 2 * HOUR, targets=["api-health"])), client, NOW)
    someone_elses = {
        "matchers": [{"name": "alertname", "value": "Watchdog", "isRegex": False}],
        "startsAt": NOW.isoformat(),
        "endsAt": (NOW + HOUR).isoformat(),
        "createdBy": "alice",
        "comment": "not ours",
    }
    client.post("/api/v2/silences", json=someone_elses).raise_for_status()

    result = sync_silences(config_with(), client, NOW)

    assert result.expired == 1
    assert [s["createdBy"] for s in active(client)] == ["alice"]


# --- errors are one line -------------------------------------------------------------------------


def test_an_unreachable_alertmanager_is_a_one_line_error_and_exit_2(tmp_path: Path, capsys):
    config = tmp_path / "uptime-sla.yaml"
    config.write_text("targets: [{name: api, url: 'https://api.test/'}]\nmaintenance: []\n")
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there

    code = main(["-c", str(config), "silences", "sync", "--alertmanager", url])

    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"uptime-sla: error: alertmanager {url}")
    assert len(err.strip().splitlines()) == 1


def test_a_refused_silence_says_what_alertmanager_answered():
    def refuse(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json=[])
        return httpx.Response(400, text="silence invalid:\n end time must not be in the past")

    client = httpx.Client(base_url="http://am.test", transport=httpx.MockTransport(refuse))
    with pytest.raises(AlertmanagerError, match="answered 400: silence invalid: end time"):
        sync_silences(config_with(window(HOUR, 2 * HOUR)), client, NOW)


def test_a_silence_id_with_any_characters_is_expired_as_one_quoted_path_segment() -> None:
    """Found by the fuzz test: an id holding a control character made httpx refuse the URL
    with an exception that is not an AlertmanagerError."""
    config = Config.model_validate({"targets": [{"name": "api", "url": "https://api.test/"}]})
    stale = {
        "id": "a\x1f/../b c",
        "status": {"state": "active"},
        "matchers": [{"name": "alertname", "value": "ProbeDown", "isRegex": False}],
        "startsAt": "2026-03-15T11:00:00.000Z",
        "endsAt": "2026-03-15T13:00:00.000Z",
        "createdBy": "uptime-sla",
        "comment": "maintenance [uptime-sla window 0123456789abcdef]",
    }
    deleted: list[str] = []

    def alertmanager(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json=[stale])
        deleted.append(request.url.raw_path.decode())
        return httpx.Response(200)

    transport = httpx.MockTransport(alertmanager)
    with httpx.Client(base_url="http://am.test", transport=transport) as client:
        sync_silences(config, client, datetime(2026, 3, 15, 12, tzinfo=UTC))
    assert deleted == ["/api/v2/silence/a%1F%2F..%2Fb%20c"]
