"""`uptime-sla import` then `report`: the spec's own example month, through the command line."""

from __future__ import annotations

import csv
import json
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support import spec_example as example

from monitor.cli import main

OUTAGE_START = datetime(2026, 2, 17, 9, 0, tzinfo=UTC)  # ipv6 fails for 20 minutes


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "uptime-sla.yaml"
    path.write_text(
        textwrap.dedent(f"""\
        location: us-west-2
        storage: {{url: "sqlite:///{tmp_path / "sla.db"}"}}
        defaults: {{interval: 60s}}
        targets:
          - {{name: api-health, url: "https://api.outfame.com/v1/health", service: public-api}}
        plans:
          enterprise: {{objective: 99.99}}
        contracts:
          - customer: acme
            plan: enterprise
            service: public-api
            monthly_fee: "12000.00"
            currency: USD
            start: 2026-01-01
            credits: [{{below: 99.99, percent: 10}}, {{below: 99.9, percent: 25}}, {{below: 99.0, percent: 50}}]
        maintenance:
          - {{start: 2026-02-10T02:00:00Z, end: 2026-02-10T03:00:00Z, targets: [api-health]}}
        """)
    )
    return path


@pytest.fixture
def february(tmp_path: Path) -> Path:
    """One probe a minute per family for February 2026 (plus a day either side)."""
    path = tmp_path / "february.csv"
    start = datetime(2026, 1, 31, tzinfo=UTC)
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(
            [
                "time",
                "target",
                "family",
                "location",
                "success",
                "status_code",
                "latency_ms",
                "reason",
            ]
        )
        for minute in range(30 * 24 * 60):
            when = start + timedelta(minutes=minute, seconds=7)
            for family in ("ipv4", "ipv6"):
                down = family == "ipv6" and timedelta(0) <= when - OUTAGE_START < timedelta(
                    minutes=20
                )
                out.writerow(
                    [
                        when.isoformat().replace("+00:00", "Z"),
                        "api-health",
                        family,
                        "us-west-2",
                        "false" if down else "true",
                        "" if down else "200",
                        "" if down else "42.0",
                        "timeout" if down else "",
                    ]
                )
    return path


def test_the_spec_example_month_reports_exactly_the_spec_figures(
    config, february, tmp_path, capsys
):
    assert main(["-c", str(config), "import", str(february)]) == 0
    out = tmp_path / "report.json"
    assert main(["-c", str(config), "report", "--month", "2026-02", "-o", str(out)]) == 0
    report = json.loads(out.read_text())
    # The spec's example month (tests/support/spec_example.py), IPv6 down 20 minutes:
    # 99.950323 %, 10 % of 12,000.00 = 1,200.00 USD; its 40 probes timed out.
    assert report["targets"] == [example.target_row(down="ipv6")]
    assert report["contracts"] == [example.CONTRACT_ROW]
    assert report["customers"] == example.CUSTOMERS
    assert report["incidents"] == [
        example.incident_row(
            "2026-02-17T09:00:00Z", "2026-02-17T09:20:00Z", "ipv6", {"timeout": 20}
        )
    ]
    assert (report["month"], report["timezone"], report["slice_seconds"]) == ("2026-02", "UTC", 60)


def test_reimporting_changes_no_figure(config, february, tmp_path, capsys):
    def clock() -> datetime:  # the report says when it was issued
        return datetime(2026, 3, 2, tzinfo=UTC)

    assert main(["-c", str(config), "import", str(february)]) == 0
    capsys.readouterr()
    assert main(["-c", str(config), "report", "--month", "2026-02"], clock=clock) == 0
    first = capsys.readouterr().out
    assert main(["-c", str(config), "import", str(february)]) == 0
    assert "0 new probes stored" in capsys.readouterr().out
    assert main(["-c", str(config), "report", "--month", "2026-02"], clock=clock) == 0
    assert capsys.readouterr().out == first


def test_the_csv_report_has_one_row_per_contract(config, february, capsys):
    assert main(["-c", str(config), "import", str(february)]) == 0
    capsys.readouterr()
    assert main(["-c", str(config), "report", "--month", "2026-02", "--format", "csv"]) == 0
    rows = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    assert [(r["customer"], r["breach"], r["credit_amount"]) for r in rows] == [
        ("acme", "true", "1200.00")
    ]


@pytest.mark.parametrize("month", ["2026-13", "26-02", "2026-2", "february"])
def test_a_bad_month_argument_exits_2(config, capsys, month):
    assert main(["-c", str(config), "report", "--month", month]) == 2
    assert "--month" in capsys.readouterr().err


def test_an_unknown_format_exits_2_without_writing(config, tmp_path, capsys):
    out = tmp_path / "r.xlsx"
    assert (
        main(
            ["-c", str(config), "report", "--month", "2026-02", "--format", "xlsx", "-o", str(out)]
        )
        == 2
    )
    assert not out.exists()
    assert capsys.readouterr().err.count("\n") == 1
