"""Alerting end to end with the real servers, all on loopback: an HTTPS target, `uptime-sla
run`, Prometheus loading the generated rules, Alertmanager with the committed routing and
Slack templates, and a stand-in for Slack that records what it is sent.

Intervals are 1 s everywhere, so the `for:` of the rules (interval + timeout) is 3 s and the
whole story takes well under two minutes.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from support.commands import COMMAND_PATIENCE
from support.lab import lab_config, target_yaml
from support.processes import Monitor, free_port, scrape, wait_for
from support.prom import (
    ALERTMANAGER,
    PROMETHEUS,
    ROOT,
    Alertmanager,
    Prometheus,
    SlackReceiver,
    alertmanager_config,
    iter_exprs,
    prometheus_config,
    slack_text,
)

needs_servers = pytest.mark.skipif(
    PROMETHEUS is None or ALERTMANAGER is None,
    reason="prometheus and prometheus-alertmanager are not installed",
)

DASHBOARDS = sorted((ROOT / "grafana" / "dashboards").glob("*.json"))
# What Grafana would put in place of its variables (an "All" selection is a match-all regex).
GRAFANA_VARIABLES = {"__rate_interval": "10s", "__interval": "2s", "__range": "5m"}


def uptime_sla(*args: str) -> str:
    """Run the command line as a user would; return what it printed."""
    result = subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        timeout=COMMAND_PATIENCE,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def write_config(path: Path, server: Any, metrics_port: int, alertmanager_url: str) -> Path:
    tomorrow = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    yesterday = tomorrow - timedelta(days=2)
    return lab_config(
        path.parent,
        [target_yaml("api-health", server.url("/v1/health"), service="public-api")],
        ca_file=server.ca_file,
        name=path.name,
        port=metrics_port,
        metrics="sla_refresh: 1s",
        defaults=['tls_min_version: "1.3"'],
        # 5 s slices: the SLA gauges count ended slices only, so they (and the panels that
        # show them) have data within seconds instead of after the first whole minute.
        sla="slice: 5s",
        # A loose objective: with one family of two down the error ratio is at most 0.5, under
        # the 6x page threshold (0.6), so the only pages here come from the probe alerts.
        extra=f"""\
        plans: {{lab: {{objective: 90, credits: [{{below: 90, percent: 10}}]}}}}
        contracts:
          - {{customer: acme, plan: lab, service: public-api, monthly_fee: "100.00",
              start: 2026-01-01}}
        maintenance:
          - {{start: "{tomorrow.isoformat()}", end: "{(tomorrow + timedelta(hours=1)).isoformat()}",
              targets: [api-health], reason: certificate rotation}}
          - {{start: "{yesterday.isoformat()}", end: "{(yesterday + timedelta(hours=1)).isoformat()}",
              reason: already over}}
        alerting:
          alertmanager_url: {alertmanager_url}
          runbook_url: https://runbooks.test/uptime-sla
        """,
    ).config


def only_loopback(*urls: str) -> bool:
    return all(urlsplit(u if "//" in u else f"//{u}").hostname == "127.0.0.1" for u in urls)


def says(message: dict[str, Any], status: str, *words: str) -> bool:
    """A Slack message whose title has this status and whose text names every word."""
    text = slack_text(message)
    return text.startswith(f"[{status}") and all(word in text for word in words)


def with_grafana_variables(expr: str) -> str:
    def value(match: re.Match[str]) -> str:
        return GRAFANA_VARIABLES.get(match.group(1) or match.group(2), ".*")

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", value, expr)


def dashboard_queries(path: Path) -> list[str]:
    """Every PromQL of a dashboard: its panels' queries and its variables' label_values()."""
    board = json.loads(path.read_text())
    queries = list(iter_exprs(board["panels"]))
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":
            metric, label = re.fullmatch(
                r"label_values\((\w+), (\w+)\)", variable["query"]
            ).groups()
            queries.append(f"count by ({label}) ({metric})")
    return queries


@pytest.mark.slow
@needs_servers
def test_an_ipv6_outage_reaches_slack_resolves_and_every_dashboard_query_has_data(
    https_server, tmp_path: Path
):
    server = https_server()
    metrics_port = free_port()
    with SlackReceiver() as slack:
        am = Alertmanager(alertmanager_config(slack.url), tmp_path)
        config = write_config(tmp_path / "uptime-sla.yaml", server, metrics_port, am.url)
        monitor = Monitor(config)
        try:
            wait_for(lambda: sum(k[0] == "probe_success" for k in scrape(metrics_port)) == 2)
            rules = tmp_path / "rules.yml"
            uptime_sla("-c", str(config), "rules", "-o", str(rules))
            prom = Prometheus(
                prometheus_config(
                    scrape=f"127.0.0.1:{metrics_port}", alertmanager=am.address, rules=rules
                ),
                tmp_path,
            )
            slack_urls = [
                s["api_url"]
                for r in yaml.safe_load(am.config_file.read_text())["receivers"]
                for s in r["slack_configs"]
            ]
            assert only_loopback(*slack_urls, prom.url, am.url), "nothing may leave loopback"

            with am, prom:
                # Maintenance windows: the one to come becomes a silence, the one over does not.
                first = uptime_sla("-c", str(config), "silences", "sync")
                second = uptime_sla("-c", str(config), "silences", "sync")
                assert "1 created, 0 updated, 0 expired, 0 unchanged" in first
                assert "0 created, 0 updated, 0 expired, 1 unchanged" in second
                (silence,) = am.silences()
                assert silence["status"]["state"] == "pending"
                assert silence["comment"].startswith("certificate rotation [uptime-sla window ")

                # Five seconds of everything up, scraped and evaluated: no alert was sent.
                wait_for(lambda: prom.query("count_over_time(probe_success[1m]) >= 5"))
                wait_for(lambda: prom.query('slo:sli_error:ratio_rate5m{service="public-api"}'))
                wait_for(lambda: prom.query("uptime_sla_error_budget_remaining_ratio"))
                assert slack.received() == []

                server.stop_family("ipv6")
                down = slack.wait_for(
                    lambda m: says(m, "FIRING", "ProbeFamilyDown", "`api-health`", "*ipv6*")
                )
                server.start_family("ipv6")
                up = slack.wait_for(
                    lambda m: says(m, "RESOLVED", "ProbeFamilyDown", "`api-health`", "*ipv6*")
                )

                assert down["channel"] == up["channel"] == "#uptime-pages"
                text = slack_text(down)
                assert "api-health is down over ipv6 only: dual stack is broken" in text
                assert "*Since:* 20" in text
                assert "*Error budget left:* lab (90 %): " in text
                assert "<https://runbooks.test/uptime-sla#probefamilydown|Runbook>" in text
                assert "ProbeDown ·" not in text  # inhibited: the family alert says it better

                empty = [
                    (path.name, expr)
                    for path in DASHBOARDS
                    for expr in dashboard_queries(path)
                    if not prom.query(with_grafana_variables(expr))
                ]
                assert DASHBOARDS
                assert empty == []
        finally:
            assert monitor.stop() == 0, monitor.output()


# --- Alertmanager's inhibition rules, with alerts posted as Prometheus would -------------------


@pytest.fixture
def alertmanager(tmp_path: Path):
    if ALERTMANAGER is None:
        pytest.skip("prometheus-alertmanager is not installed")
    with SlackReceiver() as slack, Alertmanager(alertmanager_config(slack.url), tmp_path) as am:
        yield am


def inhibited(am: Alertmanager) -> dict[str, bool]:
    return {
        f"{a['labels']['alertname']}/{a['labels']['severity']}": bool(a["status"]["inhibitedBy"])
        for a in am.alerts()
    }


@needs_servers
def test_a_down_target_mutes_its_services_burn_rate_and_a_family_alert_mutes_probe_down(
    alertmanager,
):
    service = {"service": "public-api"}
    probe = service | {"target": "api-health", "ip_family": "ipv6", "severity": "critical"}
    alertmanager.post_alerts(
        {"alertname": "ProbeFamilyDown"} | probe,
        {"alertname": "ProbeDown"} | probe,
        {"alertname": "ErrorBudgetBurn", "severity": "critical", "objective": "99.9"} | service,
        {"alertname": "ErrorBudgetBurn", "severity": "warning", "objective": "99.9"} | service,
    )
    wait_for(
        lambda: len(alertmanager.alerts()) == 4 and inhibited(alertmanager)["ProbeDown/critical"]
    )
    assert inhibited(alertmanager) == {
        "ProbeFamilyDown/critical": False,
        "ProbeDown/critical": True,
        "ErrorBudgetBurn/critical": True,
        "ErrorBudgetBurn/warning": True,
    }
