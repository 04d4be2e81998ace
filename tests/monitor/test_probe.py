"""The prober against real loopback HTTPS servers: one request, one family, one reason."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
import time
import tracemalloc
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
from support.bombs import encode, zeros
from support.https import HttpsServer, Route

from monitor.config import Target
from monitor.probing import eventloop
from monitor.probing.probe import HEAD_LIMIT, Prober
from monitor.probing.results import PHASES, ProbeResult, Reason

T = TypeVar("T")
ServerFactory = Callable[..., HttpsServer]
API_KEY = "sk-live-7f3a9c1e5b2d4f60a8e1"


@pytest.fixture(autouse=True, params=eventloop.LOOPS)
def event_loop_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test on both loops: uvloop, which `run` and `probe` use where it is installed,
    and asyncio's own, which they use elsewhere."""
    monkeypatch.setenv(eventloop.ENVIRONMENT, request.param)
    return str(request.param)


def run(coro: Coroutine[Any, Any, T]) -> T:
    """No pytest-asyncio: each test drives its own event loop, as the command line does."""
    return eventloop.run(coro)


def target_for(server: HttpsServer, path: str = "/", **settings: Any) -> Target:
    fields = server.target_fields(path)
    fields.update(settings)
    return Target(name="api-health", service="public-api", **fields)


def probe(target: Target, *families: str, **prober_options: Any) -> dict[str, ProbeResult]:
    """Probe `target` once over each family (concurrently), with a fresh Prober."""

    async def go() -> dict[str, ProbeResult]:
        async with Prober("test-lab", **prober_options) as prober:
            results = await asyncio.gather(*(prober.probe(target, f) for f in families))
        return dict(zip(families, results, strict=True))

    return run(go())


def test_both_families_up_report_status_tls_expiry_address_and_phases(
    https_server: ServerFactory,
) -> None:
    expiry = datetime(2031, 5, 17, 12, 0, 0, tzinfo=UTC)
    server = https_server(cert_not_after=expiry)

    results = probe(target_for(server, "/v1/health"), "ipv4", "ipv6")

    for family, address in (("ipv4", "127.0.0.1"), ("ipv6", "::1")):
        result = results[family]
        assert result.success, result.detail
        assert result.reason is None
        assert (result.target, result.family, result.location) == ("api-health", family, "test-lab")
        assert result.status_code == 200
        assert result.tls_version == "1.3"
        assert result.cert_expiry == expiry
        assert result.address == address
        assert set(result.phases) == set(PHASES)
        assert all(seconds >= 0 for seconds in result.phases.values())
        assert result.duration_seconds >= sum(result.phases.values()) * 0.99
        assert result.started.tzinfo is not None
    assert server.request_count("ipv4", "/v1/health") == 1
    assert server.request_count("ipv6", "/v1/health") == 1
    assert server.requests[0].headers["host"] == f"api.test:{server.port}"


@pytest.mark.parametrize(
    ("path", "sent"),
    [
        ("/v1/status?region=eu&ids=[1,2]#top", "/v1/status?region=eu&ids=[1,2]"),
        ("/a b/./é/../c?q=a b", "/a%20b/c?q=a%20b"),
    ],
    ids=["plain, as written", "quoted as HTTP clients quote"],
)
def test_the_request_line_carries_the_path_and_query(
    https_server: ServerFactory, path: str, sent: str
) -> None:
    server = https_server()

    results = probe(target_for(server, path), "ipv4")

    assert results["ipv4"].success, results["ipv4"].detail
    assert [r.target for r in server.requests] == [sent]


def test_the_started_time_comes_from_the_injected_clock(https_server: ServerFactory) -> None:
    moment = datetime(2026, 2, 10, 2, 30, tzinfo=UTC)
    result = probe(target_for(https_server()), "ipv4", now=lambda: moment)["ipv4"]
    assert result.started == moment


def test_a_server_not_listening_on_ipv6_fails_ipv6_with_connect_while_ipv4_succeeds(
    https_server: ServerFactory,
) -> None:
    server = https_server(families=["ipv4"])

    results = probe(target_for(server), "ipv4", "ipv6")

    assert results["ipv4"].success
    assert not results["ipv6"].success
    assert results["ipv6"].reason == Reason.CONNECT
    assert results["ipv6"].detail == "connection refused"
    assert results["ipv6"].address == "::1"


