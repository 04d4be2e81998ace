"""The generated Prometheus rules, the deployment files, and `promtool test rules` proving
that each alert fires, and stays quiet, at the right moment.

The promtool tests feed series the way uptime-sla exposes them and ask which alerts are
firing at chosen instants. Most compare labels only (the rules are loaded without their
annotations); two compare the full text a person reads in Slack.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.prom import (
    ALERTMANAGER_YML,
    AMTOOL,
    PROMETHEUS_YML,
    PROMTOOL,
    RULES_YML,
    demo_config,
    generate_monitoring,
    run_tool,
)

from monitor.config import Config
from monitor.integrations.rules import (
    BURN_WINDOWS,
    CRITICAL,
    WARNING,
    rule_groups,
    sli_error_name,
)
from monitor.metrics import collectors as metrics

needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed")
needs_amtool = pytest.mark.skipif(AMTOOL is None, reason="amtool is not installed")

RUNBOOK = "https://runbooks.test/uptime-sla"
INTERVAL, TIMEOUT = 30, 10  # seconds, as in the config below
SCRAPE = 10  # seconds between samples in the probe tests

CONFIG = Config.model_validate(
    {
        "location": "lab",
        "defaults": {
            "interval": f"{INTERVAL}s",
            "timeout": f"{TIMEOUT}s",
            "tls_min_version": "1.3",
        },
        "targets": [
            {"name": "api-health", "url": "https://api.test/v1/health", "service": "public-api"},
            {"name": "api-basic", "url": "https://api.test/v1/basic", "service": "basic-api"},
        ],
        "plans": {"enterprise": {"objective": "99.99"}, "basic": {"objective": "99.5"}},
        "contracts": [
            {
                "customer": "acme",
                "plan": "enterprise",
                "service": "public-api",
                "monthly_fee": "12000.00",
                "start": "2026-01-01",
                "credits": [{"below": "99.99", "percent": 10}],
            },
            {
                "customer": "initech",
                "plan": "basic",
                "service": "basic-api",
                "monthly_fee": "99.00",
                "start": "2026-01-01",
            },
        ],
        "alerting": {"runbook_url": RUNBOOK},
    }
)


# --- helpers: promtool unit test files ------------------------------------------------------


def rules_of(config: Config, *, annotations: bool = False, only_slo_of: str | None = None) -> str:
    """The generated rules, optionally without annotations, or only one service's SLO group
    (a 3-day window evaluated every minute for 3 days is the slow part of promtool)."""
    groups = rule_groups(config)["groups"]
    if only_slo_of is not None:
        groups = [g for g in groups if g["name"].startswith(f"uptime-sla-slo:{only_slo_of}:")]
    if not annotations:
        for group in groups:
            for rule in group["rules"]:
                rule.pop("annotations", None)
    return yaml.safe_dump({"groups": groups}, sort_keys=False)


def series(metric: str, values: str, **labels: str) -> dict[str, str]:
    inner = ", ".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{metric}{{{inner}}}", "values": values}


def probe(target: str, family: str, values: str, location: str = "lab") -> dict[str, str]:
    return series(metrics.PROBE_SUCCESS, values, target=target, ip_family=family, location=location)


def firing(alertname: str, at: str, *alerts: dict[str, str]) -> dict[str, Any]:
    """At `at`, exactly these alerts of that name fire (none when `alerts` is empty)."""
    return {
        "eval_time": at,
        "alertname": alertname,
        "exp_alerts": [
            {"exp_labels": labels} if "exp_labels" not in labels else labels for labels in alerts
        ],
    }


def down_labels(target: str, family: str, severity: str = CRITICAL) -> dict[str, str]:
    service = CONFIG.target(target).service_name
    return {"severity": severity, "service": service, "target": target, "ip_family": family}


def promtool_test(
    tmp_path: Path,
    input_series: list[dict[str, str]],
    checks: list[dict[str, Any]],
    *,
    every: str = f"{SCRAPE}s",
    rules: str | None = None,
) -> None:
    """Run `promtool test rules` on one test case; fail with promtool's explanation."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "rules.yml").write_text(rules if rules is not None else rules_of(CONFIG))
    (tmp_path / "test.yml").write_text(
        yaml.safe_dump(
            {
                "rule_files": ["rules.yml"],
                "evaluation_interval": every,
                "tests": [
                    {"interval": every, "input_series": input_series, "alert_rule_test": checks}
                ],
            },
            sort_keys=False,
        )
    )
    result = run_tool(PROMTOOL or "promtool", "test", "rules", "test.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def seconds(value: float) -> str:
    return f"{round(value)}s"


# Probe series: 31 good samples (0 s to 300 s), then failures from 310 s on; or always good.
UP_THEN_DOWN, ALWAYS_UP = "1x30 0x20", "1x50"
FIRST_FAILURE = 31 * SCRAPE
CONFIRMED = FIRST_FAILURE + INTERVAL + TIMEOUT  # the next probe ran and had its whole timeout


# --- the factor table -------------------------------------------------------------------------


def test_burn_rate_factors_follow_from_budget_share_and_window():
    period_hours = 30 * 24
    expected = [
        (Fraction(2, 100) * period_hours / 1, 14.4, "1h", "5m", CRITICAL),
        (Fraction(5, 100) * period_hours / 6, 6, "6h", "30m", CRITICAL),
        (Fraction(10, 100) * period_hours / 24, 3, "1d", "2h", WARNING),
        (Fraction(10, 100) * period_hours / 72, 1, "3d", "6h", WARNING),
    ]
    for window, (computed, factor, long, short, severity) in zip(
        BURN_WINDOWS, expected, strict=True
    ):
        assert window.factor == computed == Fraction(str(factor))
        assert (sli_error_name(window.long), sli_error_name(window.short)) == (
            f"slo:sli_error:ratio_rate{long}",
            f"slo:sli_error:ratio_rate{short}",
        )
        assert window.severity == severity


# --- the committed deployment files -----------------------------------------------------------


def test_committed_rules_are_what_the_deploy_config_generates(tmp_path: Path):
    generated = generate_monitoring(tmp_path) / "prometheus" / "rules.yml"
    assert RULES_YML.read_text() == generated.read_text(), (
        "prometheus/rules.yml is stale: run scripts/generate-monitoring.sh"
    )


# Alerts whose value is always 1: their descriptions give the duration or version instead.
ALWAYS_ONE = {"ProbeDataMissing", "TLSVersionBelowMinimum"}
# About the monitor's own network, not a service: they name the location, spend no budget.
ABOUT_THE_MONITOR = {"MonitorFamilyUnreachable"}
# About notifications that did not reach people: they name the channel, spend no budget.
ABOUT_DELIVERY = {"NotificationsGivenUp"}


def test_every_alert_carries_severity_service_runbook_and_a_description_with_numbers():
    alerts = [r for g in rule_groups(demo_config())["groups"] for r in g["rules"] if "alert" in r]
    assert {a["alert"] for a in alerts} >= {
        "ProbeDown",
        "ProbeFamilyDown",
        "ProbeDataMissing",
        "TLSVersionBelowMinimum",
        "TLSCertificateExpiring",
        "ErrorBudgetBurn",
        "ErrorBudgetExhausted",
        "MonitorFamilyUnreachable",
        "NotificationsGivenUp",
    }
    for alert in alerts:
        labels, notes = alert["labels"], alert["annotations"]
        assert labels["severity"] in (CRITICAL, WARNING)
        assert notes["runbook_url"].startswith("https://runbooks.example.invalid/uptime-sla#")
        if alert["alert"] in ABOUT_THE_MONITOR:
            assert labels["severity"] == WARNING
            assert "$labels.location" in notes["summary"]
            assert "budget_left" not in notes
            continue
        if alert["alert"] in ABOUT_DELIVERY:
            assert labels["severity"] == WARNING
            assert "$labels.channel" in notes["summary"]
            assert "$value" in notes["description"]
            continue
        assert "service" in labels or "$labels.service" in notes["summary"]
        if alert["alert"] not in ALWAYS_ONE:
            assert "$value" in notes["description"]
        assert notes["budget_left"]


@needs_promtool
def test_promtool_accepts_the_committed_rules():
    result = run_tool(PROMTOOL or "", "check", "rules", str(RULES_YML))
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_promtool_accepts_the_committed_prometheus_config():
    result = run_tool(PROMTOOL or "", "check", "config", str(PROMETHEUS_YML))
    assert result.returncode == 0, result.stdout + result.stderr


@needs_amtool
def test_amtool_accepts_the_committed_alertmanager_config():
    result = run_tool(AMTOOL or "", "check-config", str(ALERTMANAGER_YML))
    assert result.returncode == 0, result.stdout + result.stderr


@needs_amtool
@pytest.mark.parametrize(
    ("severity", "receiver"), [("critical", "slack-pages"), ("warning", "slack-tickets")]
)
def test_alertmanager_routes_pages_and_tickets_to_their_slack_channels(severity, receiver):
    result = run_tool(
        AMTOOL or "",
        "config",
        "routes",
        "test",
        f"--config.file={ALERTMANAGER_YML}",
        f"severity={severity}",
        "service=public-api",
    )
    assert result.stdout.strip() == receiver, result.stdout + result.stderr


def test_no_slack_secret_is_committed():
    config = yaml.safe_load(ALERTMANAGER_YML.read_text())
    for receiver in config["receivers"]:
        for slack in receiver["slack_configs"]:
            assert "api_url" not in slack
            assert slack["api_url_file"].startswith("/etc/")
            assert slack["send_resolved"] is True


# --- promtool: probe alerts -------------------------------------------------------------------


@needs_promtool
def test_probe_down_fires_once_the_second_probe_in_a_row_has_failed(tmp_path: Path):
    promtool_test(
        tmp_path,
        [probe("api-health", "ipv4", UP_THEN_DOWN), probe("api-health", "ipv6", UP_THEN_DOWN)],
        [
            firing("ProbeDown", seconds(FIRST_FAILURE)),
            firing("ProbeDown", seconds(CONFIRMED - SCRAPE)),
            firing(
                "ProbeDown",
                seconds(CONFIRMED),
                down_labels("api-health", "ipv4"),
                down_labels("api-health", "ipv6"),
            ),
            firing("ProbeFamilyDown", seconds(CONFIRMED)),  # both down: not a family problem
        ],
    )


@needs_promtool
def test_one_failed_probe_never_pages(tmp_path: Path):
    one_probe = INTERVAL // SCRAPE  # the failed result stays on /metrics until the next probe
    promtool_test(
        tmp_path,
        [probe("api-health", "ipv4", f"1x30 0x{one_probe - 1} 1x20")],
        [firing("ProbeDown", seconds(t)) for t in range(FIRST_FAILURE, 500, SCRAPE)],
    )


@needs_promtool
def test_one_family_down_is_a_broken_dual_stack(tmp_path: Path):
    promtool_test(
        tmp_path,
        [probe("api-health", "ipv4", ALWAYS_UP), probe("api-health", "ipv6", UP_THEN_DOWN)],
        [
            firing("ProbeFamilyDown", seconds(CONFIRMED - SCRAPE)),
            firing("ProbeFamilyDown", seconds(CONFIRMED), down_labels("api-health", "ipv6")),
            firing("ProbeDown", seconds(CONFIRMED), down_labels("api-health", "ipv6")),
        ],
    )


def reachable(family: str, values: str, location: str = "lab") -> dict[str, str]:
    return series(metrics.FAMILY_REACHABLE, values, ip_family=family, location=location)


@needs_promtool
def test_a_family_the_monitor_cannot_probe_over_tells_the_operator_and_never_pages(
    tmp_path: Path,
):
    """IPv6 probes fail with reason local from 310 s on: the monitor lost its IPv6 route."""
    promtool_test(
        tmp_path,
        [
            probe("api-health", "ipv4", ALWAYS_UP),
            probe("api-health", "ipv6", UP_THEN_DOWN),
            reachable("ipv4", ALWAYS_UP),
            reachable("ipv6", UP_THEN_DOWN),
        ],
        [
            *(
                firing(alert, seconds(t))
                for alert in ("ProbeDown", "ProbeFamilyDown")
                for t in range(FIRST_FAILURE, 500, SCRAPE)
            ),
            firing("MonitorFamilyUnreachable", seconds(CONFIRMED - SCRAPE)),
            firing(
                "MonitorFamilyUnreachable",
                seconds(CONFIRMED),
                {"severity": WARNING, "ip_family": "ipv6", "location": "lab"},
            ),
        ],
    )


@needs_promtool
def test_a_location_that_cannot_probe_a_family_does_not_count_in_the_quorum(tmp_path: Path):
    """Of three locations, loc0 fails for real, loc1 has lost IPv6, loc2 answers: one failing
    location of the two that can probe is no majority."""
    promtool_test(
        tmp_path,
        [
            probe("api-health", "ipv6", UP_THEN_DOWN, "loc0"),
            probe("api-health", "ipv6", UP_THEN_DOWN, "loc1"),
            probe("api-health", "ipv6", ALWAYS_UP, "loc2"),
            reachable("ipv6", ALWAYS_UP, "loc0"),
            reachable("ipv6", UP_THEN_DOWN, "loc1"),
        ],
        [firing("ProbeDown", seconds(t)) for t in range(FIRST_FAILURE, 500, SCRAPE)],
    )


@needs_promtool
def test_a_target_is_down_when_a_majority_of_locations_say_so(tmp_path: Path):
    def locations(failing: int) -> list[dict[str, str]]:
        return [
            probe("api-health", "ipv4", UP_THEN_DOWN if i < failing else ALWAYS_UP, f"loc{i}")
            for i in range(3)
        ]

    promtool_test(tmp_path / "one", locations(1), [firing("ProbeDown", seconds(CONFIRMED + 60))])
    promtool_test(
        tmp_path / "two",
        locations(2),
        [firing("ProbeDown", seconds(CONFIRMED), down_labels("api-health", "ipv4"))],
    )


@needs_promtool
def test_missing_probe_data_alerts_after_the_sla_staleness_limit(tmp_path: Path):
    stale_after = 2 * INTERVAL  # sla.stale_after's default
    gone = FIRST_FAILURE  # the series ends (uptime-sla stopped, or its scrape fails)
    healthy = [
        probe(t, f, ALWAYS_UP) for t in ("api-health", "api-basic") for f in ("ipv4", "ipv6")
    ]
    promtool_test(
        tmp_path,
        [*healthy[:1], probe("api-health", "ipv6", "1x30 stale"), *healthy[2:]],
        [
            firing("ProbeDataMissing", seconds(gone + stale_after - SCRAPE)),
            firing(
                "ProbeDataMissing",
                seconds(gone + stale_after),
                down_labels("api-health", "ipv6", WARNING),
            ),
        ],
    )


@needs_promtool
def test_a_series_whose_last_probe_grows_old_is_missing_data_though_its_metrics_stay(
    tmp_path: Path,
):
    """api-health over ipv6 is held from 300 s on (a Retry-After): probe_success stays 1,
    but its last probe's time stops moving; ipv4 keeps probing every interval."""
    held_at = 30 * SCRAPE
    overdue = INTERVAL + TIMEOUT + INTERVAL  # a whole run late
    missing_after = 2 * INTERVAL  # sla.stale_after's default, at least a minute
    labels = {"target": "api-health", "location": "lab"}
    # Samples every SCRAPE s; the timestamp moves on every third one (every INTERVAL).
    steps = 50
    probing = " ".join(str(t - t % INTERVAL) for t in range(0, steps * SCRAPE, SCRAPE))
    held = " ".join(str(min(t - t % INTERVAL, held_at)) for t in range(0, steps * SCRAPE, SCRAPE))
    fires_at = held_at + overdue + SCRAPE + missing_after  # the first sample past overdue
    promtool_test(
        tmp_path,
        [
            *(
                probe(t, f, ALWAYS_UP)
                for t in ("api-health", "api-basic")
                for f in ("ipv4", "ipv6")
            ),
            series(metrics.PROBE_LAST_STARTED, probing, ip_family="ipv4", **labels),
            series(metrics.PROBE_LAST_STARTED, held, ip_family="ipv6", **labels),
        ],
        [
            firing("ProbeDataMissing", seconds(fires_at - SCRAPE)),
            firing(
                "ProbeDataMissing",
                seconds(fires_at),
                down_labels("api-health", "ipv6", WARNING),
            ),
        ],
    )


def test_missing_data_waits_at_least_a_minute_so_a_prometheus_restart_never_pages():
    fast = CONFIG.model_copy(
        update={"targets": (CONFIG.targets[0].model_copy(update={"interval": 5.0}),)}
    )
    (missing, *_) = [
        r
        for g in rule_groups(fast)["groups"]
        for r in g["rules"]
        if r.get("alert") == "ProbeDataMissing"
    ]
    assert missing["for"] == "1m"


@needs_promtool
def test_tls_below_the_targets_minimum_alerts_and_tls_1_3_does_not(tmp_path: Path):
    version = metrics.PROBE_TLS_VERSION
    labels = {"target": "api-health", "location": "lab"}
    promtool_test(
        tmp_path,
        [
            series(version, ALWAYS_UP, ip_family="ipv4", version="TLS 1.3", **labels),
            series(version, "_x31 1x20", ip_family="ipv6", version="TLS 1.2", **labels),
        ],
        [
            firing("TLSVersionBelowMinimum", seconds(CONFIRMED - SCRAPE)),
            firing(
                "TLSVersionBelowMinimum",
                seconds(CONFIRMED),
                down_labels("api-health", "ipv6", WARNING) | {"version": "TLS 1.2"},
            ),
        ],
    )


@needs_promtool
def test_certificate_expiry_warns_at_14_days_pages_at_3_and_is_quiet_before(tmp_path: Path):
    day = 86_400
    # An expiry date (unix seconds) that stays fixed while promtool's clock starts at 0.
    expiry = {"target": "api-health", "ip_family": "ipv4", "location": "lab"}
    promtool_test(
        tmp_path / "far",
        [series(metrics.PROBE_CERT_EXPIRY, f"{20 * day}x50", **expiry)],
        [firing("TLSCertificateExpiring", seconds(CONFIRMED))],
    )
    promtool_test(
        tmp_path / "warn",
        [series(metrics.PROBE_CERT_EXPIRY, f"{10 * day}x50", **expiry)],
        [
            firing(
                "TLSCertificateExpiring",
                seconds(CONFIRMED),
                down_labels("api-health", "ipv4", WARNING),
            )
        ],
    )
    promtool_test(
        tmp_path / "page",
        [series(metrics.PROBE_CERT_EXPIRY, f"{2 * day}x50", **expiry)],
        [
            firing(
                "TLSCertificateExpiring",
                seconds(CONFIRMED),
                down_labels("api-health", "ipv4", WARNING),
                down_labels("api-health", "ipv4", CRITICAL),
            )
        ],
    )


# --- promtool: error budget burn --------------------------------------------------------------
#
# One sample a minute, three days of good probes first so that every window (up to 3d) is
# full, then failures of both families (an error ratio of 1 while they last). A window of
# W minutes holds W + 1 samples (both ends are included), so after n bad minutes the error
# ratio over it is n / (W + 1), and the alert needs it above factor x budget in both of its
# windows: n > factor x budget x (W + 1) for the long one (the short one is always reached
# first, since it holds the same n bad samples among fewer).

HISTORY = 3 * 24 * 60  # minutes of good probes before the outage


def bad_minutes_to_fire(objective: str, severity: str) -> int:
    budget = (Decimal(100) - Decimal(objective)) / 100
    return min(
        math.floor(Decimal(w.factor.numerator) / w.factor.denominator * budget * (w.long // 60 + 1))
        + 1
        for w in BURN_WINDOWS
        if w.severity == severity
    )


def burn_labels(service: str, objective: str, plan: str, severity: str) -> dict[str, str]:
    return {"severity": severity, "service": service, "objective": objective, "plan": plan}


def outage(target: str, bad: int) -> list[dict[str, str]]:
    return [probe(target, family, f"1x{HISTORY} 0x{bad - 1} 1x60") for family in ("ipv4", "ipv6")]


def test_the_arithmetic_of_bad_minutes():
    # 99.99 %: 14.4 x 0.0001 x 61 = 0.088 bad minutes in the hour: the first bad minute pages,
    # and opens the ticket too (3 x 0.0001 x 1441 = 0.43).
    assert bad_minutes_to_fire("99.99", CRITICAL) == 1
    assert bad_minutes_to_fire("99.99", WARNING) == 1
    # 99.5 %: 14.4 x 0.005 x 61 = 4.39, so the 5th bad minute pages (6x over 6h needs
    # 6 x 0.005 x 361 = 10.83, the 11th); the ticket (1x over 3d: 0.005 x 4321 = 21.6) the 22nd.
    assert bad_minutes_to_fire("99.5", CRITICAL) == 5
    assert bad_minutes_to_fire("99.5", WARNING) == 22


@needs_promtool
def test_a_99_99_service_pages_at_its_first_bad_minute_and_stops_30_minutes_after(
    tmp_path: Path,
):
    n = bad_minutes_to_fire("99.99", CRITICAL)
    start = HISTORY + 1  # the minute of the first bad sample
    page = burn_labels("public-api", "99.99", "enterprise", CRITICAL)
    ticket = burn_labels("public-api", "99.99", "enterprise", WARNING)
    last_bad = start + n - 1
    promtool_test(
        tmp_path,
        outage("api-health", n),
        [
            firing("ErrorBudgetBurn", f"{start - 1}m"),
            firing("ErrorBudgetBurn", f"{last_bad}m", page, ticket),
            # 14.4x over 5m ends after 5 minutes, but 6x over 30m goes on: 1/31 > 6 x 0.0001,
            # until the bad minute leaves the 30-minute window.
            firing("ErrorBudgetBurn", f"{last_bad + 30}m", page, ticket),
            firing("ErrorBudgetBurn", f"{last_bad + 31}m", ticket),
        ],
        every="1m",
        rules=rules_of(CONFIG, only_slo_of="public-api"),
    )


@needs_promtool
def test_a_99_5_service_pages_at_the_fifth_bad_minute_not_the_fourth(tmp_path: Path):
    n = bad_minutes_to_fire("99.5", CRITICAL)
    start = HISTORY + 1
    page = burn_labels("basic-api", "99.5", "basic", CRITICAL)
    promtool_test(
        tmp_path,
        outage("api-basic", bad=bad_minutes_to_fire("99.5", WARNING)),
        [
            firing("ErrorBudgetBurn", f"{start + n - 2}m"),
            firing("ErrorBudgetBurn", f"{start + n - 1}m", page),
        ],
        every="1m",
        rules=rules_of(CONFIG, only_slo_of="basic-api"),
    )


@needs_promtool
def test_error_budget_exhausted_fires_when_the_month_to_date_budget_reaches_zero(tmp_path: Path):
    budget = {"service": "public-api", "plan": "enterprise", "objective": "99.99"}
    promtool_test(
        tmp_path,
        [series(metrics.SLA_BUDGET_REMAINING, "0.5 0.1 0 -0.2", **budget)],
        [
            firing("ErrorBudgetExhausted", "10s"),
            firing("ErrorBudgetExhausted", "20s", budget | {"severity": WARNING}),
            firing("ErrorBudgetExhausted", "30s", budget | {"severity": WARNING}),
        ],
    )


@needs_promtool
def test_a_given_up_notification_warns_for_an_hour_and_a_delivered_one_never(tmp_path: Path):
    given_up = {"channel": "email", "event": "maintenance_started"}
    sent = {"channel": "slack:status", "event": "maintenance_started"}
    promtool_test(
        tmp_path,
        [
            series(f"{metrics.NOTIFY_GIVEN_UP}_total", "0x30 1x400", **given_up),
            series(f"{metrics.NOTIFY_GIVEN_UP}_total", "0x430", **sent),
        ],
        [
            firing("NotificationsGivenUp", "290s"),
            firing("NotificationsGivenUp", "320s", given_up | {"severity": WARNING}),
            firing("NotificationsGivenUp", "3800s", given_up | {"severity": WARNING}),
            firing("NotificationsGivenUp", "4200s"),
        ],
    )


# --- promtool: what a person reads ------------------------------------------------------------


@needs_promtool
def test_a_broken_dual_stack_reads_well(tmp_path: Path):
    budget = {"service": "public-api", "plan": "enterprise", "objective": "99.99"}
    promtool_test(
        tmp_path,
        [
            probe("api-health", "ipv4", ALWAYS_UP),
            probe("api-health", "ipv6", UP_THEN_DOWN),
            series(metrics.SLA_BUDGET_REMAINING, "0.75x50", **budget),
        ],
        [
            firing(
                "ProbeFamilyDown",
                seconds(CONFIRMED),
                {
                    "exp_labels": down_labels("api-health", "ipv6"),
                    "exp_annotations": {
                        "summary": "api-health is down over ipv6 only: dual stack is broken",
                        "description": (
                            "api-health fails over ipv6 from 1 location(s) while its other"
                            " family answers: the API promises both IPv4 and IPv6 (every 30s,"
                            " timeout 10s). Service public-api counts it as downtime"
                            " (family_policy any)."
                        ),
                        "budget_left": "enterprise (99.99 %): 75%",
                        "runbook_url": f"{RUNBOOK}#probefamilydown",
                    },
                },
            )
        ],
        rules=rules_of(CONFIG, annotations=True),
    )


@needs_promtool
def test_a_burn_rate_page_says_how_fast_the_budget_burns(tmp_path: Path):
    burn_rate = (1 / (60 + 1)) / 0.0001  # one bad minute in the hour, over a 0.01 % budget
    promtool_test(
        tmp_path,
        outage("api-health", 1),
        [
            firing(
                "ErrorBudgetBurn",
                f"{HISTORY + 1}m",
                *(
                    {
                        "exp_labels": burn_labels("public-api", "99.99", "enterprise", severity),
                        "exp_annotations": {
                            "summary": (
                                f"public-api burns its 99.99 % error budget {value:.4g}x too fast"
                            ),
                            "description": (
                                f"Probes of public-api fail at {value:.4g} times the rate that"
                                " would spend the whole 99.99 % budget (enterprise) in 30 days;"
                                f" alerts at {thresholds}."
                            ),
                            "budget_left": "unknown (no SLA gauge yet)",
                            "runbook_url": f"{RUNBOOK}#errorbudgetburn",
                        },
                    }
                    for severity, value, thresholds in (
                        (CRITICAL, burn_rate, "14.4x over 1h and 5m or 6x over 6h and 30m"),
                        (
                            WARNING,
                            (1 / (24 * 60 + 1)) / 0.0001,
                            "3x over 1d and 2h or 1x over 3d and 6h",
                        ),
                    )
                ),
            )
        ],
        rules=rules_of(CONFIG, annotations=True, only_slo_of="public-api"),
        every="1m",
    )


# --- promise alerts (docs/promises.md) --------------------------------------------------------

PROMISES_CONFIG = Config.model_validate(
    {
        "location": "lab",
        "defaults": {"promises": {"every": "1m"}},
        "targets": [
            {"name": "api-health", "url": "https://api.test/v1/health", "service": "public-api"},
            {"name": "api-basic", "url": "https://api.test/v1/basic", "promises": None},
        ],
        "webhook_receivers": [
            {"name": name, "path": f"/hooks/{name}", "listen": "127.0.0.1:8091"}
            for name in ("on-time", "late")
        ],
        "alerting": {"runbook_url": RUNBOOK},
    }
)


def promise_ok(promise: str, family: str, values: str) -> dict[str, str]:
    return series(
        "uptime_sla_promise_ok", values, promise=promise, target="api-health", ip_family=family
    )


def test_promise_alerts_are_warnings_about_promises_never_the_budget():
    alerts = [
        rule
        for group in rule_groups(PROMISES_CONFIG)["groups"]
        for rule in group["rules"]
        if rule.get("alert") in ("PromiseBroken", "WebhookPromiseBroken")
    ]
    assert [a["alert"] for a in alerts] == [
        "PromiseBroken",  # one per service with promise checks: api-basic has none
        "WebhookPromiseBroken",
        "WebhookPromiseBroken",
    ]
    for alert in alerts:
        assert alert["labels"]["severity"] == WARNING
        assert "budget_left" not in alert["annotations"]
        assert "$value" in alert["annotations"]["description"]
        assert "for" not in alert  # a check's verdict holds until the next check


@needs_promtool
def test_promise_broken_fires_while_the_last_check_is_broken(tmp_path: Path):
    promtool_test(
        tmp_path,
        [
            promise_ok("plaintext_rejected", "ipv4", "1x10 0x10 1x10"),
            promise_ok("plaintext_rejected", "ipv6", "1x30"),
            promise_ok("tls_only", "ipv6", "0x30"),
        ],
        [
            firing(
                "PromiseBroken",
                "50s",
                *(
                    {
                        "severity": WARNING,
                        "service": "public-api",
                        "promise": promise,
                        "target": "api-health",
                        "ip_family": "ipv6",
                    }
                    for promise in ("tls_only",)
                ),
            ),
            firing(
                "PromiseBroken",
                "150s",
                *(
                    {
                        "severity": WARNING,
                        "service": "public-api",
                        "promise": promise,
                        "target": "api-health",
                        "ip_family": family,
                    }
                    for promise, family in (("plaintext_rejected", "ipv4"), ("tls_only", "ipv6"))
                ),
            ),
            firing(
                "PromiseBroken",
                "250s",
                {
                    "severity": WARNING,
                    "service": "public-api",
                    "promise": "tls_only",
                    "target": "api-health",
                    "ip_family": "ipv6",
                },
            ),
        ],
        rules=rules_of(PROMISES_CONFIG),
    )


@needs_promtool
def test_webhook_promise_broken_fires_when_first_attempts_fall_below_the_promised_share(
    tmp_path: Path,
):
    """Over a day, 998 and 996 of every 1,000 first attempts arrived within 5 s: only the
    second receiver is below 99.7 %."""
    within, count = (
        "uptime_sla_webhook_delivery_seconds_bucket",
        "uptime_sla_webhook_delivery_seconds_count",
    )
    promtool_test(
        tmp_path,
        [
            series(within, "0+998x48", receiver="on-time", le="5.0"),
            series(count, "0+1000x48", receiver="on-time"),
            series(within, "0+996x48", receiver="late", le="5.0"),
            series(count, "0+1000x48", receiver="late"),
        ],
        [
            firing("WebhookPromiseBroken", "1d", {"severity": WARNING, "receiver": "late"}),
            firing("WebhookPromiseBroken", "2d", {"severity": WARNING, "receiver": "late"}),
        ],
        rules=rules_of(PROMISES_CONFIG),
        every="1h",
    )
