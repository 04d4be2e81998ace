"""`uptime-sla import`: all rows or none, idempotent, errors that name the line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from monitor import importer
from monitor.cli import main
from monitor.store import Store

HEADER = "time,target,family,location,success,status_code,latency_ms,reason\n"
GOOD_ROWS = (
    "2026-02-01T00:00:00Z,api,ipv4,eu,true,200,41.5,\n"
    "2026-02-01T00:00:30+00:00,api,ipv6,eu,false,,,connect\n"
    "2026-02-01T01:00:30+01:00,api,ipv4,us,true,429,12,rate_limited\n"
)


@pytest.fixture
def config_file(tmp_path: Path, database_url: str) -> Path:
    path = tmp_path / "uptime-sla.yaml"
    path.write_text(
        textwrap.dedent(f"""\
        storage: {{url: "{database_url}"}}
        targets:
          - {{name: api, url: "https://api.test/"}}
        """)
    )
    return path


def run_import(config: Path, csv_text: str, tmp_path: Path) -> int:
    csv_path = tmp_path / "history.csv"
    csv_path.write_text(csv_text)
    return main(["-c", str(config), "import", str(csv_path)])


def stored(database_url: str) -> list[tuple[str, str, str, bool, str | None]]:
    store = Store(database_url)
    try:
        return sorted(
            (r.started.isoformat(), r.family, r.location, r.success, r.reason)
            for r in store.results()
        )
    finally:
        store.close()


def test_import_stores_every_row_with_times_in_utc(config_file, tmp_path, database_url, capsys):
    assert run_import(config_file, HEADER + GOOD_ROWS, tmp_path) == 0
    assert "3 rows read, 3 new probes stored" in capsys.readouterr().out
    assert stored(database_url) == [
        ("2026-02-01T00:00:00+00:00", "ipv4", "eu", True, None),
        ("2026-02-01T00:00:30+00:00", "ipv4", "us", True, "rate_limited"),
        ("2026-02-01T00:00:30+00:00", "ipv6", "eu", False, "connect"),
    ]


def test_importing_the_same_file_twice_stores_nothing_new(
    config_file, tmp_path, database_url, capsys
):
    assert run_import(config_file, HEADER + GOOD_ROWS, tmp_path) == 0
    assert run_import(config_file, HEADER + GOOD_ROWS, tmp_path) == 0
    assert "3 rows read, 0 new probes stored" in capsys.readouterr().out
    assert len(stored(database_url)) == 3


BAD = [
    ("wrong header", "time,target,family\n" + GOOD_ROWS, ":1: header must be"),
    ("bad time", HEADER + GOOD_ROWS + "yesterday,api,ipv4,eu,true,200,1,\n", ":5: time:"),
    ("time without offset", HEADER + "2026-02-01T00:00:00,api,ipv4,eu,true,,,\n", ":2: time:"),
    (
        "unknown target",
        HEADER + GOOD_ROWS + "2026-02-01T00:02:00Z,web,ipv4,eu,true,,,\n",
        ":5: target: not defined in the config",
    ),
    ("bad family", HEADER + "2026-02-01T00:02:00Z,api,ipv5,eu,true,,,\n", ":2: family:"),
    ("bad success", HEADER + "2026-02-01T00:02:00Z,api,ipv4,eu,yes,,,\n", ":2: success:"),
    ("bad reason", HEADER + "2026-02-01T00:02:00Z,api,ipv4,eu,false,,,gremlins\n", ":2: reason:"),
    (
        "reason against success",
        HEADER + "2026-02-01T00:02:00Z,api,ipv4,eu,true,,,timeout\n",
        ":2: reason:",
    ),
    ("too few columns", HEADER + "2026-02-01T00:02:00Z,api,ipv4\n", ":2: expected 8 columns"),
    ("bad latency", HEADER + "2026-02-01T00:02:00Z,api,ipv4,eu,true,200,-3,\n", ":2: latency_ms:"),
]


@pytest.mark.parametrize(("case", "text", "message"), BAD, ids=[b[0] for b in BAD])
def test_a_malformed_csv_exits_2_naming_the_line_and_stores_nothing(
    config_file, tmp_path, database_url, capsys, case, text, message
):
    assert run_import(config_file, text, tmp_path) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"history.csv{message}" in err
    assert stored(database_url) == []


def test_a_bad_row_after_many_good_batches_still_leaves_nothing(
    config_file, tmp_path, database_url
):
    rows = "".join(
        f"2026-02-01T00:{m // 60:02d}:{m % 60:02d}Z,api,ipv4,eu,true,200,5,\n" for m in range(3000)
    )
    importer.BATCH_ROWS, saved = 500, importer.BATCH_ROWS
    try:
        assert run_import(config_file, HEADER + rows + "bad,api,ipv4,eu,true,,,\n", tmp_path) == 2
    finally:
        importer.BATCH_ROWS = saved
    assert stored(database_url) == []
