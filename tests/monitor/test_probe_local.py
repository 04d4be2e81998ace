"""The prober tells the monitor's own network apart from the target's: reason `local` only
when the probe never left the host, `connect` whenever it reached the network.

Each case is made real in a network namespace of the test's own (loopback only): IPv6
switched off (no source address), loopback down (no route at all), and an iptables rule
answering "network unreachable" as a router on the way would (a route exists here).
"""

from __future__ import annotations

import asyncio

from support.https import HttpsServer

from monitor.config import Target
from monitor.probing.probe import Prober
from monitor.probing.results import ProbeResult, Reason

PORT = 4433  # nothing listens on it: every connect fails before TLS


def probe(target: Target, *families: str) -> list[ProbeResult]:
    async def go() -> list[ProbeResult]:
        async with Prober("lab") as prober:
            return [await prober.probe(target, family) for family in families]

    return asyncio.run(go())


def loopback_target(**settings: object) -> Target:
    return Target.model_validate(
        {
            "name": "api",
            "url": f"https://api.test:{PORT}/",
            "timeout": "3s",
            "resolve": {"ipv4": ["127.0.0.1"], "ipv6": ["::1"]},
            **settings,
        }
    )


def test_ipv6_switched_off_on_the_monitor_is_local_and_ipv4_still_answers(namespaces):
    with (
        namespaces(ipv6=False) as namespace,
        namespace.entered(),
        HttpsServer(families=("ipv4",), host_families=("ipv4",)) as server,
    ):
        ipv4, ipv6 = probe(Target(name="api", **server.target_fields("/")), "ipv4", "ipv6")
    assert ipv4.success, ipv4.detail
    assert (ipv6.success, ipv6.reason) == (False, Reason.LOCAL)
    assert ipv6.detail == (
        "no IPv6 route or source address on this monitor (address not available)"
    )


def test_no_route_at_all_is_local(namespaces):
    with namespaces(loopback=False) as namespace, namespace.entered():
        [result] = probe(loopback_target(), "ipv4")
    assert (result.reason, result.detail) == (
        Reason.LOCAL,
        "no IPv4 route or source address on this monitor (network unreachable)",
    )


def test_network_unreachable_from_the_way_there_is_connect(namespaces):
    """The route and source address exist here; the "unreachable" came back from the
    network (an iptables reject standing in for a router): the target's problem."""
    with namespaces() as namespace:
        namespace.run("iptables", "-A", "OUTPUT", "-p", "tcp", "-d", "127.0.0.1",
                      "--dport", str(PORT), "-j", "REJECT",
                      "--reject-with", "icmp-net-unreachable")  # fmt: skip
        namespace.run("ip6tables", "-A", "OUTPUT", "-p", "tcp", "-d", "::1",
                      "--dport", str(PORT), "-j", "REJECT",
                      "--reject-with", "icmp6-no-route")  # fmt: skip
        with namespace.entered():
            results = probe(loopback_target(), "ipv4", "ipv6")
    for result in results:
        assert (result.reason, result.detail) == (Reason.CONNECT, "network unreachable")


def test_a_refused_connection_is_connect_not_local(namespaces):
    with namespaces() as namespace, namespace.entered():
        results = probe(loopback_target(), "ipv4", "ipv6")
    for result in results:
        assert (result.reason, result.detail) == (Reason.CONNECT, "connection refused")
