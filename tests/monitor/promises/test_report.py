"""`report --promises`: a month of stored checks and deliveries as JSON, Markdown and HTML,
held to golden files (UPDATE_GOLDEN=1 rewrites them), and its command line."""

from __future__ import annotations

import json
import os
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.commands import uptime_sla

from monitor.config import load_config
from monitor.promises.report import month_promises, render_report
from monitor.store import Store
from monitor.store.promises import Classified
from sla.promises import DUPLICATE, FIRST, RETRY, CheckRun

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "promises"
NOW = datetime(2026, 4, 2, 9, 30, tzinfo=UTC)
MARCH = datetime(2026, 3, 1, tzinfo=UTC)

CONFIG = textwrap.dedent(
    """\
    location: lab
    storage: {url: "sqlite:///DATABASE"}
    sla: {timezone: Europe/Berlin}
    defaults: {promises: {every: 1h}, families: [ipv4, ipv6]}
    targets:
      - {name: api-health, url: "https://api.outfame.test/v1/health"}
      - {name: api-search, url: "https://api.outfame.test/v1/search", families: [ipv4],
         promises: {tls_only: false, both_families: false}}
    webhook_receivers:
      - {name: outfame-webhooks, path: /hooks/outfame, listen: "127.0.0.1:8091",
         sent_at_field: created_at}
    """
)


def run(promise: str, target: str, family: str, kept: bool, day: int, hours: int, detail: str):
    first = MARCH + timedelta(days=day - 1, hours=7)
    return CheckRun(
        promise,
        target,
        family,
        "lab",
        kept,
        first,
        first + timedelta(hours=hours - 1),
        hours,
        detail,
    )


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "uptime-sla.yaml"
    path.write_text(CONFIG.replace("DATABASE", str(tmp_path / "uptime-sla.db")))
    return path


@pytest.fixture
def march(config_path: Path) -> Path:
    """A March with a plaintext redirect for three hours, 429s without Retry-After, and
    a receiver's first attempts (two late), retries and a duplicate."""
    config = load_config(config_path)
    store = Store(config.storage.url)
    try:
        store.promises.write_promise_runs(
            [
                (None, run("tls_only", "api-health", "ipv4", True, 1, 744, "refused")),
                (None, run("plaintext_rejected", "api-health", "ipv4", True, 1, 200, "403")),
                (
                    None,
                    run(
                        "plaintext_rejected",
                        "api-health",
                        "ipv4",
                        False,
                        10,
                        3,
                        "plaintext request on port 80 answered 301 <script>alert(1)</script>",
                    ),
                ),
                (
                    None,
                    run(
                        "retry_after_on_429",
                        "api-search",
                        "ipv4",
                        False,
                        12,
                        2,
                        "429 without a valid Retry-After",
                    ),
                ),
                (
                    None,
                    run(
                        "both_families", "api-health", "ipv6", True, 1, 744, "has an address (ipv6)"
                    ),
                ),
            ]
        )
        received = MARCH + timedelta(days=5)
        for number in range(400):
            late = number in (17, 300)
            found = Classified(FIRST, 200, latency_seconds=62.5 if late else 0.4 + number / 1000)
            store.promises.record_delivery(
                "outfame-webhooks", f"evt_{number}", received, lambda _s, f=found: f
            )
        for number, delay in enumerate((59.8, 61.2, 64.0)):
            found = Classified(RETRY, 200, retry=1, delay_seconds=delay)
            store.promises.record_delivery(
                "outfame-webhooks", f"evt_{number}", received, lambda _s, f=found: f
            )
        duplicate = Classified(DUPLICATE, 200)
        store.promises.record_delivery("outfame-webhooks", "evt_5", received, lambda _s: duplicate)
    finally:
        store.close()
    return config_path


def rendered(config_path: Path, fmt: str) -> str:
    config = load_config(config_path)
    store = Store.existing(config.storage.url)
    try:
        report = month_promises(config, store, 2026, 3, NOW)
    finally:
        store.close()
    return render_report(report, fmt).decode()


@pytest.mark.parametrize("fmt", ["json", "md", "html"])
def test_the_promise_report_of_a_month_matches_its_golden_file(march: Path, fmt: str):
    text = rendered(march, fmt)
    golden = GOLDEN / f"report.{fmt}"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text)
    assert text == golden.read_text()


def test_the_json_carries_each_verdict(march: Path):
    report = json.loads(rendered(march, "json"))
    verdicts = {(p["promise"], p["target"], p["ip_family"]): p["kept"] for p in report["promises"]}
    assert verdicts == {
        ("tls_only", "api-health", "ipv4"): True,
        ("plaintext_rejected", "api-health", "ipv4"): False,
        ("retry_after_on_429", "api-health", "ipv4"): None,  # no 429 seen: no verdict
        ("both_families", "api-health", "ipv4"): None,
        ("tls_only", "api-health", "ipv6"): None,
        ("plaintext_rejected", "api-health", "ipv6"): None,
        ("retry_after_on_429", "api-health", "ipv6"): None,
        ("both_families", "api-health", "ipv6"): True,
        ("plaintext_rejected", "api-search", "ipv4"): None,
        ("retry_after_on_429", "api-search", "ipv4"): False,
    }
    (hooks,) = report["webhook_receivers"]
    assert (hooks["first_attempts"], hooks["first_attempts_within"]) == (400, 398)
    assert hooks["first_attempt_percent"] == 99.5
    assert hooks["kept"] is False
    assert hooks["retries"][0]["on_schedule"] is True
    assert hooks["duplicates"] == 1
    assert (report["final"], report["reference"]) == (True, "PROMISES-2026-03")


def test_operator_and_server_text_is_escaped_in_html(march: Path):
    page = rendered(march, "html")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_report_promises_on_the_command_line(march: Path, tmp_path: Path):
    out = tmp_path / "march.md"
    done = uptime_sla(
        "-c",
        str(march),
        "report",
        "--promises",
        "--month",
        "2026-03",
        "--format",
        "md",
        "-o",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    assert out.read_text().startswith("# Promise report — March 2026 (Europe/Berlin)\n")
    default = uptime_sla("-c", str(march), "report", "--promises")
    assert default.returncode == 0, default.stderr
    assert json.loads(default.stdout)["month"] < datetime.now(UTC).strftime("%Y-%m")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--format", "csv"],
            "report --promises: --format csv is not available (json, md or html)",
        ),
        (["--customer", "acme"], "report --promises: one month only, not with --customer"),
        (["--quarter", "2026-Q1"], "report --promises: one month only, not with --quarter"),
        (["--month", "2026-13"], "--month: '2026-13' is not YYYY-MM"),
    ],
)
def test_report_promises_refuses_what_it_cannot_do(march: Path, args, message):
    done = uptime_sla("-c", str(march), "report", "--promises", *args)
    assert done.returncode == 2
    assert done.stderr == f"uptime-sla: error: {message}\n"


def test_report_promises_needs_a_database(config_path: Path):
    done = uptime_sla("-c", str(config_path), "report", "--promises")
    assert done.returncode == 2
    assert "no database at" in done.stderr
