"""`-o FILE` as docs/cli.md promises, for every command that writes one.

Each test here failed against the writer before monitor/outputs (it renamed a temporary
file over whatever FILE was): a device made with mknod was replaced by a regular file, a
symlink by a copy, `-o -` made a file named `-`, and a write ended by SIGTERM or SIGHUP (or
a kill) left a hidden file. Ctrl-C was handled already: its case stays as a guard.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.commands import uptime_sla
from support.project import migrated, write_project

from monitor.cli import main

REPORT = ("report", "--month", "2026-02", "--format", "md")
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # one clock, so two runs write the same report


def clock() -> datetime:
    return NOW


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return migrated(write_project(tmp_path / "project"))


@pytest.fixture
def expected(config: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """The report as standard output shows it."""
    assert main(["-c", str(config), *REPORT], clock) == 0
    return capsys.readouterr().out


def report_to(config: Path, output: Path | str) -> int:
    return main(["-c", str(config), *REPORT, "-o", str(output)], clock)


def leftovers(folder: Path) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.startswith("."))


def test_a_new_file_is_written_whole_with_the_mode_the_umask_gives(
    config: Path, expected: str, tmp_path: Path
) -> None:
    out = tmp_path / "new.md"
    old = os.umask(0o027)
    try:
        assert report_to(config, out) == 0
    finally:
        os.umask(old)
    assert out.read_text() == expected
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    assert leftovers(tmp_path) == []


def test_an_existing_file_is_replaced_whole_and_keeps_its_mode(
    config: Path, expected: str, tmp_path: Path
) -> None:
    out = tmp_path / "old.md"
    out.write_text("yesterday's report\n" * 1000)
    out.chmod(0o600)
    inode = out.stat().st_ino
    assert report_to(config, out) == 0
    assert out.read_text() == expected
    assert out.stat().st_ino != inode  # renamed over it: a reader never sees half a file
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_a_character_device_is_written_in_place_and_never_replaced(
    config: Path, tmp_path: Path
) -> None:
    """`report -o /dev/null` as root once replaced the machine's /dev/null with a file."""
    null = tmp_path / "null"
    os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # what /dev/null is
    before = null.stat()
    for command in (REPORT, ("export",), ("rules",)):
        assert main(["-c", str(config), *command, "-o", str(null)]) == 0
        after = null.stat()
        assert stat.S_ISCHR(after.st_mode), command
        assert (after.st_ino, after.st_rdev, after.st_mode) == (
            before.st_ino,
            before.st_rdev,
            before.st_mode,
        )
    assert leftovers(tmp_path) == []


def test_a_fifo_is_written_in_place_for_its_reader(
    config: Path, expected: str, tmp_path: Path
) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    # A daemon: if the FIFO were replaced, its reader would wait forever for a writer.
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    assert report_to(config, fifo) == 0
    reader.join(timeout=30)
    assert received == [expected.encode()]
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_a_symlink_is_followed_and_its_target_replaced(
    config: Path, expected: str, tmp_path: Path
) -> None:
    (tmp_path / "reports").mkdir()
    target = tmp_path / "reports" / "latest.md"
    target.write_text("old\n")
    link = tmp_path / "latest.md"
    link.symlink_to("reports/latest.md")
    dangling = tmp_path / "next.md"
    dangling.symlink_to("reports/next.md")
    assert report_to(config, link) == 0
    assert report_to(config, dangling) == 0
    assert link.is_symlink()
    assert os.readlink(link) == "reports/latest.md"
    assert target.read_text() == expected
    assert dangling.is_symlink()
    assert (tmp_path / "reports" / "next.md").read_text() == expected


def test_dash_is_standard_output(
    config: Path,
    expected: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert report_to(config, "-") == 0
    assert capsys.readouterr().out == expected
    assert not (tmp_path / "-").exists()


@pytest.mark.parametrize("command", [REPORT, ("export",), ("rules",)], ids=lambda c: c[0])
def test_an_empty_path_is_refused_not_taken_for_the_current_folder(
    config: Path,
    command: tuple[str, ...],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    before = sorted(os.listdir(tmp_path))
    assert main(["-c", str(config), *command, "-o", ""]) == 2
    err = capsys.readouterr().err
    assert err.startswith("uptime-sla: error: -o: the path is empty"), err
    assert err.count("\n") == 1
    assert sorted(os.listdir(tmp_path)) == before


# An export whose rows stop coming after the first bytes: what a large database looks like to
# a signal that arrives mid-write. The child prints "writing" once the file is being written.
SLOW_EXPORT = """\
import signal, sys, time
import monitor.cli as cli
import monitor.store.export as export

def slow(rows, handle):
    handle.write(b"time,target\\n")
    handle.flush()
    print("writing", flush=True)
    time.sleep(120)

export.write_export = slow  # `export` imports it from there when it runs
# Ctrl-C as a terminal gives it: a shell's background job (CI run under nohup or `&`) starts
# its children with SIGINT ignored, and Python then keeps it ignored.
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.exit(cli.main(sys.argv[1:]))
"""


def start_slow_export(config: Path, out: Path) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", SLOW_EXPORT, "-c", str(config), "export", "-o", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline() == "writing\n"
    return child


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_write_ended_by_a_signal_leaves_no_hidden_file(
    config: Path, tmp_path: Path, number: signal.Signals
) -> None:
    out = tmp_path / "probes.csv"
    out.write_text("the previous export\n")
    child = start_slow_export(config, out)
    assert len(leftovers(tmp_path)) == 1  # the partial file, beside its target
    child.send_signal(number)
    _, err = child.communicate(timeout=60)
    assert child.returncode == (130 if number == signal.SIGINT else 128 + number), err
    assert "Traceback" not in err
    assert leftovers(tmp_path) == []
    assert out.read_text() == "the previous export\n"


def test_what_a_killed_write_left_is_removed_by_the_next_write(
    config: Path, tmp_path: Path
) -> None:
    out = tmp_path / "probes.csv"
    child = start_slow_export(config, out)
    child.kill()  # SIGKILL: nothing runs, the partial file stays
    child.communicate(timeout=60)
    assert len(leftovers(tmp_path)) == 1
    result = uptime_sla("-c", str(config), "export", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert leftovers(tmp_path) == []
    assert out.read_text().startswith("time,target,family")
