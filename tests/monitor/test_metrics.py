"""The probe collector renders blackbox_exporter's names from the last result of each series."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from monitor import __version__
from monitor.metrics.collectors import ProbeMetrics, new_registry
from monitor.probing.results import PHASES, ProbeResult, Reason

STARTED = datetime(2026, 11, 1, tzinfo=UTC)
EXPIRY = datetime(2027, 1, 1, tzinfo=UTC)


def healthy(target: str, family: str, seconds: float) -> ProbeResult:
    return ProbeResult(
        target=target,
        family=family,
        location="fra",
        started=STARTED,
        success=True,
        status_code=200,
        duration_seconds=seconds,
        phases={phase: seconds / len(PHASES) for phase in PHASES},
        tls_version="1.3",
        cert_expiry=EXPIRY,
    )


def failed(target: str, family: str, reason: Reason, seconds: float) -> ProbeResult:
    return ProbeResult(
        target=target,
        family=family,
        location="fra",
        started=STARTED,
        success=False,
        reason=reason,
        duration_seconds=seconds,
    )


def timed_out(target: str, family: str) -> ProbeResult:
    return failed(target, family, Reason.TIMEOUT, 5.0)


def left_no_route(target: str, family: str) -> ProbeResult:
    """The probe could not leave the monitor: no route or source address of the family."""
    return failed(target, family, Reason.LOCAL, 0.0)


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def scrape() -> tuple[ProbeMetrics, Callable[[], Samples]]:
    metrics = ProbeMetrics()
    registry = CollectorRegistry()
    registry.register(metrics)

    def samples() -> Samples:
        text = generate_latest(registry).decode()
        return {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    return metrics, samples


def labels(target: str, family: str, **extra: str) -> frozenset[tuple[str, str]]:
    return frozenset({"target": target, "ip_family": family, "location": "fra", **extra}.items())


def test_every_series_gets_the_last_result_of_its_own(scrape) -> None:
    metrics, samples = scrape
    metrics.observe(healthy("api", "ipv4", 0.2))
    metrics.observe(timed_out("api", "ipv4"))
    metrics.observe(healthy("api", "ipv6", 0.1))

    got = samples()

    assert got[("probe_success", labels("api", "ipv4"))] == 0.0
    assert got[("probe_success", labels("api", "ipv6"))] == 1.0
    assert got[("probe_duration_seconds", labels("api", "ipv4"))] == 5.0
    assert got[("probe_http_status_code", labels("api", "ipv4"))] == 0.0
    assert got[("probe_http_status_code", labels("api", "ipv6"))] == 200.0
    assert got[("probe_ip_protocol", labels("api", "ipv6"))] == 6.0
    assert got[("probe_total", labels("api", "ipv4"))] == 2.0


def test_phases_tls_and_certificate_come_from_the_last_answer(scrape) -> None:
    metrics, samples = scrape
    metrics.observe(healthy("api", "ipv4", 0.5))

    got = samples()

    for phase in PHASES:
        assert got[("probe_http_duration_seconds", labels("api", "ipv4", phase=phase))] == 0.1
    assert got[("probe_tls_version_info", labels("api", "ipv4", version="TLS 1.3"))] == 1.0
    assert got[("probe_ssl_earliest_cert_expiry", labels("api", "ipv4"))] == EXPIRY.timestamp()


def test_a_probe_without_an_answer_has_no_tls_or_certificate_sample(scrape) -> None:
    metrics, samples = scrape
    metrics.observe(timed_out("api", "ipv4"))

    names = {name for name, _ in samples()}

    assert "probe_tls_version_info" not in names
    assert "probe_ssl_earliest_cert_expiry" not in names


def test_failures_are_counted_by_reason_and_latency_only_for_answers(scrape) -> None:
    metrics, samples = scrape
    metrics.observe(timed_out("api", "ipv4"))
    metrics.observe(timed_out("api", "ipv4"))
    metrics.observe(healthy("api", "ipv4", 0.03))

    got = samples()

    assert got[("probe_failures_total", labels("api", "ipv4", reason="timeout"))] == 2.0
    assert got[("probe_latency_seconds_count", labels("api", "ipv4"))] == 1.0
    assert got[("probe_latency_seconds_bucket", labels("api", "ipv4", le="0.025"))] == 0.0
    assert got[("probe_latency_seconds_bucket", labels("api", "ipv4", le="0.05"))] == 1.0


def test_a_scrape_does_not_change_what_the_next_one_sees(scrape) -> None:
    metrics, samples = scrape
    metrics.observe(healthy("api", "ipv4", 0.03))
    first = samples()
    metrics.observe(healthy("api", "ipv4", 0.03))

    second = samples()

    count = ("probe_latency_seconds_count", labels("api", "ipv4"))
    assert (first[count], second[count]) == (1.0, 2.0)


def reachable(family: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return (
        "uptime_sla_ip_family_reachable",
        frozenset({"ip_family": family, "location": "fra"}.items()),
    )


def test_a_probe_that_could_not_leave_the_monitor_is_a_failure_with_reason_local(scrape) -> None:
    metrics, samples = scrape
    metrics.observe(left_no_route("api", "ipv6"))

    got = samples()

    assert got[("probe_success", labels("api", "ipv6"))] == 0.0
    assert got[("probe_failures_total", labels("api", "ipv6", reason="local"))] == 1.0
    assert got[("probe_latency_seconds_count", labels("api", "ipv6"))] == 0.0


def test_a_family_is_unreachable_only_when_no_target_could_leave_over_it(scrape) -> None:
    metrics, samples = scrape
    metrics.observe(left_no_route("api", "ipv6"))
    metrics.observe(left_no_route("web", "ipv6"))
    metrics.observe(timed_out("api", "ipv4"))  # reached the network: the family works
    metrics.observe(left_no_route("web", "ipv4"))

    got = samples()

    assert got[reachable("ipv6")] == 0.0
    assert got[reachable("ipv4")] == 1.0

    metrics.observe(healthy("web", "ipv6", 0.1))  # the route is back
    assert samples()[reachable("ipv6")] == 1.0


def test_http_version_and_content_length_follow_blackbox_exporter(scrape) -> None:
    """1.1 and the header's length for an answer; -1 for an answer without the header;
    0 and 0 when nothing answered."""
    metrics, samples = scrape
    answered = healthy("api", "ipv4", 0.1)
    metrics.observe(dataclasses.replace(answered, http_version="1.1", content_length=15))
    metrics.observe(dataclasses.replace(healthy("api", "ipv6", 0.1), http_version="1.1"))
    metrics.observe(timed_out("search", "ipv4"))

    got = samples()

    assert got[("probe_http_version", labels("api", "ipv4"))] == 1.1
    assert got[("probe_http_content_length", labels("api", "ipv4"))] == 15
    assert got[("probe_http_content_length", labels("api", "ipv6"))] == -1
    assert got[("probe_http_version", labels("search", "ipv4"))] == 0
    assert got[("probe_http_content_length", labels("search", "ipv4"))] == 0


def test_the_registry_adds_build_info_and_the_default_process_metrics() -> None:
    registry = new_registry(ProbeMetrics())
    names = {family.name for family in registry.collect()}

    assert registry.get_sample_value("uptime_sla_build_info", {"version": __version__}) == 1
    assert {"process_resident_memory_bytes", "process_cpu_seconds", "python_info"} <= names
    assert "python_gc_objects_collected" in names
