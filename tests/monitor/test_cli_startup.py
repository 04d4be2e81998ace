"""Start-up: a command imports only what it uses, so what people type answers at once.

Each case runs the command line in a fresh interpreter and reads `sys.modules` when it is
done: what is never imported costs nothing. Start-up times themselves are a benchmark
figure (BENCHMARKS.md), never asserted here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from support.commands import COMMAND_PATIENCE
from support.https import HttpsServer

# What `--help` must not pay for: the engine's arrays, CSV parsing, the database layer, the
# config's models, the page templates, the HTTP client.
HEAVY = {"numpy", "pyarrow", "sqlalchemy", "pydantic", "jinja2", "httpx"}

RUN_AND_LIST_MODULES = """\
import json, sys
from monitor.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exit_:
    code = exit_.code
sys.stdout.flush()
print(json.dumps({"code": code, "modules": sorted({m.partition(".")[0] for m in sys.modules})}),
      file=sys.stderr)
"""


def imported_by(*argv: str, code: int = 0) -> set[str]:
    """The top-level packages a fresh interpreter holds after `uptime-sla ARGV` (exit `code`)."""
    done = subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST_MODULES, *argv],
        capture_output=True,
        text=True,
        timeout=COMMAND_PATIENCE,
        check=False,
    )
    outcome = json.loads(done.stderr.strip().splitlines()[-1])
    assert (outcome["code"] or 0) == code, done.stderr
    return set(outcome["modules"])


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["--version"],
        ["report", "--help"],
        ["report", "--promises", "--help"],
        ["status", "build", "--help"],
        ["subscribers", "--help"],
        ["subscribers", "add", "--help"],
    ],
    ids=" ".join,
)
def test_help_and_version_import_none_of_the_heavy_libraries(argv: list[str]) -> None:
    assert imported_by(*argv) & HEAVY == set()


def test_check_config_of_a_sqlite_monitor_imports_no_engine_database_layer_or_csv(
    tmp_path: Path,
) -> None:
    config = tmp_path / "uptime-sla.yaml"
    config.write_text(
        textwrap.dedent("""\
        targets:
          - {name: api-health, url: "https://api.example.test/health"}
        """)
    )

    loaded = imported_by("-c", str(config), "check-config")

    assert "pydantic" in loaded  # it did validate
    assert loaded & {"numpy", "pyarrow", "sqlalchemy", "jinja2", "httpx"} == set()


def test_probe_imports_no_engine_database_layer_csv_templates_or_http_client(
    tmp_path: Path, https_server: Callable[..., HttpsServer]
) -> None:
    server = https_server()
    config = tmp_path / "uptime-sla.yaml"
    config.write_text(yaml.safe_dump({"targets": [{"name": "api", **server.target_fields()}]}))

    loaded = imported_by("-c", str(config), "probe")

    assert server.request_count() == 2  # it did probe, over IPv4 and IPv6
    assert loaded & {"numpy", "pyarrow", "sqlalchemy", "jinja2", "httpx"} == set()
