"""`uptime-sla run` holding a provider to its promises, as users run it: real TLS servers
that refuse or still accept TLS 1.2, plaintext ports that redirect, refuse or stay silent,
429s with and without Retry-After, and a webhook sender with signed events, duplicates,
late deliveries and retries. Each shows in /metrics, in the alerts (promtool, fed what
/metrics said) and in `report --promises` (json, md, html)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from support.commands import uptime_sla
from support.https import HttpsServer, Route
from support.lab import Lab, lab_config, target_yaml
from support.plaintext import PlaintextServer
from support.processes import Monitor, free_port, scrape, wait_for
from support.prom import PROMTOOL, run_tool
from support.webhooks import WebhookSender

SECRET = b"whsec-e2e-41c9"

# target: (server, path, plaintext listener) -> what each promise should say
BROKEN = {
    ("tls_only", "legacy"),
    ("plaintext_rejected", "legacy"),  # its port 80 redirects: the API key went in clear
    ("retry_after_on_429", "busy"),
}
KEPT = {
    ("tls_only", "modern"),
    ("plaintext_rejected", "modern"),  # 403
    ("plaintext_rejected", "silent"),  # accepts and says nothing
    ("retry_after_on_429", "busy-polite"),
    ("both_families", "modern"),
}
FAMILIES = ("ipv4", "ipv6")


@pytest.fixture(scope="module")
def provider(tls_ca, ca_file):
    modern = HttpsServer(
        ca=tls_ca,
        ca_file=ca_file,
        tls_min_version="1.3",
        routes={
            "/v1/busy": Route(status=429),
            "/v1/busy-polite": Route(status=429, headers={"Retry-After": "1"}),
        },
    )
    legacy = HttpsServer(ca=tls_ca, ca_file=ca_file)  # still accepts TLS 1.2
    with (
        modern,
        legacy,
        PlaintextServer(403) as forbidden,
        PlaintextServer(301, headers={"Location": "https://api.test/"}) as redirect,
        PlaintextServer("close") as silent,
    ):
        yield {
            "modern": (modern, "/v1/health", forbidden.port),
            "legacy": (legacy, "/v1/health", redirect.port),
            "silent": (modern, "/v1/health", silent.port),
            "busy": (modern, "/v1/busy", forbidden.port),
            "busy-polite": (modern, "/v1/busy-polite", forbidden.port),
        }


def write_config(tmp_path: Path, provider, hook_listen: str) -> Lab:
    """The lab config: every target with its own plaintext port, promises checked every
    second, and the provider's webhooks received on `hook_listen`."""
    secret = tmp_path / "outfame-hook"
    secret.write_bytes(SECRET + b"\n")
    return lab_config(
        tmp_path,
        [
            target_yaml(
                name,
                server.url(path),
                ca_file=f'"{server.ca_file}"',
                promises=f"{{plaintext_port: {port}}}",
            )
            for name, (server, path, port) in provider.items()
        ],
        ca_file=provider["modern"][0].ca_file,
        defaults=["promises: {every: 1s}"],
        sla=None,
        extra=f"""\
            webhook_receivers:
              - name: outfame-webhooks
                path: /hooks/outfame
                listen: "{hook_listen}"
                secret_file: {secret}
                id_field: id
                sent_at_field: created_at
                promise: {{first_attempt_percent: 99.7, within: 5s, retries: [1m, 5m, 30m]}}
                fail_first_percent: 50
            """,
    )


def promise_ok(metrics, promise: str, target: str, family: str) -> float | None:
    labels = frozenset({"promise": promise, "target": target, "ip_family": family}.items())
    return metrics.get(("uptime_sla_promise_ok", labels))


def sample(metrics, name: str, **labels: str) -> float:
    return metrics[(name, frozenset(labels.items()))]


def counted(metrics) -> tuple[float, float]:
    """(deliveries counted, duplicates counted) so far."""
    deliveries = sum(
        v for (n, _), v in metrics.items() if n == "uptime_sla_webhook_deliveries_total"
    )
    duplicates = sum(
        v for (n, _), v in metrics.items() if n == "uptime_sla_webhook_duplicates_total"
    )
    return deliveries, duplicates


def deliver(sender: WebhookSender) -> None:
    """Four events on time (the 2nd and 4th answered 503 on purpose, then retried), a
    duplicate, one created 30 s before it arrived, and a forged one."""
    assert [sender.send(f"evt_{n}") for n in (1, 2, 3, 4)] == [200, 503, 200, 503]
    assert [sender.send(f"evt_{n}") for n in (2, 4)] == [200, 200]  # retry 1 of each
    assert sender.send("evt_1") == 200  # at-least-once: a duplicate
    assert sender.send("evt_5", late=30) == 200  # late: a first attempt that was retried?
    assert sender.send("evt_6", signature="sha256=" + "ab" * 32) == 401


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory, provider):
    """The monitor run until every promise has a verdict and the deliveries are in."""
    tmp_path = tmp_path_factory.mktemp("promises")
    hook_listen = f"[::1]:{free_port()}"
    lab = write_config(tmp_path, provider, hook_listen)
    config, metrics_port = lab.config, lab.port
    monitor = Monitor(config)
    try:
        wait_for(
            lambda: all(
                promise_ok(scrape(metrics_port), promise, target, family) is not None
                for promise, target in BROKEN | KEPT
                for family in FAMILIES
            )
        )
        deliver(WebhookSender(f"http://{hook_listen}/hooks/outfame", secret=SECRET))
        # The checks' process counts a delivery a moment after answering it.
        wait_for(lambda: counted(scrape(metrics_port)) == (8, 1))
        metrics = scrape(metrics_port)
    finally:
        exit_code = monitor.stop()
    assert exit_code == 0, monitor.output()
    return config, metrics


