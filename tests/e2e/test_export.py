"""`uptime-sla export` then `import` into an empty database gives the same reports, byte for
byte: on SQLite and PostgreSQL, over both families, two locations, rate-limited probes and
failures of every reason."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support import history
from support.history import Outage, utc

from monitor.cli import main
from monitor.probing.results import Reason

NOW = datetime(2026, 4, 1, tzinfo=UTC)
REASONS = [reason.value for reason in Reason]


def outages() -> list[Outage]:
    """One 20-minute failure per reason, alternating families, a day apart, and an hour of
    429s: every outcome a probe can have."""
    found = [
        Outage(
            "api-health" if n % 2 else "search",
            ("ipv4", "ipv6")[n % 2],
            utc(2026, 2, 2 + n, 10),
            utc(2026, 2, 2 + n, 10, 20),
            reason,
        )
        for n, reason in enumerate(REASONS)
    ]
    found.append(Outage("search", "ipv4", utc(2026, 2, 20, 8), utc(2026, 2, 20, 9), "rate_limited"))
    return found


def config(path: Path, url: str) -> Path:
    path.write_text(
        textwrap.dedent(f"""\
        location: eu-west
        storage: {{url: "{url}"}}
        defaults: {{interval: 300s}}
        targets:
          - {{name: api-health, url: "https://api.example/health", service: public-api}}
          - {{name: search, url: "https://api.example/search", service: public-api}}
        plans: {{pro: {{objective: 99.9, credits: [{{below: 99.9, percent: 10}}]}}}}
        contracts:
          - {{customer: acme, plan: pro, service: public-api, monthly_fee: "500.00",
              start: 2026-01-01}}
        """)
    )
    return path


def run(*args: str) -> int:
    return main(list(args), clock=lambda: NOW)


def report(cfg: Path, capfd: pytest.CaptureFixture[str]) -> str:
    capfd.readouterr()
    assert run("-c", str(cfg), "report", "--month", "2026-02") == 0
    return capfd.readouterr().out


@pytest.fixture(scope="module")
def probes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rows = history.probes(
        ("api-health", "search"),
        utc(2026, 1, 31),
        utc(2026, 3, 1, 12),
        outages(),
        locations=("eu-west", "us-east"),
    )
    # Odd times too: microseconds, and latencies that are no short decimal.
    rows[5] = history.Row(
        rows[5].time + timedelta(microseconds=123_457),
        *rows[5].cells()[1:4],
        True,
        200,
        0.1 + 0.2,
        "",
    )
    return history.write_csv(tmp_path_factory.mktemp("probes") / "history.csv", rows)


def round_trip(first: Path, second: Path, probes: Path, capfd, tmp_path: Path) -> None:
    assert run("-c", str(first), "import", str(probes)) == 0
    before = report(first, capfd)
    exported = tmp_path / "export.csv"
    assert run("-c", str(first), "export", "-o", str(exported)) == 0
    assert run("-c", str(second), "import", str(exported)) == 0
    after = report(second, capfd)
    assert after == before
    again = tmp_path / "again.csv"
    assert run("-c", str(second), "export", "-o", str(again)) == 0
    assert again.read_bytes() == exported.read_bytes()
    lines = exported.read_text().splitlines()
    assert lines[0] == ",".join(history.HEADER)
    assert len(lines) - 1 == len(probes.read_text().splitlines()) - 1  # every probe, once
    times = [datetime.fromisoformat(line.split(",", 1)[0]) for line in lines[1:]]
    assert times == sorted(times)  # oldest first
    assert "T00:00:07.123457Z," in exported.read_text()
    for reason in [*REASONS, "rate_limited"]:
        assert f",{reason}\n" in exported.read_text(), reason
    assert ",us-east," in lines[1] or ",us-east," in lines[2]


def test_an_export_imported_into_an_empty_sqlite_database_gives_the_same_report(
    probes, capfd, tmp_path
):
    first = config(tmp_path / "a.yaml", f"sqlite:///{tmp_path / 'a.db'}")
    second = config(tmp_path / "b.yaml", f"sqlite:///{tmp_path / 'b.db'}")
    round_trip(first, second, probes, capfd, tmp_path)


@pytest.mark.postgres
def test_an_export_imported_into_an_empty_postgresql_database_gives_the_same_report(
    probes, capfd, tmp_path, postgres_server
):
    first = config(tmp_path / "a.yaml", postgres_server.create_database("export_a"))
    second = config(tmp_path / "b.yaml", postgres_server.create_database("export_b"))
    round_trip(first, second, probes, capfd, tmp_path)


def test_export_keeps_a_time_span_and_the_named_targets(probes, capfd, tmp_path):
    cfg = config(tmp_path / "a.yaml", f"sqlite:///{tmp_path / 'a.db'}")
    assert run("-c", str(cfg), "import", str(probes)) == 0
    capfd.readouterr()
    args = ["--from", "2026-02-10T10:00:00Z", "--to", "2026-02-10T10:20:00+00:00"]
    assert run("-c", str(cfg), "export", *args, "--target", "search") == 0
    lines = capfd.readouterr().out.splitlines()[1:]
    assert len(lines) == 4 * 2 * 2  # 4 rounds x 2 families x 2 locations
    assert {line.split(",")[1] for line in lines} == {"search"}
    assert lines[0].startswith("2026-02-10T10:00:07Z,")
    assert lines[-1].startswith("2026-02-10T10:15:07Z,")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "nope"], "--target: no target named 'nope'"),
        (["--from", "yesterday"], "--from: 'yesterday' is not an RFC 3339 time"),
        (["--to", "2026-02-10T10:00:00"], "--to: '2026-02-10T10:00:00' is not an RFC 3339 time"),
    ],
)
def test_bad_export_arguments_are_one_line_and_exit_2(tmp_path, capfd, args, message):
    cfg = config(tmp_path / "a.yaml", f"sqlite:///{tmp_path / 'a.db'}")
    assert run("-c", str(cfg), "export", *args) == 2
    assert message in capfd.readouterr().err
