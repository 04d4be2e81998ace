"""Every metric name and label of uptime-sla, and the collector that serves them.

Probe metrics follow blackbox_exporter's names so existing dashboards and alerts work,
with the labels `target`, `ip_family` and `location` (all from the config: bounded, and
never a header or URL). The collector keeps the last result of each series and renders
at scrape time, so a probe costs a dict update rather than a dozen label look-ups.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from monitor import __version__
from monitor.probing.results import PHASES, ProbeResult, Reason

SERIES_LABELS = ("target", "ip_family", "location")
FAMILY_LABELS = ("ip_family", "location")

PROBE_SUCCESS = "probe_success"
PROBE_DURATION = "probe_duration_seconds"
PROBE_HTTP_STATUS = "probe_http_status_code"
PROBE_HTTP_VERSION = "probe_http_version"
PROBE_HTTP_CONTENT_LENGTH = "probe_http_content_length"
PROBE_HTTP_PHASE = "probe_http_duration_seconds"
PROBE_CERT_EXPIRY = "probe_ssl_earliest_cert_expiry"
PROBE_TLS_VERSION = "probe_tls_version_info"
PROBE_IP_PROTOCOL = "probe_ip_protocol"
PROBE_TOTAL = "probe"  # exposed as probe_total
PROBE_FAILURES = "probe_failures"  # exposed as probe_failures_total{reason}
PROBE_LATENCY = "probe_latency_seconds"
# When the last probe of a series started: a series held by Retry-After, or whose probes
# stopped, keeps its other metrics but grows old here.
PROBE_LAST_STARTED = "uptime_sla_last_probe_timestamp_seconds"
# 1 while this monitor can send probes over the family, 0 when none of them could leave it.
FAMILY_REACHABLE = "uptime_sla_ip_family_reachable"

WRITER_BUFFERED = "uptime_sla_writer_buffered_results"
WRITER_DROPPED = "uptime_sla_writer_dropped_results"  # _total
WRITER_WRITTEN = "uptime_sla_writer_written_results"  # _total
WRITER_ERRORS = "uptime_sla_writer_errors"  # _total
SCHEDULE_LAG = "uptime_sla_schedule_lag_seconds"

# Ratios are 0-1 (0.9995 for 99.95 %), as Prometheus' naming guide asks; Grafana shows percent.
SLA_AVAILABILITY = "uptime_sla_availability_ratio"
SLA_OBJECTIVE = "uptime_sla_objective_ratio"
SLA_BUDGET_REMAINING = "uptime_sla_error_budget_remaining_ratio"
SLA_CREDIT = "uptime_sla_projected_credit"
SLA_REFRESHED = "uptime_sla_report_refreshed_timestamp_seconds"

BUILD_INFO = "uptime_sla_build_info"  # {version} 1

NOTIFY_LABELS = ("channel", "event")
NOTIFY_SENT = "uptime_sla_notifications_sent"  # _total
NOTIFY_FAILED = "uptime_sla_notifications_failed"  # _total: attempts that failed (retried)
NOTIFY_GIVEN_UP = "uptime_sla_notifications_given_up"  # _total
NOTIFY_PENDING = "uptime_sla_notifications_outbox_depth"

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LAG_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0)


class Histogram:
    """Bucket counts kept by hand: cheaper than a labelled prometheus Histogram per probe."""

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        for i, bound in enumerate(self.bounds):
            if value <= bound:
                self.counts[i] += 1
                break
        else:
            self.counts[-1] += 1
        self.sum += value

    def copy(self) -> Histogram:
        copied = Histogram(self.bounds)
        copied.counts, copied.sum = self.counts.copy(), self.sum
        return copied

    def buckets(self) -> list[tuple[str, float]]:
        running = 0
        out: list[tuple[str, float]] = []
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            running += count
            out.append(("+Inf" if bound == float("inf") else repr(bound), running))
        return out


@dataclass
class _Series:
    last: ProbeResult
    total: int = 0
    latency: Histogram = field(default_factory=lambda: Histogram(LATENCY_BUCKETS))


class ProbeMetrics(Collector):
    """Probe and writer metrics; register it on an injected registry."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._series: dict[tuple[str, str, str], _Series] = {}
        self._failures: dict[tuple[str, str, str, str], int] = defaultdict(int)
        self._lag = Histogram(LAG_BUCKETS)
        self.buffered = 0
        self.dropped = 0
        self.written = 0
        self.write_errors = 0

    def observe(self, result: ProbeResult) -> None:
        key = (result.target, result.family, result.location)
        with self._lock:
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = _Series(result)
            series.last = result
            series.total += 1
            if result.status_code is not None or result.success:
                series.latency.observe(result.duration_seconds)
            if not result.success:
                self._failures[(*key, str(result.reason))] += 1

    def observe_lag(self, seconds: float) -> None:
        with self._lock:
            self._lag.observe(max(seconds, 0.0))

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            series = {k: (s.last, s.total, s.latency.copy()) for k, s in self._series.items()}
            failures = dict(self._failures)
            lag = (self._lag.buckets(), self._lag.sum)
        yield from _probe_families(series, failures)
        yield _gauge(WRITER_BUFFERED, "Results waiting for the database.", self.buffered)
        yield _counter(WRITER_DROPPED, "Results dropped because the buffer was full.", self.dropped)
        yield _counter(WRITER_WRITTEN, "Results written to the database.", self.written)
        yield _counter(WRITER_ERRORS, "Failed database writes (retried).", self.write_errors)
        hist = HistogramMetricFamily(
            SCHEDULE_LAG, "Delay between a probe's planned and real start."
        )
        hist.add_metric([], lag[0], lag[1])
        yield hist


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


