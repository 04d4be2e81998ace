"""The config file: the spec's example loads, and every mistake is one clear line, exit 2."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
from support.commands import COMMAND_PATIENCE

from monitor.cli import main
from monitor.config import load_config

SECRET = "sk-live-4f9a0c7e1d"

VALID = textwrap.dedent(
    """\
    location: us-west-2
    storage:
      url: sqlite:///uptime-sla.db
    metrics:
      listen: 127.0.0.1:9464
    defaults:
      interval: 30s
      timeout: 10s
      families: [ipv4, ipv6]
      expect_status: ["200-299"]
    targets:
      - name: api-health
        url: https://api.outfame.com/v1/health
        service: public-api
        headers: {Authorization: "Bearer ${OUTFAME_API_KEY}"}
        tls_min_version: "1.3"
        body_contains: '"status":"ok"'
        resolve: {ipv4: ["127.0.0.1"], ipv6: ["::1"]}
      - name: api-search
        url: https://api.outfame.com/v1/search
        interval: 1m
    sla:
      timezone: Europe/Berlin
      slice: 60s
      bad_slice_ratio: 0.5
      stale_after: null
      min_outage_slices: 1
      family_policy: any
      location_quorum: majority
      no_data: exclude
      rate_limited_counts_as: up
    plans:
      basic:      {objective: 99.5}
      pro:        {objective: 99.9,  credits: [{below: 99.9, percent: 10}]}
      turbo:      {objective: 99.95, credits: [{below: 99.95, percent: 25}]}
      enterprise: {objective: 99.99, max_credit_percent: 100}
    contracts:
      - customer: acme
        plan: enterprise
        service: public-api
        monthly_fee: "12000.00"
        currency: USD
        start: 2026-01-01
        end: null
        credits: [{below: 99.99, percent: 10}, {below: 99.9, percent: 25}, {below: 99.0, percent: 50}]
    maintenance:
      - start: 2026-02-10T02:00:00Z
        end: 2026-02-10T03:00:00Z
        targets: [api-health]
        reason: database upgrade
    """
)


@pytest.fixture
def write_config(tmp_path: Path):
    def write(text: str) -> Path:
        path = tmp_path / "uptime-sla.yaml"
        path.write_text(text)
        return path

    return write


@pytest.fixture
def refused(write_config, capsys):
    """check-config on VALID with `old` changed to `new` (or on `text`): exit 2 with one
    line naming the file, which it returns."""

    def check(old: str = "", new: str = "", text: str | None = None) -> str:
        if text is None:
            assert old in VALID
            text = VALID.replace(old, new, 1)
        config = write_config(text)
        assert main(["-c", str(config), "check-config"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        assert f"{config}" in err
        assert SECRET not in err
        return err

    return check


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTFAME_API_KEY", SECRET)


def test_the_spec_example_loads_with_defaults_folded_into_targets(write_config) -> None:
    config = load_config(write_config(VALID))
    health, search = config.targets
    assert health.headers == {"Authorization": f"Bearer {SECRET}"}
    assert (health.interval, health.timeout, health.families) == (30.0, 10.0, ("ipv4", "ipv6"))
    assert search.interval == 60.0
    assert search.service_name == "api-search"  # no service: a service of its own
    assert config.plans["turbo"].credits[0].percent == Decimal(25)
    assert config.contracts[0].monthly_fee == Decimal("12000.00")


def test_max_retry_after_is_five_minutes_unless_defaults_or_a_target_say_otherwise(
    write_config,
) -> None:
    assert [t.max_retry_after for t in load_config(write_config(VALID)).targets] == [300, 300]
    text = VALID.replace("timeout: 10s", "timeout: 10s\n  max_retry_after: 10m", 1)
    text = text.replace("interval: 1m", "interval: 1m\n    max_retry_after: 90s", 1)
    assert [t.max_retry_after for t in load_config(write_config(text)).targets] == [600, 90]


def test_a_contract_date_is_midnight_in_the_sla_time_zone(write_config) -> None:
    config = load_config(write_config(VALID))
    assert config.moment(config.contracts[0].start).isoformat() == "2025-12-31T23:00:00+00:00"


def test_check_config_accepts_a_good_file(write_config, capsys) -> None:
    assert main(["-c", str(write_config(VALID)), "check-config"]) == 0
    assert "ok (2 targets, 1 contracts" in capsys.readouterr().out


BROKEN = [
    # (what to change, text it becomes, the path the message must name)
    ("interval: 30s", "interval: 30 seconds", "defaults.interval"),
    (
        "url: https://api.outfame.com/v1/health",
        "url: http://api.outfame.com/v1/health",
        "targets[0].url",
    ),
    ("plan: enterprise", "plan: gold", "contracts[0].plan"),
    ("min_outage_slices: 1", "min_outage_slices: 0", "sla.min_outage_slices"),
    ("location_quorum: majority", "location_quorum: most", "sla.location_quorum"),
    ("timezone: Europe/Berlin", "timezone: Mars/Olympus", "sla.timezone"),
    ("targets: [api-health]", "targets: [api-nowhere]", "maintenance[0].targets[0]"),
    ('monthly_fee: "12000.00"', 'monthly_fee: "12k"', "contracts[0].monthly_fee"),
    ("families: [ipv4, ipv6]", "families: [ipv4, ipx]", "defaults.families[1]"),
    ("bad_slice_ratio: 0.5", "bad_slice_ratio: 1.5", "sla.bad_slice_ratio"),
    (
        "    credits: [{below: 99.99, percent: 10}, {below: 99.9, percent: 25}, "
        "{below: 99.0, percent: 50}]\n",
        "",
        "contracts[0].credits",
    ),
    ('expect_status: ["200-299"]', 'expect_status: ["299-200"]', "defaults.expect_status[0]"),
    ("no_data: exclude", "no_data: maybe", "sla.no_data"),
    (
        "reason: database upgrade",
        "reason: database upgrade\n    colour: blue",
        "maintenance[0].colour",
    ),
    ("end: 2026-02-10T03:00:00Z", "end: 2026-02-10T01:00:00Z", "maintenance[0]"),
    ("  - name: api-search", "  - name: api-health", "targets[1].name"),
    ('tls_min_version: "1.3"', 'tls_min_version: "1.0"', "targets[0].tls_min_version"),
    (
        'resolve: {ipv4: ["127.0.0.1"], ipv6: ["::1"]}',
        'resolve: {ipv4: ["::1"]}',
        "targets[0].resolve",
    ),
    ("currency: USD", "currency: dollars", "contracts[0].currency"),
    ("listen: 127.0.0.1:9464", "listen: everywhere", "metrics.listen"),
    ("timeout: 10s", "timeout: 10s\n  max_retry_after: 0s", "defaults.max_retry_after"),
    ("slice: 60s", "slice: 25h", "sla.slice"),
]


@pytest.mark.parametrize(
    ("old", "new", "path"), BROKEN, ids=[b[2] + "-" + b[1][:12] for b in BROKEN]
)
def test_a_broken_config_exits_2_with_one_line_naming_the_path(
    refused, old: str, new: str, path: str
) -> None:
    err = refused(old, new)
    assert "uptime-sla.yaml:" in err
    assert f" {path}" in err


@pytest.mark.parametrize("slice_text", ["1s", "7m", "2h", "1d", "86400"])
def test_every_slice_from_a_second_to_a_day_is_accepted(write_config, slice_text: str) -> None:
    config = load_config(write_config(VALID.replace("slice: 60s", f"slice: {slice_text}", 1)))
    assert 1 <= config.sla.slice <= 86400


def test_a_slice_longer_than_a_day_is_refused_saying_so(write_config, capsys) -> None:
    config = write_config(VALID.replace("slice: 60s", "slice: 86401", 1))
    assert main(["-c", str(config), "check-config"]) == 2
    assert capsys.readouterr().err.strip().endswith("sla.slice: must be at most 1d (86400 s)")


def test_a_missing_environment_variable_is_named_with_its_path(
    write_config, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OUTFAME_API_KEY")
    assert main(["-c", str(write_config(VALID)), "check-config"]) == 2
    assert "targets[0].headers.Authorization: environment variable OUTFAME_API_KEY is not set" in (
        capsys.readouterr().err
    )


def test_invalid_yaml_names_the_line(write_config, capsys) -> None:
    assert main(["-c", str(write_config("targets: [\n  - {name: a\n")), "check-config"]) == 2
    err = capsys.readouterr().err
    assert "invalid YAML" in err
    assert ":3:" in err or ":2:" in err


def test_a_duplicate_key_is_an_error_not_a_silent_override(write_config, capsys) -> None:
    assert main(["-c", str(write_config("location: a\nlocation: b\n")), "check-config"]) == 2
    assert "uptime-sla.yaml:2: location: duplicate key" in capsys.readouterr().err


def test_a_missing_file_is_a_clear_error(tmp_path: Path, capsys) -> None:
    assert main(["-c", str(tmp_path / "nope.yaml"), "check-config"]) == 2
    assert "nope.yaml: cannot read config" in capsys.readouterr().err


def test_a_bad_header_value_is_reported_without_echoing_any_value(write_config, capsys) -> None:
    broken = VALID.replace('body_contains: \'"status":"ok"\'', "body_contains: [1, 2]")
    assert main(["-c", str(write_config(broken)), "check-config"]) == 2
    err = capsys.readouterr().err
    assert "targets[0].body_contains" in err
    assert SECRET not in err


def test_the_command_line_fails_without_a_traceback(write_config) -> None:
    config = write_config(VALID.replace("slice: 60s", "slice: soon"))
    run = subprocess.run(
        [sys.executable, "-m", "monitor", "-c", str(config), "check-config"],
        capture_output=True,
        text=True,
        env={"OUTFAME_API_KEY": SECRET, "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert run.stderr.strip().endswith(
        "sla.slice: must be a duration such as 30s, 5m, 1h or a number of seconds"
    )


def test_the_config_file_comes_from_the_environment_when_not_given(
    write_config, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UPTIME_SLA_CONFIG", str(write_config(VALID)))
    assert main(["check-config"]) == 0


def test_a_quoted_midnight_time_stays_an_instant_and_a_date_is_local_midnight(write_config) -> None:
    text = VALID.replace("start: 2026-01-01", 'start: "2026-02-15T00:00:00Z"').replace(
        "end: null", 'end: "2026-03-10"'
    )
    config = load_config(write_config(text))
    contract = config.contracts[0]
    assert config.moment(contract.start).isoformat() == "2026-02-15T00:00:00+00:00"
    assert config.moment(contract.end).isoformat() == "2026-03-09T23:00:00+00:00"  # Berlin


# --- what check-config refuses (each of these was accepted, or misnamed, before) ----------


@pytest.mark.parametrize(
    "text", ["", "\n", "# only a comment\n", "{}\n", "location: here\n", "targets: []\n"]
)
def test_a_config_without_targets_is_refused(refused, text: str) -> None:
    assert "target" in refused(text=text)


HUGE = "99999999999999999999999"


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        ("interval: 30s", f"interval: {HUGE}", "defaults.interval"),
        ("interval: 1m", f"interval: {HUGE}", "targets[1].interval"),
        ("interval: 1m", "interval: 2d", "targets[1].interval"),
        ("timeout: 10s", f"timeout: {HUGE}s", "defaults.timeout"),
        ("timeout: 10s", "timeout: 10s\n  max_body_bytes: " + HUGE, "defaults.max_body_bytes"),
        ("stale_after: null", f"stale_after: {HUGE}", "sla.stale_after"),
        ("min_outage_slices: 1", f"min_outage_slices: {HUGE}", "sla.min_outage_slices"),
        ("location_quorum: majority", f"location_quorum: {HUGE}", "sla.location_quorum"),
        ('monthly_fee: "12000.00"', f"monthly_fee: {HUGE}", "contracts[0].monthly_fee"),
        ('monthly_fee: "12000.00"', 'monthly_fee: "1e30"', "contracts[0].monthly_fee"),
        ("below: 99.9, percent: 25", f"below: {HUGE}, percent: 25", "contracts[0].credits[1].below"),
        ("url: sqlite:///uptime-sla.db", f"url: sqlite:///x.db\n  buffer_limit: {HUGE}",
         "storage.buffer_limit"),
        ("url: sqlite:///uptime-sla.db", f"url: sqlite:///x.db\n  raw_retention: {HUGE}d",
         "storage.raw_retention"),
        ("listen: 127.0.0.1:9464", f"listen: 127.0.0.1:9464\n  sla_refresh: {HUGE}",
         "metrics.sla_refresh"),
    ],
    ids=lambda value: value if isinstance(value, str) and "." in value[:20] else None,
)  # fmt: skip
def test_a_number_out_of_its_range_is_refused_naming_it(
    refused, old: str, new: str, path: str
) -> None:
    err = refused(old, new)
    assert f" {path}: must be" in err, err


def test_run_refuses_an_interval_of_ten_to_the_twenty_seconds_instead_of_crashing(
    write_config,
) -> None:
    """`run` crashed with OverflowError (a timedelta of the interval) once check-config had
    passed the file."""
    config = write_config(VALID.replace("interval: 1m", "interval: 100000000000000000000"))
    run = subprocess.run(
        [sys.executable, "-m", "monitor", "-c", str(config), "run"],
        capture_output=True,
        text=True,
        timeout=COMMAND_PATIENCE,
        check=False,
    )
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    assert run.stderr.strip().endswith("targets[1].interval: must be at most 1d")


@pytest.mark.parametrize(
    ("old", "new", "line"),
    [
        ("objective: 99.5", "objectve: 99.5",
         "plans.basic.objectve: unknown key (did you mean objective?)"),
        ("slice: 60s", "slice: 60s\n  objectve: 99.9",
         "sla.objectve: unknown key (did you mean objective?)"),
        ("family_policy: any", "familly_policy: any",
         "sla.familly_policy: unknown key (did you mean family_policy?)"),
        ("interval: 30s", "intervall: 30s", "defaults.intervall: unknown key (did you mean interval?)"),
        ("reason: database upgrade", "reason: database upgrade\n    colour: blue",
         "maintenance[0].colour: unknown key"),
    ],
)  # fmt: skip
def test_an_unknown_key_is_named_with_the_nearest_known_one(
    refused, old: str, new: str, line: str
) -> None:
    """`objectve` was reported as "objective: is required"."""
    err = refused(old, new)
    assert line in err, err
    if line.endswith("unknown key"):
        assert "did you mean" not in err


@pytest.mark.parametrize(
    "url", ["mysql://u@127.0.0.1/sla", "oracle://u@db/sla", "postgresql+psycopg2://u@db/sla"]
)
def test_a_database_that_is_neither_sqlite_nor_postgresql_is_refused(refused, url: str) -> None:
    err = refused("url: sqlite:///uptime-sla.db", f"url: {url}")
    assert "storage.url: must be a SQLite or PostgreSQL URL" in err


def test_postgresql_without_its_driver_says_which_extra_to_install(
    refused, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It said "No module named 'psycopg'" once the store opened."""
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if the extra were not installed
    err = refused("url: sqlite:///uptime-sla.db", "url: postgresql+psycopg://sla@127.0.0.1/sla")
    assert "storage.url: PostgreSQL needs the psycopg driver" in err
    assert "pip install '.[postgres]'" in err
