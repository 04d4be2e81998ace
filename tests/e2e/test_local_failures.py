"""A monitor without IPv6 is not the API's downtime; a refused IPv6 connection is.

Each test runs `uptime-sla` in a network namespace of its own (`unshare --net`, loopback up)
with the HTTPS server inside it, and IPv6 switched off by sysctl, as on a host whose IPv6
is disabled. Probes that cannot leave the monitor fail with reason `local`.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from support.commands import uptime_sla
from support.https import HttpsServer
from support.netns import NetworkNamespace
from support.processes import free_port


def write_config(directory: Path, targets: dict[str, tuple[HttpsServer, str]]) -> tuple[Path, int]:
    """A config probing each target (server, families) every second; (its path, /metrics port)."""
    path, port = directory / "uptime-sla.yaml", free_port()
    listed = "\n".join(
        f"  - {{name: {name}, url: {server.url('/')}, ca_file: {server.ca_file},"
        f" families: {families}}}"
        for name, (server, families) in targets.items()
    )
    path.write_text(
        textwrap.dedent(f"""\
        location: lab
        storage: {{url: "sqlite:///{directory}/uptime-sla.db", batch_interval: 0.2s}}
        metrics: {{listen: "127.0.0.1:{port}"}}
        defaults:
          interval: 1s
          timeout: 2s
          resolve: {{ipv4: ["127.0.0.1"], ipv6: ["::1"]}}
        sla: {{slice: 1s}}
        targets:
        """)
        + listed
        + "\n"
    )
    return path, port


def test_probe_on_a_monitor_without_ipv6_exits_1_saying_so(
    namespaces: type[NetworkNamespace], tmp_path: Path
):
    with (
        namespaces(ipv6=False) as namespace,
        namespace.entered(),
        HttpsServer(host_families=("ipv4",), families=("ipv4",)) as server,
    ):
        config, _ = write_config(tmp_path, {"api": (server, "[ipv4, ipv6]")})
        result = uptime_sla("-c", str(config), "probe")
    assert result.returncode == 1, result.stdout + result.stderr
    rows = {line.split()[1]: line.split()[2] for line in result.stdout.splitlines()[1:]}
    assert rows == {"ipv4": "up", "ipv6": "local"}
    assert "this monitor has no IPv6" in result.stderr
