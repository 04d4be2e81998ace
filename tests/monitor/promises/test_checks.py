"""The promise checks against real servers on 127.0.0.1 and [::1]: TLS servers that accept
TLS 1.2 or refuse it, plaintext ports that redirect, refuse or say nothing, and 429s with
and without Retry-After."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from support.https import FAMILIES, HttpsServer, Route
from support.plaintext import PlaintextServer

from monitor.config import Target
from monitor.probing.probe import Prober
from monitor.promises.checks import (
    Outcome,
    PromiseChecks,
    SslContexts,
    below_context,
    retry_after_outcome,
)

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
TIMEOUT = 10  # seconds: loopback answers in milliseconds, a busy machine may take seconds


def target(server: HttpsServer, path: str = "/v1/health?key=s3cret", **promises: Any) -> Target:
    return Target(
        name="api",
        timeout=TIMEOUT,
        promises={"every": 60, **promises},
        headers={"Authorization": "Bearer sk-live-secret"},
        **server.target_fields(path),
    )


def check(target: Target) -> dict[str, dict[str, Outcome]]:
    """{family: {promise: outcome}} of one round over both families."""

    async def both() -> dict[str, dict[str, Outcome]]:
        async with Prober("lab") as prober:
            checks = PromiseChecks(prober, lambda: NOW)
            found = {}
            for family in FAMILIES:
                found[family] = {o.promise: o for o in await checks.check(target, family)}
            return found

    return asyncio.run(both())


@pytest.fixture(scope="module")
def refused_port():
    with PlaintextServer("refuse") as plain:
        yield plain.port


def test_a_server_that_still_accepts_tls_1_2_breaks_tls_only(https_server, refused_port):
    found = check(target(https_server(), plaintext_port=refused_port))
    for family in FAMILIES:
        outcome = found[family]["tls_only"]
        assert not outcome.kept
        assert outcome.detail == "a handshake offering at most TLS 1.2 succeeded (TLSv1.2)"


def test_a_server_that_refuses_tls_1_2_keeps_tls_only(https_server, refused_port):
    found = check(target(https_server(tls_min_version="1.3"), plaintext_port=refused_port))
    for family in FAMILIES:
        outcome = found[family]["tls_only"]
        assert outcome.kept
        assert outcome.detail in (  # an alert, or the connection closed: both refuse it
            "a handshake offering at most TLS 1.2 was refused (tlsv1 alert protocol version)",
            "a handshake offering at most TLS 1.2 was cut off by the server",
        )


def test_a_certificate_the_target_does_not_trust_gives_no_verdict(
    tls_ca, https_server, refused_port
):
    """A failure on the certificate proves nothing about TLS 1.2."""
    stranger = HttpsServer()  # its own CA, not the target's ca_file
    with stranger:
        fields = stranger.target_fields("/")
        fields["ca_file"] = https_server().ca_file
        probe = Target(name="api", timeout=TIMEOUT, promises={"plaintext_port": refused_port}, **fields)
        found = check(probe)
    for family in FAMILIES:
        assert "tls_only" not in found[family]
        assert found[family]["plaintext_rejected"].kept


@pytest.mark.parametrize(
    ("mode", "kept", "detail"),
    [
        (301, False, "plaintext request on port {port} answered 301"),
        (200, False, "plaintext request on port {port} answered 200"),
        (403, True, "plaintext request on port {port} answered 403"),
        ("close", True, "no HTTP answer on port {port}"),
        ("refuse", True, "no HTTP answer on port {port} (connection refused)"),
    ],
)
def test_plaintext_is_rejected_by_no_answer_or_a_4xx(https_server, mode, kept, detail):
    server = https_server(tls_min_version="1.3")
    with PlaintextServer(mode, headers={"Location": "https://api.test/"}) as plain:
        found = check(target(server, plaintext_port=plain.port))
        sent = list(plain.requests)
    for family in FAMILIES:
        outcome = found[family]["plaintext_rejected"]
        assert (outcome.kept, outcome.detail) == (kept, detail.format(port=plain.port))
    for head in sent:  # nothing secret ever goes out in clear
        assert head.startswith(b"GET /v1/health HTTP/1.1\r\n")
        assert b"s3cret" not in head
        assert b"sk-live" not in head
        assert f"Host: api.test:{plain.port}".encode() in head


@pytest.mark.parametrize(("headers", "kept"), [({"Retry-After": "30"}, True), ({}, False)])
def test_a_429_on_the_plaintext_port_is_checked_for_retry_after(https_server, headers, kept):
    with PlaintextServer(429, headers=headers) as plain:
        found = check(target(https_server(), plaintext_port=plain.port))
    for family in FAMILIES:
        assert found[family]["plaintext_rejected"].kept  # a 429 is a 4xx
        assert found[family]["retry_after_on_429"].kept is kept


@pytest.mark.parametrize(
    ("headers", "kept"),
    [
        ({"Retry-After": "5"}, True),
        ({"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}, True),
        ({}, False),
        ({"Retry-After": "soon"}, False),
    ],
)
def test_every_429_a_probe_sees_is_a_retry_after_check(https_server, headers, kept):
    server = https_server(routes={"/busy": Route(status=429, headers=headers)})

    async def probe_both() -> list[Outcome | None]:
        async with Prober("lab") as prober:
            results = [await prober.probe(target(server, "/busy"), f) for f in FAMILIES]
        return [retry_after_outcome(result, NOW) for result in results]

    for outcome in asyncio.run(probe_both()):
        assert outcome is not None
        assert (outcome.promise, outcome.kept) == ("retry_after_on_429", kept)


def test_an_answer_other_than_429_is_no_retry_after_check(https_server):
    server = https_server()

    async def probe() -> Outcome | None:
        async with Prober("lab") as prober:
            return retry_after_outcome(await prober.probe(target(server), "ipv4"), NOW)

    assert asyncio.run(probe()) is None


def test_a_host_without_an_address_of_a_family_breaks_both_families(https_server, refused_port):
    server = https_server()
    fields = server.target_fields("/", families=["ipv4"])
    found = check(Target(name="api", promises={"plaintext_port": refused_port}, **fields))
    assert found["ipv4"]["both_families"].kept
    assert not found["ipv6"]["both_families"].kept
    assert set(found["ipv6"]) == {"both_families"}  # nothing else can be checked without one


def test_promises_switched_off_are_not_checked(https_server):
    found = check(
        target(https_server(), tls_only=False, plaintext_rejected=False, retry_after_on_429=False)
    )
    assert {promise for outcomes in found.values() for promise in outcomes} == {"both_families"}


def test_the_context_cache_gives_what_a_fresh_context_would(ca_file):
    contexts = SslContexts()
    for promised in ("1.3", "1.2"):
        cached, fresh = contexts.get(ca_file, promised), below_context(ca_file, promised)
        assert contexts.get(ca_file, promised) is cached
        assert (cached.maximum_version, cached.minimum_version, cached.verify_mode) == (
            fresh.maximum_version,
            fresh.minimum_version,
            fresh.verify_mode,
        )
        assert cached.get_ca_certs() == fresh.get_ca_certs()