def test_a_family_stopped_at_runtime_is_refused_until_it_is_started_again(
    https_server: ServerFactory,
) -> None:
    server = https_server()
    target = target_for(server)

    server.stop_family("ipv6")
    while_stopped = probe(target, "ipv4", "ipv6")
    server.start_family("ipv6")
    after_restart = probe(target, "ipv6")

    assert while_stopped["ipv4"].success
    assert while_stopped["ipv6"].reason == Reason.CONNECT
    assert after_restart["ipv6"].success
    assert server.request_count("ipv6") == 1
    assert server.request_count("ipv4") == 1


def test_a_resolve_map_without_an_ipv6_address_gives_no_address(
    https_server: ServerFactory,
) -> None:
    server = https_server()
    target = target_for(server, resolve={"ipv4": ["127.0.0.1"]})

    results = probe(target, "ipv4", "ipv6")

    assert results["ipv4"].success
    assert results["ipv6"].reason == Reason.NO_ADDRESS
    assert not results["ipv6"].success
    assert server.request_count("ipv6") == 0


def test_a_name_without_aaaa_record_is_no_address_and_an_unknown_name_is_dns(
    https_server: ServerFactory,
) -> None:
    server = https_server()

    async def resolver(host: str, port: int, family: int) -> list[str]:
        if host == "v4only.test" and family in (socket.AF_INET, socket.AF_UNSPEC):
            return ["127.0.0.1"]
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    v4only = target_for(server, url=server.url("/", host="v4only.test"), resolve={})
    unknown = target_for(server, url=server.url("/", host="nowhere.test"), resolve={})

    v4 = probe(v4only, "ipv4", "ipv6", resolver=resolver)
    nowhere = probe(unknown, "ipv4", resolver=resolver)["ipv4"]

    assert v4["ipv6"].reason == Reason.NO_ADDRESS
    assert v4["ipv6"].detail == "host has no AAAA record"
    assert "resolve" in v4["ipv6"].phases
    assert v4["ipv4"].reason == Reason.TLS  # reached: the certificate is not for v4only.test
    assert nowhere.reason == Reason.DNS
    assert "name or service not known" in nowhere.detail


def test_localhost_is_resolved_through_getaddrinfo(https_server: ServerFactory) -> None:
    server = https_server()
    target = target_for(server, url=server.url("/", host="localhost"), resolve={})

    results = probe(target, "ipv4", "ipv6")

    assert results["ipv4"].success, results["ipv4"].detail
    assert results["ipv4"].address == "127.0.0.1"
    # Whether localhost has an AAAA record depends on the machine's /etc/hosts.
    assert results["ipv6"].success or results["ipv6"].reason == Reason.NO_ADDRESS


def test_a_tls12_only_server_fails_a_target_requiring_tls13_before_any_request_is_sent(
    https_server: ServerFactory,
) -> None:
    server = https_server(tls_max_version="1.2")

    result = probe(target_for(server, tls_min_version="1.3"), "ipv4")["ipv4"]

    assert not result.success
    assert result.reason == Reason.TLS_VERSION
    assert result.tls_version == "1.2"
    assert "1.3" in result.detail
    assert server.request_count() == 0


def test_a_tls12_only_server_passes_when_tls12_is_enough(https_server: ServerFactory) -> None:
    server = https_server(tls_max_version="1.2")
    result = probe(target_for(server, tls_min_version="1.2"), "ipv6")["ipv6"]
    assert result.success, result.detail
    assert result.tls_version == "1.2"


def test_an_unexpected_status_is_status_and_an_expected_one_succeeds(
    https_server: ServerFactory,
) -> None:
    server = https_server(
        routes={"/down": Route(status=503), "/missing": Route(status=404, body="")}
    )

    down = probe(target_for(server, "/down"), "ipv4")["ipv4"]
    missing = probe(target_for(server, "/missing", expect_status=["200-299", "404"]), "ipv4")

    assert down.reason == Reason.STATUS
    assert not down.success
    assert down.status_code == 503
    assert down.detail == "unexpected status 503"
    assert missing["ipv4"].success


