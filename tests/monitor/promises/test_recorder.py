"""Check outcomes become runs in the database (one per change of result, and per month of
sla.timezone) and samples in the metrics at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from prometheus_client import CollectorRegistry, generate_latest

from monitor.metrics.promises import PromiseMetrics
from monitor.promises.checks import Outcome
from monitor.promises.recorder import CheckRecorder
from monitor.store import Store

START = datetime(2026, 3, 31, 20, tzinfo=UTC)  # 22:00 in Berlin: April starts two hours on


def outcome(hours: float, kept: bool, family: str = "ipv4") -> Outcome:
    detail = "answered 403" if kept else "answered 301"
    return Outcome(
        "plaintext_rejected", "api", family, kept, START + timedelta(hours=hours), detail
    )


def stored(store: Store) -> list[tuple[bool, datetime, datetime, int, str]]:
    runs = store.promises.promise_runs(START - timedelta(days=1), START + timedelta(days=1))
    return [(r.kept, r.first, r.last, r.checks, r.detail) for r in runs]


def test_runs_change_with_the_result_and_the_month(store: Store):
    recorder = CheckRecorder(store, PromiseMetrics(), "lab", ZoneInfo("Europe/Berlin"))
    for hours, kept in [(0, True), (0.5, True), (1, False), (1.5, False), (2.5, False), (3, True)]:
        recorder.record(outcome(hours, kept))
        recorder.flush()  # flushed after each: runs are updated in place, never duplicated

    at = [START + timedelta(hours=h) for h in (0, 0.5, 1, 1.5, 2.5, 3)]
    assert stored(store) == [
        (True, at[0], at[1], 2, "answered 403"),
        (False, at[2], at[3], 2, "answered 301"),
        (False, at[4], at[4], 1, "answered 301"),  # 00:30 in Berlin: a new month
        (True, at[5], at[5], 1, "answered 403"),
    ]


def test_runs_replaced_before_a_flush_are_stored_whole(store: Store):
    recorder = CheckRecorder(store, PromiseMetrics(), "lab", ZoneInfo("UTC"))
    for hours, kept in [(0, True), (0.1, False), (0.2, False), (0.3, True)]:
        recorder.record(outcome(hours, kept))
    assert recorder.flush() == 3
    assert recorder.flush() == 0  # nothing changed since
    assert [(kept, checks) for kept, _, _, checks, _ in stored(store)] == [
        (True, 1),
        (False, 2),
        (True, 1),
    ]


def test_the_metrics_show_the_last_check_and_count_every_one(store: Store):
    metrics = PromiseMetrics()
    recorder = CheckRecorder(store, metrics, "lab", ZoneInfo("UTC"))
    for hours, kept, family in [(0, True, "ipv4"), (1, False, "ipv4"), (1, True, "ipv6")]:
        recorder.record(outcome(hours, kept, family))
    registry = CollectorRegistry()
    registry.register(metrics)
    text = generate_latest(registry).decode()
    labels = 'ip_family="{}",promise="plaintext_rejected",target="api"'
    assert f"uptime_sla_promise_ok{{{labels.format('ipv4')}}} 0.0" in text
    assert f"uptime_sla_promise_ok{{{labels.format('ipv6')}}} 1.0" in text
    for family, result, count in [("ipv4", "kept", 1), ("ipv4", "broken", 1), ("ipv6", "kept", 1)]:
        series = labels.format(family).replace('",target', f'",result="{result}",target')
        assert f"uptime_sla_promise_checks_total{{{series}}} {count}.0" in text