def _counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, value=value)


_Snapshot = dict[tuple[str, str, str], tuple[ProbeResult, int, Histogram]]
_Samples = Callable[[list[str], ProbeResult, int, Histogram], Iterable[tuple[Any, ...]]]

# Per family: its type, name, help, labels, and the add_metric arguments of one series
# (label values first). All values come from the series' last result, count and latency.
_Family = GaugeMetricFamily | CounterMetricFamily | HistogramMetricFamily
_PROBE_FAMILIES: tuple[tuple[type[_Family], str, str, tuple[str, ...], _Samples], ...] = (
    (
        GaugeMetricFamily,
        PROBE_SUCCESS,
        "1 if the last probe succeeded.",
        SERIES_LABELS,
        lambda labels, last, _n, _h: [(labels, 1.0 if last.success else 0.0)],
    ),
    (
        GaugeMetricFamily,
        PROBE_DURATION,
        "Duration of the last probe.",
        SERIES_LABELS,
        lambda labels, last, _n, _h: [(labels, last.duration_seconds)],
    ),
    (
        GaugeMetricFamily,
        PROBE_HTTP_STATUS,
        "HTTP status of the last probe (0: none).",
        SERIES_LABELS,
        lambda labels, last, _n, _h: [(labels, float(last.status_code or 0))],
    ),
    (
        GaugeMetricFamily,
        PROBE_HTTP_VERSION,
        "HTTP version of the last answer, e.g. 1.1 (0: no answer).",
        SERIES_LABELS,
        lambda labels, last, _n, _h: [(labels, float(last.http_version or 0))],
    ),
    (
        GaugeMetricFamily,
        PROBE_HTTP_CONTENT_LENGTH,
        "Content-Length of the last answer (-1: the answer had none, 0: no answer).",
        SERIES_LABELS,
        lambda labels, last, _n, _h: [(labels, float(_content_length(last)))],
    ),
    (
        GaugeMetricFamily,
        PROBE_HTTP_PHASE,
        "Phase durations of the last probe.",
        (*SERIES_LABELS, "phase"),
        lambda labels, last, _n, _h: [
            ([*labels, phase], last.phases.get(phase, 0.0)) for phase in PHASES
        ],
    ),
    (
        GaugeMetricFamily,
        PROBE_CERT_EXPIRY,
        "Leaf certificate expiry, unix seconds.",
        SERIES_LABELS,
        lambda labels, last, _n, _h: (
            [(labels, last.cert_expiry.timestamp())] if last.cert_expiry is not None else []
        ),
    ),
    (
        GaugeMetricFamily,
        PROBE_TLS_VERSION,
        "TLS version of the last probe.",
        (*SERIES_LABELS, "version"),
        lambda labels, last, _n, _h: (
            [([*labels, f"TLS {last.tls_version}"], 1.0)] if last.tls_version is not None else []
        ),
    ),
    (
        GaugeMetricFamily,
        PROBE_IP_PROTOCOL,
        "IP protocol of the last probe.",
        SERIES_LABELS,
        lambda labels, last, _n, _h: [(labels, 6.0 if last.family == "ipv6" else 4.0)],
    ),
    (
        GaugeMetricFamily,
        PROBE_LAST_STARTED,
        "When the last probe of the series started, unix seconds.",
        SERIES_LABELS,
        lambda labels, last, _n, _h: [(labels, last.started.timestamp())],
    ),
    (
        CounterMetricFamily,
        PROBE_TOTAL,
        "Probes run.",
        SERIES_LABELS,
        lambda labels, _last, count, _h: [(labels, count)],
    ),
    (
        HistogramMetricFamily,
        PROBE_LATENCY,
        "Probe latency (probes that got an answer).",
        SERIES_LABELS,
        lambda labels, _last, _n, latency: [(labels, latency.buckets(), latency.sum)],
    ),
)