def test_a_body_without_the_expected_text_is_body(https_server: ServerFactory) -> None:
    server = https_server(routes={"/degraded": Route(body='{"status":"degraded"}')})

    bad = probe(target_for(server, "/degraded", body_contains='"status":"ok"'), "ipv4")["ipv4"]
    good = probe(target_for(server, "/", body_contains='"status":"ok"'), "ipv4")["ipv4"]

    assert bad.reason == Reason.BODY
    assert not bad.success
    assert bad.status_code == 200
    assert good.success


def test_a_429_with_retry_after_is_rate_limited_and_counts_as_answered(
    https_server: ServerFactory,
) -> None:
    server = https_server(routes={"/busy": Route(status=429, headers={"Retry-After": "5"})})

    result = probe(target_for(server, "/busy"), "ipv4", "ipv6")

    for family in ("ipv4", "ipv6"):
        assert result[family].success
        assert result[family].reason == Reason.RATE_LIMITED
        assert result[family].status_code == 429
        assert result[family].retry_after_seconds == 5


def test_retry_after_may_be_an_http_date_and_is_ignored_when_invalid(
    https_server: ServerFactory,
) -> None:
    now = datetime(2026, 10, 21, 7, 27, 30, tzinfo=UTC)
    server = https_server(
        routes={
            "/dated": Route(status=429, headers={"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}),
            "/garbage": Route(status=429, headers={"Retry-After": "soon"}),
            "/bare": Route(status=429),
        }
    )

    def retry_after(path: str) -> float | None:
        return probe(target_for(server, path), "ipv4", now=lambda: now)["ipv4"].retry_after_seconds

    assert retry_after("/dated") == 30
    assert retry_after("/garbage") is None
    assert retry_after("/bare") is None


@pytest.mark.parametrize(
    ("header", "held", "detail"),
    [
        ("31536000", 300, "retry after 31536000 s, held 300 s (max_retry_after)"),
        ("99999999999999", 300, "retry after 99999999999999 s, held 300 s (max_retry_after)"),
        ("9" * 400, 300, "retry after 1e+15 s, held 300 s (max_retry_after)"),
        ("Fri, 31 Dec 9999 23:59:59 GMT", 300, "held 300 s (max_retry_after)"),
        ("Wed, 21 Oct 99999 07:28:00 GMT", None, "rate limited (429)"),
        ("Wed, 21 Oct 2026 07:28:00 +9999", None, "rate limited (429)"),
        ("\u00b2", None, "rate limited (429)"),  # a digit to str.isdigit(), not to HTTP
        ("-5", None, "rate limited (429)"),
        ("120", 120, "rate limited (429), retry after 120 s"),
    ],
)
def test_retry_after_is_held_to_max_retry_after_and_no_value_raises(
    https_server: ServerFactory, header: str, held: float | None, detail: str
) -> None:
    server = https_server(routes={"/busy": Route(status=429, headers={"Retry-After": header})})

    result = probe(target_for(server, "/busy", max_retry_after="5m"), "ipv4")["ipv4"]

    assert (result.success, result.reason) == (True, Reason.RATE_LIMITED)
    assert result.retry_after_seconds == held
    assert result.detail.endswith(detail)


def test_a_server_that_never_answers_times_out_without_holding_up_a_healthy_probe(
    https_server: ServerFactory,
) -> None:
    hung = https_server(default=Route(hang=True))
    healthy = https_server()
    timeout = 3.0  # loopback answers in milliseconds: seconds to spare on a busy machine

    async def both() -> tuple[ProbeResult, ProbeResult, float]:
        async with Prober("test-lab") as prober:
            t0 = time.monotonic()
            hung_probe = asyncio.create_task(
                prober.probe(target_for(hung, timeout=timeout), "ipv4")
            )
            healthy_result = await prober.probe(target_for(healthy), "ipv6")
            hung_result = await hung_probe
            return hung_result, healthy_result, time.monotonic() - t0

    hung_result, healthy_result, elapsed = run(both())

    assert hung_result.reason == Reason.TIMEOUT
    assert not hung_result.success
    assert "processing" in hung_result.detail
    assert timeout * 0.9 <= hung_result.duration_seconds < 2 * timeout
    assert elapsed < 2 * timeout
    assert healthy_result.success
    assert healthy_result.duration_seconds < timeout  # done while the hung one still waited
    assert hung.request_count() == 1


def test_a_server_that_accepts_but_never_starts_tls_times_out_in_the_tls_phase(
    https_server: ServerFactory,
) -> None:
    server = https_server(tls_hang=True)
    result = probe(target_for(server, timeout=0.5), "ipv6")["ipv6"]
    assert result.reason == Reason.TIMEOUT
    assert "tls" in result.phases
    assert result.duration_seconds < 5  # the timeout, not the target's 10 s default


def test_a_slowly_trickled_body_ends_at_the_timeout(https_server: ServerFactory) -> None:
    server = https_server(default=Route(body=b"x" * 100, trickle=0.1))  # 10 s for the body
    # 2 s: the head arrives within it even on a busy machine, so the timeout hits the transfer.
    result = probe(target_for(server, timeout=2), "ipv4")["ipv4"]
    assert result.reason == Reason.TIMEOUT
    assert result.status_code is None
    assert "transfer" in result.phases
    assert result.duration_seconds < 6  # the timeout, not the 10 s the body takes


def test_a_certificate_for_another_host_is_tls(https_server: ServerFactory) -> None:
    server = https_server(cert_hosts=["other.test"])

    result = probe(target_for(server), "ipv4", "ipv6")

    for family in ("ipv4", "ipv6"):
        assert result[family].reason == Reason.TLS
        assert result[family].detail.startswith("certificate verify failed")
        assert "api.test" in result[family].detail
    assert server.request_count() == 0


def test_a_certificate_from_an_unknown_authority_is_tls(https_server: ServerFactory) -> None:
    server = https_server()
    result = probe(target_for(server, ca_file=None), "ipv4")["ipv4"]
    assert result.reason == Reason.TLS
    assert "certificate verify failed" in result.detail


def test_an_oversized_body_is_body_and_is_not_read_to_the_end(
    https_server: ServerFactory,
) -> None:
    two_gib = 2 * 1024**3  # far more than could be read within the timeout
    server = https_server(
        routes={
            "/declared": Route(body_size=two_gib),
            "/streamed": Route(body_size=two_gib, content_length=False),
            "/fits": Route(body=b"y" * 1000),
        }
    )

    results = {
        path: probe(target_for(server, path, max_body_bytes=1000, timeout=10), "ipv4")["ipv4"]
        for path in ("/declared", "/streamed", "/fits")
    }

    for path in ("/declared", "/streamed"):
        assert results[path].reason == Reason.BODY
        assert results[path].detail == "body larger than 1000 bytes"
        assert results[path].duration_seconds < 5
    assert results["/fits"].success


def test_method_and_body_are_sent_as_configured(https_server: ServerFactory) -> None:
    server = https_server()
    target = target_for(server, "/v1/echo", method="POST", body='{"ping":1}')

    head = target_for(server, "/v1/echo", method="HEAD", max_body_bytes=1)

    assert probe(target, "ipv6")["ipv6"].success
    assert probe(head, "ipv4")["ipv4"].success  # Content-Length of a HEAD is not a body
    post, head_request = server.requests
    assert (post.method, post.path, post.body) == ("POST", "/v1/echo", b'{"ping":1}')
    assert head_request.method == "HEAD"


def test_every_probe_opens_a_fresh_connection(https_server: ServerFactory) -> None:
    server = https_server()
    target = target_for(server)

    async def three() -> list[ProbeResult]:
        async with Prober("test-lab") as prober:
            return [await prober.probe(target, "ipv4") for _ in range(3)]

    results = run(three())

    assert all(r.success and "connect" in r.phases and "tls" in r.phases for r in results)
    assert server.request_count() == 3


def test_an_unexpected_exception_becomes_error_instead_of_raising(
    https_server: ServerFactory,
) -> None:
    async def broken_resolver(host: str, port: int, family: int) -> list[str]:
        raise RuntimeError("resolver exploded")

    server = https_server()
    target = target_for(server, url=server.url("/", host="api.test"), resolve={})

    result = probe(target, "ipv4", resolver=broken_resolver)["ipv4"]

    assert result.reason == Reason.ERROR
    assert not result.success
    assert "resolver exploded" in result.detail


def test_a_header_value_never_appears_in_any_result_or_log(
    https_server: ServerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret_headers = {"Authorization": f"Bearer {API_KEY}", "X-Api-Key": API_KEY}
    server = https_server(
        routes={
            "/down": Route(status=500),
            "/busy": Route(status=429, headers={"Retry-After": "5"}),
            "/hang": Route(hang=True),
            "/huge": Route(body_size=10_000),
        }
    )
    wrong_host = https_server(cert_hosts=["other.test"])
    old_tls = https_server(tls_max_version="1.2")
    v4_only = https_server(families=["ipv4"])

    def with_key(srv: HttpsServer, path: str = "/", **settings: Any) -> Target:
        settings.setdefault("headers", secret_headers)
        settings.setdefault("timeout", 10)
        return target_for(srv, path, **settings)

    targets = [
        with_key(server),
        with_key(server, "/down"),
        with_key(server, "/busy"),
        with_key(server, "/hang", timeout=1),
        with_key(server, "/huge", max_body_bytes=100),
        with_key(server, body_contains="absent"),
        with_key(wrong_host),
        with_key(old_tls, tls_min_version="1.3"),
        with_key(v4_only),
        with_key(server, resolve={"ipv4": ["127.0.0.1"]}),
        # a value h11 refuses to send: its error message would quote the value
        with_key(server, headers={"Authorization": f"Bearer {API_KEY}\n"}),
    ]

    async def all_probes() -> list[ProbeResult]:
        async with Prober("test-lab") as prober:
            return await asyncio.gather(
                *(prober.probe(t, f) for t in targets for f in ("ipv4", "ipv6"))
            )

    results = run(all_probes())

    reasons = {r.reason for r in results}
    assert {None, Reason.STATUS, Reason.RATE_LIMITED, Reason.TIMEOUT, Reason.BODY} <= reasons
    assert {Reason.TLS, Reason.TLS_VERSION, Reason.CONNECT, Reason.NO_ADDRESS} <= reasons
    assert Reason.ERROR in reasons
    for result in results:
        for value in dataclasses.asdict(result).values():
            assert API_KEY not in str(value), result
    assert API_KEY not in caplog.text
    assert server.request_count() > 0  # the key did go where it belongs


def test_a_probe_never_outlives_its_timeout_even_on_slow_dns(https_server: ServerFactory) -> None:
    async def slow_resolver(host: str, port: int, family: int) -> list[str]:
        await asyncio.sleep(30)
        return ["127.0.0.1"]

    server = https_server()
    target = target_for(server, resolve={}, timeout=0.3)

    result = probe(target, "ipv4", resolver=slow_resolver)["ipv4"]

    assert result.reason == Reason.TIMEOUT
    assert "resolve" in result.detail
    assert result.duration_seconds < 5  # the timeout, not the resolver's 30 s


GIB = 1024**3
BODY_CAP = 1_048_576  # the default max_body_bytes


def beside_a_healthy_probe(hostile: Target, healthy: Target) -> ProbeResult:
    """Probe `hostile` while a healthy target is probed on the same Prober and loop; the
    healthy probe must succeed (a blocked event loop would time it out)."""

    async def both() -> tuple[ProbeResult, ProbeResult]:
        async with Prober("test-lab") as prober:
            return await asyncio.gather(
                prober.probe(hostile, "ipv4"), prober.probe(healthy, "ipv6")
            )

    result, neighbour = run(both())
    assert neighbour.success, neighbour.detail
    return result


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip, gzip", lambda: encode(zeros(2 * GIB, "gzip"), "gzip")),  # 3.4 KB
        ("deflate", lambda: zeros(GIB // 2, "deflate")),  # 0.5 MB on the wire
        ("br", lambda: zeros(GIB // 4, "br")),
        ("gzip, br", lambda: encode(zeros(2 * GIB, "gzip"), "br")),
    ],
)
def test_a_compression_bomb_is_body_once_max_body_bytes_are_decoded_with_little_memory(
    https_server: ServerFactory, encoding: str, body: Callable[[], bytes]
) -> None:
    server = https_server(
        routes={"/bomb": Route(body=body(), headers={"Content-Encoding": encoding})}
    )
    bomb = target_for(server, "/bomb", body_contains="never there", timeout=5)

    tracemalloc.start()
    try:
        result = beside_a_healthy_probe(bomb, target_for(server))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert (result.reason, result.status_code) == (Reason.BODY, 200)
    assert result.detail == f"body larger than {BODY_CAP} bytes once decoded ({encoding})"
    assert peak < 16 * 1024**2  # the decoded body kept for body_contains, and little more


def test_a_coding_on_two_header_lines_is_undone_twice(https_server: ServerFactory) -> None:
    # Header names differ only in case, so the server sends both lines.
    twice = {"Content-Encoding": "gzip", "content-encoding": "gzip"}
    server = https_server(
        routes={
            "/bomb": Route(body=encode(zeros(2 * GIB, "gzip"), "gzip"), headers=twice),
            "/ok": Route(body=encode(b'{"status":"ok"}', "gzip", "gzip"), headers=twice),
        }
    )

    bomb = probe(target_for(server, "/bomb"), "ipv4")["ipv4"]
    ok = probe(target_for(server, "/ok", body_contains='"status":"ok"'), "ipv4")["ipv4"]

    assert (bomb.reason, bomb.detail) == (
        Reason.BODY,
        f"body larger than {BODY_CAP} bytes once decoded (gzip, gzip)",
    )
    assert ok.success, ok.detail


def test_a_body_compressed_although_identity_was_asked_for_is_checked_decoded(
    https_server: ServerFactory,
) -> None:
    text = b'{"status":"ok"}'
    server = https_server(
        routes={
            "/gzip": Route(body=encode(text, "gzip"), headers={"Content-Encoding": "gzip"}),
            "/stacked": Route(
                body=encode(text, "deflate", "br"), headers={"Content-Encoding": "deflate, br"}
            ),
            "/broken": Route(body=b"not gzip at all", headers={"Content-Encoding": "gzip"}),
            "/zstd": Route(body=b"(zstd bytes)", headers={"Content-Encoding": "zstd"}),
        }
    )

    def check(path: str, **settings: Any) -> ProbeResult:
        settings.setdefault("body_contains", '"status":"ok"')
        return probe(target_for(server, path, **settings), "ipv4")["ipv4"]

    assert check("/gzip").success
    assert check("/stacked").success
    assert (check("/broken").reason, check("/broken").detail) == (
        Reason.BODY,
        "body is not valid gzip",
    )
    zstd = check("/zstd")
    assert (zstd.reason, zstd.detail) == (
        Reason.BODY,
        "body has a Content-Encoding the prober cannot decode: zstd",
    )
    assert check("/zstd", body_contains=None).success  # nothing to look for: not decoded


def test_a_content_length_longer_than_the_body_ends_in_timeout_or_error(
    https_server: ServerFactory,
) -> None:
    lying = {"Content-Length": "100000"}
    server = https_server(
        routes={
            "/held": Route(body=b"short", headers=lying, hold_open=True),
            "/closed": Route(body=b"short", headers=lying),
        }
    )

    # 3 s: the head arrives within it even on a busy machine, so the timeout hits the transfer.
    held = beside_a_healthy_probe(target_for(server, "/held", timeout=3), target_for(server))
    closed = probe(target_for(server, "/closed"), "ipv4")["ipv4"]

    assert held.reason == Reason.TIMEOUT
    assert held.detail == "no answer within 3 s (transfer)"
    assert closed.reason == Reason.ERROR
    assert closed.detail.startswith("protocol error: peer closed connection")


def test_a_flood_of_interim_responses_is_cut_off_as_error_and_a_few_are_skipped(
    https_server: ServerFactory,
) -> None:
    server = https_server(routes={"/flood": Route(interim=10**9), "/hints": Route(interim=5)})

    flood = beside_a_healthy_probe(target_for(server, "/flood", timeout=5), target_for(server))
    hints = probe(target_for(server, "/hints"), "ipv4")["ipv4"]

    assert flood.reason == Reason.ERROR  # not TIMEOUT: cut off long before the 5 s
    assert flood.detail.startswith(f"response head larger than {HEAD_LIMIT} bytes")
    assert "processing" in flood.phases
    assert hints.success
    assert hints.status_code == 200