def test_every_promise_shows_in_the_metrics(ran):
    _, metrics = ran
    for (promise, target), ok in [*((k, 0.0) for k in BROKEN), *((k, 1.0) for k in KEPT)]:
        for family in FAMILIES:
            assert promise_ok(metrics, promise, target, family) == ok, (promise, target, family)
            result = "kept" if ok else "broken"
            checks = sample(
                metrics,
                "uptime_sla_promise_checks_total",
                promise=promise,
                target=target,
                ip_family=family,
                result=result,
            )
            assert checks >= 1


def test_every_delivery_shows_in_the_metrics(ran):
    _, metrics = ran

    def deliveries(attempt: str, result: str) -> float:
        return sample(
            metrics,
            "uptime_sla_webhook_deliveries_total",
            receiver="outfame-webhooks",
            attempt=attempt,
            result=result,
        )

    assert deliveries("first", "accepted") == 3  # evt_1, evt_3, evt_5
    assert deliveries("first", "rejected") == 2  # evt_2, evt_4: failed on purpose
    assert deliveries("retry", "accepted") == 2
    assert deliveries("first", "bad_signature") == 1
    hooks = {"receiver": "outfame-webhooks"}
    assert sample(metrics, "uptime_sla_webhook_duplicates_total", **hooks) == 1
    assert sample(metrics, "uptime_sla_webhook_delivery_seconds_count", **hooks) == 5
    assert sample(metrics, "uptime_sla_webhook_delivery_seconds_bucket", le="5.0", **hooks) == 4
    retry = {**hooks, "retry": "1"}
    assert sample(metrics, "uptime_sla_webhook_retry_delay_seconds_count", **retry) == 2


def test_the_alerts_fire_for_what_the_metrics_say_is_broken(ran, tmp_path: Path):
    """The generated rules, fed the series /metrics had: PromiseBroken for each broken
    promise, WebhookPromiseBroken for 4 of 5 first attempts on time (promise: 99.7 %)."""
    config, metrics = ran
    rules = uptime_sla("-c", str(config), "rules")
    assert rules.returncode == 0, rules.stderr
    groups = yaml.safe_load(rules.stdout)
    for group in groups["groups"]:  # labels are compared; the texts are test_rules.py's
        for rule in group["rules"]:
            rule.pop("annotations", None)
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(groups))
    series = [
        {"series": _series(name, labels), "values": f"{value:g}x10"}
        for (name, labels), value in metrics.items()
        if name == "uptime_sla_promise_ok"
    ]
    series += [
        {"series": _series(name, labels), "values": f"0 {value:g}x10"}  # from zero, at start
        for (name, labels), value in metrics.items()
        if name.startswith("uptime_sla_webhook_delivery_seconds_")
    ]
    broken = [
        {
            "exp_labels": {
                "severity": "warning",
                "service": target,
                "promise": promise,
                "target": target,
                "ip_family": family,
            }
        }
        for promise, target in sorted(BROKEN)
        for family in FAMILIES
    ]
    late = {"exp_labels": {"severity": "warning", "receiver": "outfame-webhooks"}}
    (tmp_path / "test.yml").write_text(
        yaml.safe_dump(
            {
                "rule_files": ["rules.yml"],
                "evaluation_interval": "1m",
                "tests": [
                    {
                        "interval": "1m",
                        "input_series": series,
                        "alert_rule_test": [
                            {"eval_time": "5m", "alertname": "PromiseBroken", "exp_alerts": broken},
                            {
                                "eval_time": "5m",
                                "alertname": "WebhookPromiseBroken",
                                "exp_alerts": [late],
                            },
                        ],
                    }
                ],
            }
        )
    )
    result = run_tool(PROMTOOL or "promtool", "test", "rules", "test.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def _series(name: str, labels: frozenset[tuple[str, str]]) -> str:
    inner = ", ".join(f'{key}="{value}"' for key, value in sorted(labels))
    return f"{name}{{{inner}}}"


def test_report_promises_says_what_was_kept_and_broken(ran, tmp_path: Path):
    config, _ = ran
    month = datetime.now(UTC).strftime("%Y-%m")  # the month still running: to date
    out = {}
    for fmt in ("json", "md", "html"):
        path = tmp_path / f"promises.{fmt}"
        done = uptime_sla(
            "-c", str(config), "report", "--promises", "--month", month, "--format", fmt,
            "-o", str(path),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        out[fmt] = path.read_text()

    report = json.loads(out["json"])
    verdicts = {(p["promise"], p["target"], p["ip_family"]): p["kept"] for p in report["promises"]}
    for promise, target in BROKEN:
        for family in FAMILIES:
            assert verdicts[(promise, target, family)] is False
    for promise, target in KEPT:
        for family in FAMILIES:
            assert verdicts[(promise, target, family)] is True
    (hooks,) = report["webhook_receivers"]
    assert (hooks["first_attempts"], hooks["first_attempts_within"]) == (5, 4)
    assert (hooks["kept"], hooks["duplicates"], report["final"]) == (False, 1, False)
    assert hooks["retries"][0]["observed"] == 2
    assert hooks["retries"][0]["on_schedule"] is False  # retried at once, not after 1 min
    broken_legacy = next(
        p for p in report["promises"] if (p["promise"], p["target"]) == ("tls_only", "legacy")
    )
    assert broken_legacy["broken"][0]["detail"] == (
        "a handshake offering at most TLS 1.2 succeeded (TLSv1.2)"
    )

    for fmt in ("md", "html"):
        assert "plaintext_rejected, retry_after_on_429, tls_only" in out[fmt]
        assert "a handshake offering at most TLS 1.2 succeeded" in out[fmt]
        assert "4 within 5 s" in out[fmt]
        assert "not final" in out[fmt]
