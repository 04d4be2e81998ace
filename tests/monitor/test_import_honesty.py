"""`uptime-sla import` tells what it did: a byte-order mark is no error, rows that disagree
with stored probes are counted (never dropped silently), and a terminal sees progress."""

from __future__ import annotations

import codecs
import os
import pty
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.store import Store

HEADER = "time,target,family,location,success,status_code,latency_ms,reason\n"
ROWS = (
    "2026-02-01T00:00:00Z,api,ipv4,eu,true,200,41.5,\n"
    "2026-02-01T00:00:30Z,api,ipv6,eu,false,,,connect\n"
    "2026-02-01T00:01:00Z,api,ipv4,us,true,429,12,rate_limited\n"
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


def outcomes(database_url: str) -> list[tuple[str, str, str, bool, str | None]]:
    store = Store(database_url)
    try:
        return [
            (r.started.isoformat(), r.family, r.location, r.success, r.reason)
            for r in store.results()
        ]
    finally:
        store.close()


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "rows",
    [ROWS, ROWS.replace(",eu,", ',"eu",', 1)],  # plain, and quoted (the row path reads it)
    ids=["columnar", "row path"],
)
def test_a_csv_starting_with_a_byte_order_mark_is_imported(
    config_file, tmp_path, database_url, capfd, rows
):
    path = write(tmp_path, "excel.csv", codecs.BOM_UTF8 + (HEADER + rows).encode())
    assert main(["-c", str(config_file), "import", str(path)]) == 0
    assert "3 rows read, 3 new probes stored" in capfd.readouterr().out
    assert len(outcomes(database_url)) == 3


def test_a_byte_order_mark_before_a_wrong_header_still_names_line_1(config_file, tmp_path, capfd):
    path = write(tmp_path, "bad.csv", codecs.BOM_UTF8 + b"when,what\n")
    assert main(["-c", str(config_file), "import", str(path)]) == 2
    assert f"{path}:1: header must be" in capfd.readouterr().err


def test_rows_that_disagree_with_stored_probes_are_counted_and_the_stored_ones_kept(
    config_file, tmp_path, database_url, capfd
):
    first = write(tmp_path, "first.csv", (HEADER + ROWS).encode())
    assert main(["-c", str(config_file), "import", str(first)]) == 0
    before = outcomes(database_url)
    changed = (
        ROWS.replace("true,200,41.5,", "false,,,timeout").replace(  # up, now said down
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
    after = outcomes(database_url)
    assert after[:3] == before
    assert len(after) == 4
    # The same file again: nothing new, the same two conflicts.
    assert main(["-c", str(config_file), "import", str(second)]) == 0
    assert "2 rows conflict" in capfd.readouterr().err


def test_identical_rows_again_are_no_conflict(config_file, tmp_path, capfd):
    path = write(tmp_path, "h.csv", (HEADER + ROWS).encode())
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
            timeout=120,
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
        import_command(config_file, path), capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0
    assert "rows/s" not in done.stderr + done.stdout
    assert "\r" not in done.stderr
