"""The promise metrics (docs/promises.md): checks of the provider's promises beyond uptime,
and what the webhook receivers see of its deliveries.

Labels come from the config (targets, receivers) and from fixed words (sla.promises):
bounded, never an event id, a header or a body.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Protocol

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from monitor.metrics.collectors import Histogram
from sla.promises import DELIVERY_RESULTS, KEPT
from sla.vocabulary import ATTEMPTS

PROMISE_OK = "uptime_sla_promise_ok"  # {promise, target, ip_family}: 1/0, the last check
PROMISE_CHECKS = "uptime_sla_promise_checks"  # _total{promise, target, ip_family, result}
WEBHOOK_DELIVERIES = "uptime_sla_webhook_deliveries"  # _total{receiver, attempt, result}
WEBHOOK_DELIVERY_SECONDS = "uptime_sla_webhook_delivery_seconds"  # {receiver}: first attempts
WEBHOOK_DUPLICATES = "uptime_sla_webhook_duplicates"  # _total{receiver}
WEBHOOK_RETRY_DELAY = "uptime_sla_webhook_retry_delay_seconds"  # {receiver, retry}

PROMISE_LABELS = ("promise", "target", "ip_family")

# Event creation to receipt; each receiver's `within` is added, so the alert reads its share.
DELIVERY_BUCKETS = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)
# Retry N since the previous attempt; each receiver's promised delays are added.
RETRY_BUCKETS = (10.0, 30.0, 60.0, 90.0, 120.0, 300.0, 450.0, 600.0, 1800.0, 2700.0, 3600.0)


def bucket_label(seconds: float) -> str:
    """The `le` label a bucket bound gets on /metrics (what the alert rules select)."""
    return repr(float(seconds))


class Counts(Protocol):
    """Where promise checks and deliveries are counted: PromiseMetrics itself, or a queue
    to it from the process that runs the checks (monitor.promises.runner)."""

    def check(self, promise: str, target: str, family: str, result: str) -> None: ...
    def delivery(self, receiver: str, attempt: str, result: str) -> None: ...
    def duplicate(self, receiver: str) -> None: ...
    def latency(self, receiver: str, seconds: float) -> None: ...
    def retry_delay(self, receiver: str, retry: int, seconds: float) -> None: ...


class PromiseMetrics(Collector):
    """Promise checks and webhook deliveries; register it on an injected registry.

    `receivers` maps each receiver to its `within` and its promised retry delays: their
    series exist from the start (at zero), and their buckets hold those bounds exactly.
    """

    def __init__(self, receivers: dict[str, tuple[float, tuple[float, ...]]] | None = None):
        self._lock = threading.Lock()
        self._ok: dict[tuple[str, str, str], bool] = {}
        self._checks: dict[tuple[str, str, str, str], int] = defaultdict(int)
        self._deliveries: dict[tuple[str, str, str], int] = {}
        self._duplicates: dict[str, int] = {}
        self._latency: dict[str, Histogram] = {}
        self._delays: dict[tuple[str, str], Histogram] = {}
        self._retry_bounds: dict[str, tuple[float, ...]] = {}
        for name, (within, retries) in (receivers or {}).items():
            for attempt in ATTEMPTS:
                for result in DELIVERY_RESULTS:
                    self._deliveries[(name, attempt, result)] = 0
            self._duplicates[name] = 0
            self._latency[name] = Histogram(tuple(sorted({*DELIVERY_BUCKETS, within})))
            self._retry_bounds[name] = tuple(sorted({*RETRY_BUCKETS, *retries}))
            for number in range(1, len(retries) + 1):
                self._delays[(name, str(number))] = Histogram(self._retry_bounds[name])

    def check(self, promise: str, target: str, family: str, result: str) -> None:
        """One promise check of one (target, family): `result` is kept or broken."""
        with self._lock:
            self._ok[(promise, target, family)] = result == KEPT
            self._checks[(promise, target, family, result)] += 1

    def delivery(self, receiver: str, attempt: str, result: str) -> None:
        with self._lock:
            key = (receiver, attempt, result)
            self._deliveries[key] = self._deliveries.get(key, 0) + 1

    def duplicate(self, receiver: str) -> None:
        with self._lock:
            self._duplicates[receiver] = self._duplicates.get(receiver, 0) + 1

    def latency(self, receiver: str, seconds: float) -> None:
        with self._lock:
            histogram = self._latency.setdefault(receiver, Histogram(DELIVERY_BUCKETS))
            histogram.observe(max(seconds, 0.0))

    def retry_delay(self, receiver: str, retry: int, seconds: float) -> None:
        with self._lock:
            bounds = self._retry_bounds.get(receiver, RETRY_BUCKETS)
            histogram = self._delays.setdefault((receiver, str(retry)), Histogram(bounds))
            histogram.observe(max(seconds, 0.0))

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            ok, checks = dict(self._ok), dict(self._checks)
            deliveries, duplicates = dict(self._deliveries), dict(self._duplicates)
            latency = {k: h.copy() for k, h in self._latency.items()}
            delays = {k: h.copy() for k, h in self._delays.items()}
        gauge = GaugeMetricFamily(
            PROMISE_OK, "1 if the last check of the promise was kept.", labels=PROMISE_LABELS
        )
        for key, kept in ok.items():
            gauge.add_metric(list(key), 1.0 if kept else 0.0)
        yield gauge
        yield _counter(
            PROMISE_CHECKS,
            "Promise checks, kept or broken.",
            (*PROMISE_LABELS, "result"),
            checks.items(),
        )
        yield _counter(
            WEBHOOK_DELIVERIES,
            "Webhook deliveries received, by attempt and result (duplicates not included).",
            ("receiver", "attempt", "result"),
            deliveries.items(),
        )
        yield _counter(
            WEBHOOK_DUPLICATES,
            "Re-deliveries of an event already answered 2xx.",
            ("receiver",),
            [((name,), count) for name, count in duplicates.items()],
        )
        yield _histogram(
            WEBHOOK_DELIVERY_SECONDS,
            "First attempts: from the event's creation to its receipt.",
            ("receiver",),
            [((name,), h) for name, h in latency.items()],
        )
        yield _histogram(
            WEBHOOK_RETRY_DELAY,
            "Retry N of an event: since its previous attempt.",
            ("receiver", "retry"),
            delays.items(),
        )


def _counter(
    name: str, doc: str, labels: tuple[str, ...], values: Iterable[tuple[tuple[str, ...], int]]
) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc, labels=labels)
    for key, value in values:
        family.add_metric(list(key), value)
    return family


def _histogram(
    name: str,
    doc: str,
    labels: tuple[str, ...],
    histograms: Iterable[tuple[tuple[str, ...], Histogram]],
) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, doc, labels=labels)
    for key, histogram in histograms:
        family.add_metric(list(key), histogram.buckets(), histogram.sum)
    return family
