"""Small inputs that would grow huge are refused early: one line, exit 2, little memory.

A config whose long `${VAR}` string is aliased 10,000 times expands to gigabytes once each
alias gets its own substituted copy; one CSV line of 300 MB used to be read whole (and
copied while parsed) before the field limit refused it. Each command runs as a subprocess
and its peak resident memory is read from the kernel (getrusage of a launcher's child).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from support.commands import COMMAND_PATIENCE, sqlite_rows

RSS_BOUND_MB = 200
ALIASES = 10_000
ALIASED_TEXT = 200_000  # characters of the aliased string, around its ${VAR}
LINE_MB = 300
HEADER = b"time,target,family,location,success,status_code,latency_ms,reason\n"


# Run from a small launcher: a child forked from pytest would count pytest's own pages in
# its peak until it execs.
LAUNCHER = """
import resource, subprocess, sys
code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(code)
"""


def run_measured(*args: str, cwd: Path) -> tuple[int, str, float]:
    """(exit code, stderr, peak RSS in MB) of `python -m monitor ARGS`."""
    done = subprocess.run(
        [sys.executable, "-c", LAUNCHER, sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "FILLER": "y" * 1000},
        cwd=cwd,
        timeout=COMMAND_PATIENCE,
        check=False,
    )
    return done.returncode, done.stderr, int(done.stdout) / 1024  # kB on Linux


def assert_refused(code: int, stderr: str, naming: str) -> None:
    """Exit 2 and one error line (after the store's log line of a newly made database)."""
    assert code == 2, stderr
    error = stderr.splitlines()[-1]
    assert error.startswith("uptime-sla: error: "), stderr
    assert naming in error, stderr
    assert "Traceback" not in stderr


def test_a_config_amplified_by_aliases_and_substitution_is_refused_in_little_memory(
    tmp_path: Path,
):
    text = "x" * (ALIASED_TEXT // 2) + "${FILLER}" + "x" * (ALIASED_TEXT // 2)
    headers = "".join(f"      h{i}: *long\n" for i in range(ALIASES))
    config = tmp_path / "amplified.yaml"
    config.write_text(
        f'location: lab\nnote: &long "{text}"\n'
        "targets:\n  - name: api\n    url: https://api.test/\n    headers:\n" + headers
    )
    assert config.stat().st_size < 400_000  # ~2.2 GB once expanded

    code, stderr, peak_mb = run_measured("-c", str(config), "check-config", cwd=tmp_path)

    print(f"\namplified config ({config.stat().st_size} bytes): peak RSS {peak_mb:.0f} MB")
    assert_refused(code, stderr, f"{config}:")
    assert "once aliases and ${VAR}s are expanded" in stderr
    assert peak_mb < RSS_BOUND_MB


def test_a_300_mb_csv_line_is_refused_in_little_memory_and_nothing_is_stored(tmp_path: Path):
    config = tmp_path / "uptime-sla.yaml"
    database = tmp_path / "uptime-sla.db"
    config.write_text(
        f'storage: {{url: "sqlite:///{database}"}}\n'
        "targets: [{name: up, url: 'https://api.test/'}]\n"
    )
    history = tmp_path / "history.csv"
    with history.open("wb") as out:
        out.write(HEADER + b"2026-02-01T00:00:00Z,up,ipv4,lab,true,200,41.5,\n")
        out.write(b"2026-02-01T00:01:00Z,up,ipv4,")
        block = b"l" * (1 << 20)
        for _ in range(LINE_MB):
            out.write(block)
        out.write(b",true,200,41.5,\n")

    code, stderr, peak_mb = run_measured("-c", str(config), "import", str(history), cwd=tmp_path)
    history.unlink()

    print(f"\n{LINE_MB} MB CSV line: peak RSS {peak_mb:.0f} MB")
    assert_refused(code, stderr, f"{history}:3: line longer than")
    assert peak_mb < RSS_BOUND_MB
    assert sqlite_rows(database, "SELECT count(*) FROM probe_result") == [(0,)]
