"""The public interface as the acceptance suite sees it: a config, `uptime-sla` commands and
the JSON report, checked against hand-computed figures for one small February.

The month (February 2026, 40,320 one-minute slices, UTC) holds:
- `api` (service `public`, ipv4, probed every 60 s, so stale_after is 120 s): a probe each
  minute 00:00-00:09 of Feb 2, minutes 3-5 failed, minute 6 answered 429. Slice 00:10 carries
  the 00:09 probe (60 s old); 00:11 finds it exactly 120 s old, too old: NO_DATA. So 11
  eligible slices, 3 bad: 72.727273 %.
- `solo` (no service: its own service `solo`, ipv4, default interval 30 s, stale 60 s): one
  failed probe at 00:00:30. Slices 00:00 and 00:01 are BAD, but a one-second maintenance
  window at 00:01:59 excludes 00:01: 1 eligible, 1 bad, 1 excluded.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from monitor.cli import main

HEADER = "time,target,family,location,success,status_code,latency_ms,reason"
RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "uptime-sla.yaml"
    path.write_text(
        textwrap.dedent(f"""\
        location: here
        storage: {{url: "sqlite:///{tmp_path / "sla.db"}"}}
        defaults: {{families: [ipv4]}}
        targets:
          - {{name: api, url: "https://api.example.test/", service: public, interval: 1m}}
          - {{name: solo, url: "https://solo.example.test/"}}
        plans:
          pro: {{objective: 99.9, credits: [{{below: 99.9, percent: 10}}, {{below: 99, percent: 25}}]}}
        contracts:
          - {{customer: acme, display_name: Acme Corp., plan: pro, service: public,
              monthly_fee: "1200.00", currency: USD, start: 2026-01-01}}
          - {{customer: solo-co, plan: pro, service: solo, monthly_fee: 1000, currency: JPY,
              start: "2026-02-15T00:00:00Z"}}
          - {{customer: gone, plan: pro, service: public, monthly_fee: 5, start: 2025-01-01,
              end: 2026-02-01}}
        maintenance:
          - {{start: "2026-02-02T00:01:59Z", end: "2026-02-02T00:02:00Z", targets: [solo],
              reason: reboot}}
        """)
    )
    rows = [HEADER]
    for minute in range(10):
        outcome = "true,200,12.5,"
        if minute in (3, 4, 5):
            outcome = "false,,,timeout"
        elif minute == 6:
            outcome = "true,429,,rate_limited"
        rows.append(f"2026-02-02T00:{minute:02d}:00Z,api,ipv4,here,{outcome}")
    rows.append("2026-02-02T01:00:30+01:00,solo,ipv4,there,false,503,8,status")
    history = tmp_path / "history.csv"
    history.write_text("\n".join(rows) + "\n")
    assert main(["import", str(history), "-c", str(path)]) == 0
    return path


def report(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    capsys.readouterr()
    assert main(["report", "-c", str(config), "--month", "2026-02", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_json_report_has_the_spec_fields_types_and_figures(config, capsys):
    data = report(config, capsys)
    assert (data["month"], data["timezone"], data["slice_seconds"]) == ("2026-02", "UTC", 60)
    assert data["complete"] is False
    api, solo = data["targets"]
    assert api == {
        "name": "api",
        "service": "public",
        "availability_percent": 72.727273,
        "eligible_slices": 11,
        "bad_slices": 3,
        "no_data_slices": 40320 - 11,
        "excluded_slices": 0,
        "coverage_percent": 0.027282,
        "families": {"ipv4": {"availability_percent": 72.727273, "coverage_percent": 0.027282}},
    }
    assert solo["service"] == "solo"  # a target without service is its own service
    assert (solo["eligible_slices"], solo["bad_slices"], solo["excluded_slices"]) == (1, 1, 1)
    assert solo["coverage_percent"] == 0.00248  # 1 of the 40,319 slices not excluded

    acme, solo_co = data["contracts"]  # config order; `gone` ended before February
    assert acme == {
        "customer": "acme",
        "display_name": "Acme Corp.",
        "plan": "pro",
        "service": "public",
        "period_start": "2026-02-01T00:00:00Z",
        "period_end": "2026-03-01T00:00:00Z",
        "availability_percent": 72.727273,
        "objective_percent": 99.9,
        "eligible_slices": 11,
        "bad_slices": 3,
        "coverage_percent": 0.027282,
        "complete": False,
        "breach": True,
        "budget_remaining_slices": -2.989,
        "monthly_fee": "1200.00",
        "prorated_fee": "1200.00",
        "credit_rule": {"below": "99", "percent": "25"},  # the lowest threshold it is below
        "credit_percent": "25",
        "uncapped_amount": "300.00",
        "credit_capped": False,
        "credit_amount": "300.00",
        "currency": "USD",
    }
    assert solo_co["display_name"] is None
    assert solo_co["period_start"] == "2026-02-15T00:00:00Z"
    assert (solo_co["eligible_slices"], solo_co["availability_percent"]) == (0, None)
    assert (solo_co["breach"], solo_co["credit_amount"]) == (False, "0")  # JPY: no minor unit
    assert data["customers"] == [
        {"customer": "acme", "credit_total": "300.00", "currency": "USD"},
        {"customer": "solo-co", "credit_total": "0", "currency": "JPY"},
    ]
    # Each incident names the families and the reasons of the failed probes inside it.
    assert data["incidents"] == [
        {"start": "2026-02-02T00:00:00Z", "end": "2026-02-02T00:01:00Z", "slices": 1,
         "targets": ["solo"], "families": ["ipv4"], "reasons": {"status": 1}, "ongoing": False},
        {"start": "2026-02-02T00:03:00Z", "end": "2026-02-02T00:06:00Z", "slices": 3,
         "targets": ["api"], "families": ["ipv4"], "reasons": {"timeout": 3}, "ongoing": False},
    ]  # fmt: skip
    assert data["maintenance"] == [
        {"start": "2026-02-02T00:01:59Z", "end": "2026-02-02T00:02:00Z", "reason": "reboot",
         "targets": ["solo"], "excluded_slices": 1},
    ]  # fmt: skip
    for entry in data["contracts"] + data["incidents"] + data["maintenance"]:
        for key in ("period_start", "period_end", "start", "end"):
            assert key not in entry or RFC3339_UTC.match(entry[key])


def test_a_statement_holds_only_its_customers_services(config, capsys):
    data = report(config, capsys, "--customer", "acme")
    assert [t["name"] for t in data["targets"]] == ["api"]
    assert [c["customer"] for c in data["contracts"]] == ["acme"]
    assert data["customers"] == [{"customer": "acme", "credit_total": "300.00", "currency": "USD"}]
    assert [i["targets"] for i in data["incidents"]] == [["api"]]
    assert data["maintenance"] == []


def test_a_customer_without_a_contract_in_the_month_gets_an_empty_statement(config, capsys):
    data = report(config, capsys, "--customer", "gone")
    assert (data["targets"], data["contracts"], data["customers"]) == ([], [], [])


def test_an_unknown_customer_and_an_incomplete_strict_report_have_their_exit_codes(config, capsys):
    base = ["report", "-c", str(config), "--month", "2026-02"]
    assert main([*base, "--customer", "nobody"]) == 2
    assert main([*base, "--strict"]) == 3
    err = capsys.readouterr().err
    assert "nobody" in err
    assert "incomplete" in err.lower()


def test_the_csv_report_ends_every_line_alike(config, capsys):
    capsys.readouterr()
    assert main(["report", "-c", str(config), "--month", "2026-02", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.split("\n")
    assert lines[0].startswith("month,reference,complete,final,")  # never a comment line
    assert lines[-1] == ""
    assert all(line.endswith("\r") for line in lines[:-1])


@pytest.mark.parametrize(
    ("row", "line_names"),
    [
        ("2026-02-03T00:00:00Z,api,ipv4,here,false,429,,rate_limited", "reason"),
        ("2026-02-03T00:00:00Z,api,ipv4,here,true,,,local", "reason"),
        ("2026-02-03T00:00:00Z,nowhere,ipv4,here,true,200,1,", "target"),
    ],
)
def test_an_impossible_import_row_exits_2_naming_its_line(
    config, tmp_path, capsys, row, line_names
):
    bad = tmp_path / "bad.csv"
    bad.write_text(f"{HEADER}\n2026-02-03T00:00:00Z,api,ipv6,here,true,200,1,\n{row}\n")
    assert main(["import", str(bad), "-c", str(config)]) == 2
    assert f"bad.csv:3: {line_names}" in capsys.readouterr().err
    assert report(config, capsys)["targets"][0]["eligible_slices"] == 11  # nothing stored


def test_every_default_key_and_duration_form_is_accepted_on_a_target(tmp_path, capsys):
    path = tmp_path / "keys.yaml"
    path.write_text(
        textwrap.dedent("""\
        defaults: {interval: 30s, timeout: 10s, families: [ipv4, ipv6], expect_status: ["200-299"]}
        targets:
          - {name: a, url: "https://a.example.test/", interval: 5m, timeout: 1h,
             families: [ipv6], expect_status: ["200-299", 404]}
          - {name: b, url: "https://b.example.test/", interval: 45, timeout: 2.5}
        """)
    )
    assert main(["check-config", "-c", str(path)]) == 0
    assert not (tmp_path / "uptime-sla.db").exists()


@pytest.mark.parametrize("quorum", ["0", "most", "2.5", "true"])
def test_a_bad_location_quorum_says_what_it_accepts(tmp_path, capsys, quorum):
    path = tmp_path / "quorum.yaml"
    path.write_text(f"sla:\n  location_quorum: {quorum}\n")
    assert main(["check-config", "-c", str(path)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"uptime-sla: error: {path}:2: sla.location_quorum: "
        "must be majority or a whole number of locations (1 to 1000)"
    )


@pytest.mark.parametrize(("counts_as", "code"), [("up", 0), ("down", 1)])
def test_probe_exits_1_when_a_rate_limited_answer_counts_as_down(
    https_server, tmp_path, capsys, counts_as, code
):
    server = https_server()
    server.route("/", status=429, headers={"Retry-After": "5"})
    fields = server.target_fields("/", families=["ipv4"])
    path = tmp_path / "probe.yaml"
    path.write_text(
        json.dumps(
            {
                "sla": {"rate_limited_counts_as": counts_as},
                "targets": [{"name": "limited", "families": ["ipv4"], **fields}],
            }
        )
    )
    assert main(["probe", "-c", str(path)]) == code
    assert re.search(r"^limited\s+ipv4\s+rate_limited\s+429", capsys.readouterr().out, re.M)


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("- a list\n", "", "must be a mapping of keys to values"),
        ("sla: [1]\n", ":1: sla", "must be a mapping of keys to values"),
        ("targets:\n  - 5\n", ":2: targets[0]", "must be a mapping of keys to values"),
        ("targets: {a: 1}\n", ":1: targets", "must be a list"),
    ],
)
def test_a_config_of_the_wrong_shape_says_so_in_plain_words(tmp_path, capsys, text, where, message):
    path = tmp_path / "shape.yaml"
    path.write_text(text)
    assert main(["check-config", "-c", str(path)]) == 2
    assert capsys.readouterr().err.strip() == f"uptime-sla: error: {path}{where}: {message}"
