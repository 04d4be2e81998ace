"""`uptime-sla import`: all rows or none, idempotent, errors that name the line; a
byte-order mark is no error, rows that disagree with stored probes are counted, and a
terminal sees progress."""

from __future__ import annotations

import codecs
import json
import math
import os
import pty
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from support.commands import COMMAND_PATIENCE

from monitor.cli import main
from monitor.store import Store, importer, rollup

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


def test_a_probe_that_could_not_leave_the_monitor_imports_as_local(
    config_file, tmp_path, database_url
):
    rows = "2026-02-01T00:01:00Z,api,ipv6,eu,false,,0.2,local\n"
    assert run_import(config_file, HEADER + rows, tmp_path) == 0
    assert stored(database_url) == [("2026-02-01T00:01:00+00:00", "ipv6", "eu", False, "local")]


def test_imported_local_probes_count_as_not_run_in_the_report(config_file, tmp_path):
    """IPv6 answers at 00:00 and 00:00:30, then its probes could not leave the monitor until
    00:05. Minute 1 carries the 00:00:30 probe (30 s old, under stale_after = 60 s); minutes
    2-4 have no data: 2 eligible slices, none bad."""
    rows = [f"2026-02-01T00:00:{s:02d}Z,api,ipv6,eu,true,200,5,\n" for s in (0, 30)] + [
        f"2026-02-01T00:{m // 60:02d}:{m % 60:02d}Z,api,ipv6,eu,false,,,local\n"
        for m in range(60, 300, 30)
    ]
    assert run_import(config_file, HEADER + "".join(rows), tmp_path) == 0
    out = tmp_path / "report.json"
    assert main(["-c", str(config_file), "report", "--month", "2026-02", "-o", str(out)]) == 0
    [target] = json.loads(out.read_text())["targets"]
    assert (target["eligible_slices"], target["bad_slices"]) == (2, 0)
    assert target["availability_percent"] == 100.0


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
    (
        "local with success true",
        HEADER + "2026-02-01T00:02:00Z,api,ipv6,eu,true,,,local\n",
        ":2: reason: local does not go with success true",
    ),
    ("too few columns", HEADER + "2026-02-01T00:02:00Z,api,ipv4\n", ":2: expected 8 columns"),
    ("empty line", HEADER + GOOD_ROWS + "\n" + GOOD_ROWS, ":5: expected 8 columns, found 0"),
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


MINUTES = "".join(
    f"2026-02-01T00:{m // 60:02d}:{m % 60:02d}Z,api,ipv4,eu,true,200,5,\n" for m in range(3000)
)


@pytest.mark.parametrize("quoted_at", [None, 1000], ids=["columnar", "rows after line 1000"])
def test_a_bad_row_after_many_good_batches_still_leaves_nothing(
    config_file, tmp_path, database_url, monkeypatch, quoted_at
):
    """Blocks (and row path batches) are written before the bad row is found."""
    rows = MINUTES.splitlines(keepends=True)
    if quoted_at is not None:
        rows[quoted_at] = rows[quoted_at].replace(",api,", ',"api",')  # the row path from here
    monkeypatch.setattr(importer, "BLOCK_BYTES", 4096)
    monkeypatch.setattr(importer, "BATCH_ROWS", 500)
    bad = HEADER + "".join(rows) + "bad,api,ipv4,eu,true,,,\n"
    assert run_import(config_file, bad, tmp_path) == 2
    assert stored(database_url) == []


@pytest.mark.parametrize("line", [2, 700, 3001])
def test_a_bad_row_in_a_later_block_is_named_by_its_line(
    config_file, tmp_path, database_url, monkeypatch, capsys, line
):
    rows = MINUTES.splitlines(keepends=True)
    rows[line - 2] = rows[line - 2].replace(",ipv4,", ",ipv5,")
    monkeypatch.setattr(importer, "BLOCK_BYTES", 4096)
    assert run_import(config_file, HEADER + "".join(rows), tmp_path) == 2
    assert f"history.csv:{line}: family: must be ipv4 or ipv6\n" in capsys.readouterr().err


# Values the columnar path converts itself and values it leaves to the row path's functions.
VARIED_ROWS = [
    "2026-02-01T00:00:00Z,api,ipv4,eu,true,200,41.5,",
    "2026-02-01T00:00:00.5+01:30,api,ipv6,eu,FALSE,,,connect",
    "2026-02-01T00:00:00.123456-09:59,api,ipv4,us,True,429,0012.250,rate_limited",
    "2026-02-01 00:00:01+00:00,api,ipv4,eu,false,503,1e2,status",
    "2026-02-01T00:00:02+05:60,api,ipv4,eu,true,204, 7 ,",
    "2026-02-01T00:00:03.1234567Z,api,ipv6,us,true,200,1_000,",
    "2024-02-29T23:59:59.999999-00:00,api,ipv4,eu,false,,0,timeout",
    "1970-01-01T00:00:00+01:00,api,ipv6,eu,false,,,dns",
    "9999-12-31T00:00:00-23:59,api,ipv4,eu,true,599,123456789012345.123456789012345,",
    "2026-02-01T00:00:00Z,api,ipv4,eu,true,200,99,",  # a duplicate key: the first row wins
]