def _content_length(last: ProbeResult) -> int:
    """blackbox_exporter's convention: -1 for an answer without the header, 0 for none."""
    if last.content_length is not None:
        return last.content_length
    return -1 if last.status_code is not None else 0


def _probe_families(
    series: _Snapshot, failures: dict[tuple[str, str, str, str], int]
) -> Iterator[Metric]:
    """One family at a time, so each can be freed once rendered: at 10,000 series all of
    them at once held ~250,000 samples, 100 MB more resident memory per scrape."""
    for kind, name, doc, labels, samples in _PROBE_FAMILIES:
        family = kind(name, doc, labels=labels)
        for key, (last, count, latency) in series.items():
            for args in samples(list(key), last, count, latency):
                family.add_metric(*args)
        yield family
    failed = CounterMetricFamily(
        PROBE_FAILURES, "Failed probes by reason.", labels=(*SERIES_LABELS, "reason")
    )
    for labels, count in failures.items():
        failed.add_metric(list(labels), count)
    yield failed
    yield _family_reachable(last for last, _n, _h in series.values())


def _family_reachable(lasts: Iterable[ProbeResult]) -> GaugeMetricFamily:
    """Per (family, location): 0 when the last probe of every target over that family failed
    with reason local (no route or source address here), else 1. Alerts on the API's health
    leave such a family out; it is the monitor's network that needs fixing."""
    reachable: dict[tuple[str, str], bool] = {}
    for last in lasts:
        key = (last.family, last.location)
        reachable[key] = reachable.get(key, False) or last.reason != Reason.LOCAL
    family = GaugeMetricFamily(
        FAMILY_REACHABLE,
        "1 if probes over the IP family can leave this monitor (0: no route or source address).",
        labels=FAMILY_LABELS,
    )
    for key, value in reachable.items():
        family.add_metric(list(key), 1.0 if value else 0.0)
    return family


class SlaMetrics(Collector):
    """Month-to-date SLA figures, replaced as a whole by the refresher (never per scrape)."""

    def __init__(self) -> None:
        self._families: list[Metric] = []

    def publish(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        yield from self._families


class NotifyMetrics(Collector):
    """Notification counters by (channel, event) and the outbox depth per channel.

    Labels are channel names from the config (`slack:NAME`, `email`) and event kinds:
    bounded, and never a URL or an address.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, dict[tuple[str, str], int]] = {
            NOTIFY_SENT: defaultdict(int),
            NOTIFY_FAILED: defaultdict(int),
            NOTIFY_GIVEN_UP: defaultdict(int),
        }
        self._depth: dict[str, int] = {}

    def count(self, name: str, channel: str, event: str) -> None:
        with self._lock:
            self._counts[name][(channel, event)] += 1

    def set_depth(self, depth: dict[str, int]) -> None:
        with self._lock:
            self._depth = dict(depth)

    def collect(self) -> Iterator[Metric]:
        docs = {
            NOTIFY_SENT: "Notifications delivered, by channel and event.",
            NOTIFY_FAILED: "Failed delivery attempts (retried with backoff).",
            NOTIFY_GIVEN_UP: (
                "Notifications given up: refused for good by the receiver, impossible to"
                " build, or older than notifications.give_up_after."
            ),
        }
        with self._lock:
            counts = {name: dict(values) for name, values in self._counts.items()}
            depth = dict(self._depth)
        for name, values in counts.items():
            family = CounterMetricFamily(name, docs[name], labels=NOTIFY_LABELS)
            for labels, value in values.items():
                family.add_metric(list(labels), value)
            yield family
        gauge = GaugeMetricFamily(
            NOTIFY_PENDING, "Notifications waiting in the outbox.", labels=("channel",)
        )
        for channel, value in depth.items():
            gauge.add_metric([channel], value)
        yield gauge


class BuildInfo(Collector):
    """`uptime_sla_build_info{version} 1`: which release a scrape came from."""

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily(
            BUILD_INFO, "The running uptime-sla (always 1).", labels=["version"]
        )
        info.add_metric([__version__], 1.0)
        yield info


def new_registry(*collectors: Collector) -> CollectorRegistry:
    """The given collectors, the build info and the client library's default process,
    platform and garbage-collector metrics (as a default registry would have)."""
    registry = CollectorRegistry(auto_describe=True)
    for collector in (*collectors, BuildInfo()):
        registry.register(collector)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry
