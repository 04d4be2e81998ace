"""The "lab" config of the end-to-end tests: a monitor probing loopback HTTPS servers.

Every e2e test that runs `uptime-sla` writes the same kind of file: location `lab`, a SQLite
database in the test's folder written every 0.2 s, /metrics on a free port, targets probed
every second over both families resolved to 127.0.0.1 and ::1, and 1 s SLA slices. `lab_config`
writes that file once for all of them; a test passes only what it changes:

    lab = lab_config(
        tmp_path,
        targets=[target_yaml("up", server.url("/up"), service="api")],
        ca_file=server.ca_file,
        extra=PLANS,
    )
    monitor = Monitor(lab.config)
    wait_for(lambda: scrape(lab.port) ...)
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support.processes import free_port

LOOPBACK = '{ipv4: ["127.0.0.1"], ipv6: ["::1"]}'


@dataclass(frozen=True)
class Lab:
    """A written lab config: the file, its /metrics port and its storage."""

    config: Path
    port: int
    database: Path  # the SQLite file (unless storage_url named another database)
    storage_url: str


def target_yaml(name: str, url: str, **fields: object) -> str:
    """One target as a YAML flow mapping: `{name: up, url: "https://...", service: api}`."""
    rest = "".join(f", {key}: {value}" for key, value in fields.items())
    return f'{{name: {name}, url: "{url}"{rest}}}'


def up_and_down(server: Any) -> list[str]:
    """Targets `up` (/up answers 200) and `down` (/down answers 503) of service `api`: the
    routes `https_server(routes={"/up": Route(), "/down": Route(status=503)})` serves."""
    return [
        target_yaml("up", server.url("/up"), service="api"),
        target_yaml("down", server.url("/down"), service="api"),
    ]


def lab_config(
    folder: Path,
    targets: Sequence[str],
    *,
    name: str = "uptime-sla.yaml",
    storage_url: str | None = None,
    port: int | None = None,
    **options: Any,
) -> Lab:
    """Write folder/NAME (see lab_yaml for the options) and return it with its port and
    storage: a SQLite file in the folder unless storage_url names another database, a free
    port unless `port` is given."""
    database = folder / "uptime-sla.db"
    url = storage_url or f"sqlite:///{database}"
    port = port or free_port()
    config = folder / name
    config.write_text(lab_yaml(url, port, targets, **options))
    return Lab(config, port, database, url)


def lab_yaml(
    storage_url: str,
    port: int,
    targets: Sequence[str],
    *,
    ca_file: str | None = None,
    location: str = "lab",
    storage: str = "batch_interval: 0.2s",
    metrics: str = "",
    interval: str = "1s",
    timeout: str = "2s",
    defaults: Sequence[str] = (),
    sla: str | None = "slice: 1s",
    extra: str = "",
) -> str:
    """The lab config's text.

    targets: YAML of each target (`target_yaml(...)`, or a block of its own lines);
    storage and metrics: more options of those sections (`buffer_limit: 5`, `sla_refresh: 1h`);
    defaults: more lines of `defaults`; sla: the `sla` section's options, None for none;
    extra: the rest of the file (plans, contracts, maintenance, notifications, ...).
    """
    default_lines = [
        f"interval: {interval}",
        f"timeout: {timeout}",
        *([f"ca_file: {ca_file}"] if ca_file else []),
        f"resolve: {LOOPBACK}",
        *defaults,
    ]
    return (
        f"location: {location}\n"
        f'storage: {{url: "{storage_url}"{", " + storage if storage else ""}}}\n'
        f'metrics: {{listen: "127.0.0.1:{port}"{", " + metrics if metrics else ""}}}\n'
        "defaults:\n"
        + "".join(f"  {line}\n" for line in default_lines)
        + "targets:\n"
        + "".join(_listed(entry) for entry in targets)
        + (f"sla: {{{sla}}}\n" if sla is not None else "")
        + textwrap.dedent(extra)
    )


def _listed(entry: str) -> str:
    """A target as an item of the `targets` list: a flow mapping on one line, or a block."""
    if entry.startswith("{"):
        return f"  - {entry}\n"
    first, *rest = textwrap.dedent(entry).strip("\n").splitlines()
    return f"  - {first}\n" + "".join(f"    {line}\n" for line in rest)