@pytest.fixture
def reference_url(database_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A second database of the same kind."""
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'rows.db'}"
    return request.getfixturevalue("postgres_server").create_database(f"t_{uuid.uuid4().hex[:12]}")


def database_contents(url: str) -> tuple[list[Any], list[Any]]:
    """Stored probes and decoded rollups, by series name (the two paths number series apart)."""
    store = Store(url)
    try:
        with store.engine.connect() as conn:
            chunks = conn.execute(
                text(
                    "SELECT s.target, s.family, s.location, r.slice_seconds, r.chunk, r.data"
                    " FROM slice_rollup r JOIN series s ON s.id = r.series_id"
                )
            ).all()
        return (
            sorted(map(repr, store.results())),
            sorted((*key, rollup.decode(blob).tobytes()) for *key, blob in chunks),
        )
    finally:
        store.close()


def test_the_columnar_path_stores_what_the_row_path_stores(
    tmp_path, database_url, reference_url, monkeypatch
):
    csv_text = HEADER + "".join(row + "\n" for row in VARIED_ROWS)
    monkeypatch.setattr(importer, "BLOCK_BYTES", 100)  # several blocks
    only_columns = {"_row_batches": lambda *args: pytest.fail("the row path ran")}
    only_rows = {"_block_rows": lambda *args: None}  # every block declined
    for url, patches in ((database_url, only_columns), (reference_url, only_rows)):
        config = tmp_path / "uptime-sla.yaml"
        config.write_text(
            f'storage: {{url: "{url}"}}\ntargets: [{{name: api, url: "https://a.test/"}}]\n'
        )
        with monkeypatch.context() as patch:
            for name, replacement in patches.items():
                patch.setattr(importer, name, replacement)
            assert run_import(config, csv_text, tmp_path) == 0
    assert database_contents(database_url) == database_contents(reference_url)
    assert len(database_contents(database_url)[0]) == len(VARIED_ROWS) - 1


TIME_LIKE = st.builds(
    "{}-{}-{}T{}:{}:{}{}{}".format,
    st.from_regex(r"\A[0-9]{4}\Z"),
    st.from_regex(r"\A[01][0-9]\Z"),
    st.from_regex(r"\A[0-3][0-9]\Z"),
    st.from_regex(r"\A[0-2][0-9]\Z"),
    st.from_regex(r"\A[0-6][0-9]\Z"),
    st.from_regex(r"\A[0-6][0-9]\Z"),
    st.from_regex(r"\A(\.[0-9]{1,7})?\Z"),
    st.from_regex(r"\A(Z|z|[+-][0-2][0-9]:[0-6][0-9]|[+-][0-9][0-9][0-9][0-9])\Z"),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(TIME_LIKE | st.text(max_size=30), min_size=1, max_size=40))
def test_times_converted_in_columns_are_what_fromisoformat_gives(texts):
    values, done = importer._plain_times(pa.array(texts, pa.string()))
    for text_, value, converted in zip(texts, values.tolist(), done.tolist(), strict=True):
        if converted:
            assert value == importer._epoch_us(text_), text_


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.from_regex(r"\A[0-9]{0,16}(\.[0-9]{0,16})?\Z") | st.text(max_size=20), min_size=1)
)
def test_latencies_converted_in_columns_are_what_float_gives(texts):
    values, done = importer._plain_latencies(pa.array(texts, pa.string()))
    for text_, value, converted in zip(texts, values.tolist(), done.tolist(), strict=True):
        if converted:
            expected = importer._latency(text_)
            assert (math.isnan(value) and expected is None) or value == expected, text_


def test_usual_times_and_latencies_are_converted_in_columns():
    times = ["2026-02-01T00:00:00Z", "2024-02-29T23:59:59.5+01:00", "2026-02-01T00:00:00"]
    values, done = importer._plain_times(pa.array(times))
    assert done.tolist() == [True, True, False]  # no offset: the row path says why
    assert values[:2].tolist() == [importer._epoch_us(t) for t in times[:2]]
    latencies = ["41.5", "", "٣", "-1"]
    values, done = importer._plain_latencies(pa.array(latencies))
    assert done.tolist() == [True, True, False, False]  # float() reads "٣" too: it decides
    assert values[0] == 41.5


# --- telling what it did: byte-order marks, conflicts, progress --------------------------


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "rows",
    [
        GOOD_ROWS,
        GOOD_ROWS.replace(",eu,", ',"eu",', 1),
    ],  # plain, and quoted (the row path reads it)
    ids=["columnar", "row path"],
)
def test_a_csv_starting_with_a_byte_order_mark_is_imported(
    config_file, tmp_path, database_url, capfd, rows
):
    path = write(tmp_path, "excel.csv", codecs.BOM_UTF8 + (HEADER + rows).encode())
    assert main(["-c", str(config_file), "import", str(path)]) == 0
    assert "3 rows read, 3 new probes stored" in capfd.readouterr().out
    assert len(stored(database_url)) == 3


def test_a_byte_order_mark_before_a_wrong_header_still_names_line_1(config_file, tmp_path, capfd):
    path = write(tmp_path, "bad.csv", codecs.BOM_UTF8 + b"when,what\n")
    assert main(["-c", str(config_file), "import", str(path)]) == 2
    assert f"{path}:1: header must be" in capfd.readouterr().err


def test_rows_that_disagree_with_stored_probes_are_counted_and_the_stored_ones_kept(
    config_file, tmp_path, database_url, capfd
):
    first = write(tmp_path, "first.csv", (HEADER + GOOD_ROWS).encode())
    assert main(["-c", str(config_file), "import", str(first)]) == 0
    before = stored(database_url)
    changed = (
        GOOD_ROWS.replace("true,200,41.5,", "false,,,timeout").replace(  # up, now said down
            "false,,,connect", "false,,,dns"
        )  # down for another reason
        + "2026-02-01T00:02:00Z,api,ipv4,eu,true,200,40,\n"  # new
    )
    second = write(tmp_path, "second.csv", (HEADER + changed).encode())
    capfd.readouterr()
    assert main(["-c", str(config_file), "import", str(second)]) == 0
    out, err = capfd.readouterr()
    assert "4 rows read, 1 new probes stored" in out
    assert err == f"{second}: 2 rows conflict with stored probes; kept the stored ones\n"
    after = stored(database_url)
    assert after[:3] == before
    assert len(after) == 4
    # The same file again: nothing new, the same two conflicts.
    assert main(["-c", str(config_file), "import", str(second)]) == 0
    assert "2 rows conflict" in capfd.readouterr().err


def test_identical_rows_again_are_no_conflict(config_file, tmp_path, capfd):
    path = write(tmp_path, "h.csv", (HEADER + GOOD_ROWS).encode())
    assert main(["-c", str(config_file), "import", str(path)]) == 0
    assert main(["-c", str(config_file), "import", str(path)]) == 0
    assert "conflict" not in capfd.readouterr().err


def import_command(config: Path, csv_path: Path) -> list[str]:
    return [sys.executable, "-m", "monitor", "-c", str(config), "import", str(csv_path)]


def many_rows(tmp_path: Path, count: int = 20_000) -> Path:
    lines = [
        f"2026-02-{1 + n // 2880:02d}T{n // 120 % 24:02d}:{n // 2 % 60:02d}:{n % 2 * 30:02d}Z"
        ",api,ipv4,eu,true,200,41.5,\n"
        for n in range(count)
    ]
    return write(tmp_path, "many.csv", (HEADER + "".join(lines)).encode())


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_terminal_sees_rows_rows_per_second_and_bytes(config_file, tmp_path):
    path = many_rows(tmp_path)
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            import_command(config_file, path),
            stdout=subprocess.PIPE,
            stderr=follower,
            timeout=COMMAND_PATIENCE,
            check=False,
        )
        os.close(follower)
        follower = -1
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other side is closed and drained
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(leader)
        if follower != -1:
            os.close(follower)
    assert done.returncode == 0
    assert b"20000 rows read, 20000 new probes stored" in done.stdout
    text = shown.decode().replace("\x1b[K", "")  # "erase to the end of the line"
    last = text.replace("\r\n", "\n").split("\r")[-1].strip()
    size = path.stat().st_size
    assert last.startswith("20,000 rows, "), text
    assert " rows/s, " in last
    assert last.endswith(f"{size / 1e6:.1f} MB of {size / 1e6:.1f} MB"), last


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_without_a_terminal_the_import_prints_no_progress(config_file, tmp_path):
    path = many_rows(tmp_path, 2_000)
    done = subprocess.run(
        import_command(config_file, path),
        capture_output=True,
        text=True,
        timeout=COMMAND_PATIENCE,
        check=False,
    )
    assert done.returncode == 0
    assert "rows/s" not in done.stderr + done.stdout
    assert "\r" not in done.stderr
