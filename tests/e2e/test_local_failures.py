"""A monitor without IPv6 is not the API's downtime; a refused IPv6 connection is.

Each test runs `uptime-sla` in a network namespace of its own (`unshare --net`, loopback up)
with the HTTPS server inside it, then switches IPv6 off by sysctl, as on a host whose IPv6
is disabled. Probes that cannot leave the monitor fail with reason `local` and count as no
probe: the series carries its last state for stale_after (2 s here), then has no data.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import trustme
from support.commands import uptime_sla
from support.https import HttpsServer
from support.lab import lab_config, target_yaml
from support.netns import NetworkNamespace
from support.processes import Monitor, scrape, wait_for

SLICE_US = 1_000_000  # sla.slice 1s


def write_config(directory: Path, targets: dict[str, tuple[HttpsServer, str]]) -> tuple[Path, int]:
    """A config probing each target (server, families) every second; (its path, /metrics port)."""
    lab = lab_config(
        directory,
        [
            target_yaml(name, server.url("/"), ca_file=server.ca_file, families=families)
            for name, (server, families) in targets.items()
        ],
    )
    return lab.config, lab.port


def count(samples: dict, name: str, **labels: str) -> float:
    wanted = frozenset({"location": "lab", **labels}.items())
    return samples.get((name, wanted), 0.0)


def failures(samples: dict, target: str, reason: str) -> float:
    """probe_failures_total of the target's IPv6 series for that reason."""
    return count(samples, "probe_failures_total", target=target, ip_family="ipv6", reason=reason)


def month_report(config: Path, month: str) -> dict[str, dict]:
    result = uptime_sla("-c", str(config), "report", "--month", month, "--format", "json")
    assert result.returncode == 0, result.stderr
    return {t["name"]: t for t in json.loads(result.stdout)["targets"]}


def test_ipv6_switched_off_under_run_is_local_and_no_data_while_a_refusal_stays_downtime(
    namespaces: type[NetworkNamespace], tls_ca: trustme.CA, ca_file: str, tmp_path: Path
):
    """`up` answers on both families; `refused` has no IPv6 listener (a real refusal). Once
    IPv6 is gone from the monitor's host: `local`, no bad slice, NO_DATA after stale_after."""
    with (
        namespaces(ipv6=True) as namespace,
        namespace.entered(),
        HttpsServer(ca=tls_ca, ca_file=ca_file) as up,
        HttpsServer(ca=tls_ca, ca_file=ca_file, families=("ipv4",)) as refused,
    ):
        config, port = write_config(
            tmp_path,
            {"up": (up, "[ipv4, ipv6]"), "v6only": (up, "[ipv6]"),
             "refused": (refused, "[ipv4, ipv6]")},
        )  # fmt: skip
        monitor = Monitor(config)
        try:
            wait_for(lambda: failures(scrape(port), "refused", "connect") >= 3)
        finally:
            exit_codes = [monitor.stop()]
        # Off between two runs: a probe in flight when its address goes away did leave the
        # monitor, and times out (a failure) rather than being local.
        namespace.switch_ipv6(on=False)
        monitor = Monitor(config)
        try:
            wait_for(lambda: failures(scrape(port), "v6only", "local") >= 5)
            samples = scrape(port)
        finally:
            exit_codes.append(monitor.stop())
    assert exit_codes == [0, 0], monitor.output()

    for target in ("up", "v6only", "refused"):
        assert count(samples, "probe_success", target=target, ip_family="ipv6") == 0.0
        assert failures(samples, target, "local") >= 1
    assert count(samples, "uptime_sla_ip_family_reachable", ip_family="ipv6") == 0.0
    assert count(samples, "uptime_sla_ip_family_reachable", ip_family="ipv4") == 1.0

    database = sqlite3.connect(tmp_path / "uptime-sla.db")
    rows = database.execute(
        "SELECT s.target, s.family, p.started_us, p.success, p.reason"
        " FROM probe_result p JOIN series s ON s.id = p.series_id ORDER BY p.started_us"
    ).fetchall()
    database.close()
    by_reason: dict[tuple[str, str], set[str | None]] = {}
    for target, family, _, _, reason in rows:
        by_reason.setdefault((target, family), set()).add(reason)
    # IPv4 unchanged: every probe of it succeeded.
    assert by_reason[("up", "ipv4")] == by_reason[("refused", "ipv4")] == {None}
    assert by_reason[("v6only", "ipv6")] == {None, "local"}
    assert by_reason[("refused", "ipv6")] == {"connect", "local"}

    month = datetime.fromtimestamp(rows[0][2] / 1e6, UTC).strftime("%Y-%m")
    report = month_report(config, month)
    # The IPv6-only target: good before, never bad after, and no data once stale_after
    # passed: its eligible slices are those from its first answered probe to its last (the
    # empty slice of a late probe carries the one before) plus at most the 2 s carry of the
    # last one, although local probes went on for longer than that.
    answered = {r[2] // SLICE_US for r in rows if r[:2] == ("v6only", "ipv6") and r[4] is None}
    local_only = {r[2] // SLICE_US for r in rows if r[:2] == ("v6only", "ipv6")
                  and r[4] == "local"} - answered  # fmt: skip
    assert len([s for s in local_only if s > max(answered) + 2]) >= 2
    assert report["v6only"]["bad_slices"] == 0
    answered_span = max(answered) - min(answered) + 1
    assert len(answered) <= report["v6only"]["eligible_slices"] <= answered_span + 2
    assert report["v6only"]["availability_percent"] == 100.0
    # Dual stack with IPv4 answering: not a bad slice either (family_policy any).
    assert report["up"]["bad_slices"] == 0
    # The refusal is downtime: every slice holding a refused probe is bad, and nothing after
    # the switch adds more than the stale carry of the last refusal (under 2 slices).
    refused_slices = {r[2] // SLICE_US for r in rows if r[:2] == ("refused", "ipv6")
                      and r[4] == "connect"}  # fmt: skip
    assert len(refused_slices) <= report["refused"]["bad_slices"] <= len(refused_slices) + 2
    print(
        f"\nv6only: {len(answered)} slices answered, {len(local_only)} local only -> eligible"
        f" {report['v6only']['eligible_slices']}, bad {report['v6only']['bad_slices']};"
        f" refused: {len(refused_slices)} slices with connect failures -> bad"
        f" {report['refused']['bad_slices']}; up: bad {report['up']['bad_slices']}"
    )


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
