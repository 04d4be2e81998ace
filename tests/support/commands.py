"""`python -m monitor ...` as users run it: a subprocess with the real logging set-up.

`uptime_sla(...)` runs one command to completion; `VerboseMonitor` is `support.processes.Monitor`
with `-v` (debug logging), for tests that read everything a monitor writes.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from support.processes import PATIENCE, Monitor

# A command (a report over a month, an import) on a busy machine: see PATIENCE.
COMMAND_PATIENCE = 2 * PATIENCE


def uptime_sla(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = COMMAND_PATIENCE,
) -> subprocess.CompletedProcess[str]:
    """Run `python -m monitor ARGS` and return its exit code, stdout and stderr."""
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


class VerboseMonitor(Monitor):
    """`uptime-sla -v -c CONFIG run` in the background (stdout and stderr into one log)."""

    def __init__(self, config: Path, env: dict[str, str] | None = None) -> None:
        self.log = config.with_suffix(".log")
        self._log_file = self.log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "monitor", "-v", "-c", str(config), "run"],
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )


def sqlite_rows(database: Path, query: str) -> list[tuple[object, ...]]:
    """Read a SQLite file (also one a running monitor writes to, thanks to WAL)."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)
    try:
        return connection.execute(query).fetchall()
    finally:
        connection.close()


def commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every command and nested command of the parser, with its words."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append(((*path, name), sub))
                found.extend(commands(sub, (*path, name)))
    return found
