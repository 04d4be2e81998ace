"""Posting to a subscriber's webhook: only checked public addresses, within one deadline,
reading a bounded answer (a local HTTPS server plays the receiver)."""

from __future__ import annotations

import time

import pytest
from support.https import Route

from monitor.notify.webhooks import (
    WebhookError,
    WebhookPoster,
    WebhookRefused,
    check_destination,
    not_public,
    signature,
)


@pytest.mark.parametrize(
    ("address", "private"),
    [
        ("127.0.0.1", True),
        ("10.0.0.1", True),
        ("172.16.5.4", True),
        ("192.168.1.1", True),
        ("169.254.169.254", True),
        ("100.64.0.1", True),
        ("0.0.0.0", True),
        ("224.0.0.251", True),
        ("255.255.255.255", True),
        ("::1", True),
        ("fe80::1%eth0", True),
        ("fd00::1", True),
        ("ff02::1", True),
        ("::ffff:10.0.0.1", True),
        ("2001:db8::1", True),  # documentation: not global
        ("8.8.8.8", False),
        ("2606:4700:4700::1111", False),
    ],
)
def test_only_global_unicast_addresses_are_public(address: str, private: bool) -> None:
    assert not_public(address) is private


def test_a_host_with_one_private_address_among_public_ones_is_refused() -> None:
    def resolve(host: str, port: int) -> list[str]:
        return ["8.8.8.8", "10.0.0.5"]

    with pytest.raises(WebhookRefused, match="non-public"):
        check_destination("https://hooks.example.com/x", allow_private=False, resolve=resolve)
    assert check_destination(
        "https://hooks.example.com/x", allow_private=True, resolve=resolve
    ) == ["8.8.8.8", "10.0.0.5"]


def test_the_connection_goes_to_the_checked_address_not_to_a_second_lookup(
    https_server, monkeypatch, ca_file
) -> None:
    """`api.test` exists in no DNS: only the checked answer can have reached the server, and
    the certificate was still verified for `api.test`."""
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    receiver = https_server(routes={"/hook": Route(status=202)})
    lookups: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    poster = WebhookPoster(allow_private=True, resolve=resolve)
    assert poster.post(receiver.url("/hook"), b"{}", {"X-Test": "1"}) == 202
    assert lookups == ["api.test"]
    (request,) = receiver.requests
    assert request.headers["host"].startswith("api.test:")
    assert request.body == b"{}"


def test_a_hanging_receiver_fails_the_delivery_at_its_deadline(
    https_server, monkeypatch, ca_file
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    # 200 bytes a third of a second apart: the whole answer takes 60 s, each read none.
    receiver = https_server(routes={"/slow": Route(trickle=0.3, body=b"x" * 200)})
    poster = WebhookPoster(allow_private=True, deadline=1.0)
    started = time.monotonic()
    with pytest.raises(WebhookError, match="in time"):
        poster.post(receiver.url("/slow", host="127.0.0.1"), b"{}", {})
    # Cut at the deadline, not after the whole answer: half of it leaves a busy machine room.
    assert time.monotonic() - started < 30


def test_a_huge_answer_is_read_only_in_part(https_server, monkeypatch, ca_file) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    receiver = https_server(routes={"/big": Route(body_size=50 << 20)})
    poster = WebhookPoster(allow_private=True)
    assert poster.post(receiver.url("/big", host="127.0.0.1"), b"{}", {}) == 200


def test_a_receiver_with_an_untrusted_certificate_gets_nothing(https_server) -> None:
    receiver = https_server(routes={"/hook": Route()})
    poster = WebhookPoster(allow_private=True)  # no SSL_CERT_FILE: the test CA is unknown
    with pytest.raises(WebhookError):
        poster.post(receiver.url("/hook", host="127.0.0.1"), b"{}", {})


def test_the_signature_is_an_hmac_of_the_exact_body() -> None:
    assert signature("secret", b'{"a":1}') == (
        "sha256=" + __import__("hmac").new(b"secret", b'{"a":1}', "sha256").hexdigest()
    )
