"""A small project folder as a new user has one: a config file, maybe its database.

`write_project(folder)` writes `folder/uptime-sla.yaml` (one target, one contract) with the
given extra YAML; `migrated(config)` creates its database through `uptime-sla migrate`.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from monitor.cli import main

CONFIG = """\
location: here
storage: {{url: "{storage}"}}
targets:
  - {{name: api, url: "https://api.example.test/health", service: api}}
plans:
  pro: {{objective: 99.9, credits: [{{below: 99.9, percent: 10}}]}}
contracts:
  - {{customer: acme, plan: pro, service: api, monthly_fee: "100.00", start: 2026-01-01}}
"""


def write_project(folder: Path, extra: str = "", storage: str = "sqlite:///sla.db") -> Path:
    """The config file (relative paths in it name files beside it)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "uptime-sla.yaml"
    path.write_text(CONFIG.format(storage=storage) + textwrap.dedent(extra))
    return path


def migrated(config: Path) -> Path:
    """The config, once `uptime-sla migrate` has created its database."""
    assert main(["-c", str(config), "migrate"]) == 0
    return config
