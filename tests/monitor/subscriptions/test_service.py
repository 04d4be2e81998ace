"""The subscription service on a real socket (uvicorn), as a browser or a script meets it:
the same answer for every address, limits answered 429 with Retry-After, links that need a
POST to act, forged and expired links refused, bad bodies answered 4xx, private webhook
URLs refused."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from support.subscriptions import (
    COMPONENTS,
    ServiceUnderTest,
    button_token,
    paragraphs,
    write_config,
)

from monitor.config import load_config
from monitor.notify.subscribers import Links
from monitor.notify.tokens import Tokens
from monitor.subscriptions import forms
from sla.vocabulary import EventKind, SubscriberKind


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_service(tmp_path: Path, clock: Clock) -> Iterator:
    running: list[ServiceUnderTest] = []

    def make(**options) -> ServiceUnderTest:
        folder = tmp_path / f"service-{len(running)}"
        folder.mkdir()
        service = ServiceUnderTest.of(write_config(folder, 2525, **options), clock)
        running.append(service)
        return service

    yield make
    for service in running:
        service.close()


@pytest.fixture
def service(make_service) -> ServiceUnderTest:
    return make_service()


def confirmation_link(service: ServiceUnderTest, email: str) -> str:
    """The link the newest confirmation email to `email` carries."""
    settings = service.config.status_page.subscriptions
    due = [
        d
        for d in service.store.subscriptions.due_messages(
            SubscriberKind.EMAIL, datetime.now(UTC) + timedelta(days=3), 100
        )
        if d.kind == EventKind.SUBSCRIPTION_CONFIRM and d.subscriber.email == email
    ]
    latest = due[-1]
    return Links(settings).confirm(
        latest.subscriber.id, latest.payload["components"], latest.occurred
    )


def test_every_answer_is_the_same_for_new_pending_and_confirmed_addresses(service) -> None:
    chosen = {"components": [COMPONENTS[0]]}
    new = service.post("/email", {"email": "new@example.com", **chosen})
    pending = service.post("/email", {"email": "new@example.com", **chosen})
    service.store.subscriptions.add_subscribers(
        ["done@example.com"], [], datetime.now(UTC), confirmed=True, new_ids=["d1"]
    )
    done = service.post("/email", {"email": "done@example.com", **chosen})
    assert new.status_code == pending.status_code == done.status_code == 200
    assert new.text == pending.text
    assert done.text == new.text.replace("new@example.com", "done@example.com")
    assert set(new.headers.items()) - {("content-length", new.headers["content-length"])} == set(
        done.headers.items()
    ) - {("content-length", done.headers["content-length"])}


def test_a_confirmation_link_shows_a_button_and_only_its_post_confirms(service) -> None:
    service.post("/email", {"email": "a@example.com", "components": [COMPONENTS[1]]})
    link = confirmation_link(service, "a@example.com")
    for _ in range(3):  # a link scanner opens it, again and again
        page = service.client.get(link)
        assert page.status_code == 200
        assert ">Confirm subscription</button>" in page.text
    (pending,) = service.store.subscriptions.subscribers()
    assert pending.confirmed is None
    done = service.post("/confirm", {"token": button_token(page.text)})
    assert done.status_code == 200
    assert "You are subscribed" in done.text
    assert "<li>Website</li>" in done.text
    (subscriber,) = service.store.subscriptions.subscribers()
    assert subscriber.confirmed is not None
    assert subscriber.components == ("Website",)


def test_forged_and_expired_links_are_refused(service, clock) -> None:
    service.post("/email", {"email": "a@example.com"})
    link = confirmation_link(service, "a@example.com")
    token = link.split("token=", 1)[1]
    forged = Tokens(lambda: b"not the secret").confirm(
        service.store.subscriptions.subscribers()[0].id, [], clock.now
    )
    for bad in (forged, token[:-2] + "AA", "x" * 5000, "%ff%fe", token + ".x", "a.b"):
        answer = service.post("/confirm", {"token": bad})
        assert answer.status_code == 400, bad
        assert "not valid" in answer.text
    assert service.post("/confirm", {"token": ""}).status_code == 400
    clock.now += timedelta(hours=48, seconds=1)
    assert service.client.get(link).status_code == 400
    assert service.store.subscriptions.subscribers()[0].confirmed is None


def test_get_never_unsubscribes_and_one_click_post_does(service) -> None:
    service.store.subscriptions.add_subscribers(
        ["a@example.com"], [], datetime.now(UTC), confirmed=True, new_ids=["u1"]
    )
    link = Links(service.config.status_page.subscriptions).unsubscribe("u1")
    for _ in range(3):
        page = service.client.get(link)
        assert page.status_code == 200
        assert ">Unsubscribe</button>" in page.text
    assert [s.id for s in service.store.subscriptions.subscribers()] == ["u1"]
    gone = service.client.post(
        link,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert gone.status_code == 200
    assert "You are unsubscribed" in gone.text
    assert service.store.subscriptions.subscribers() == []
    again = service.client.post(link, content=b"List-Unsubscribe=One-Click")
    assert again.status_code == 200
    assert again.text == gone.text


def test_the_twenty_first_request_of_a_client_in_an_hour_is_429_with_retry_after(
    make_service,
) -> None:
    service = make_service(subscriptions="trusted_proxies: []")
    answers = [service.post("/email", {"email": f"user{n}@example.com"}) for n in range(21)]
    assert [a.status_code for a in answers[:20]] == [200] * 20
    assert answers[20].status_code == 429
    assert 3500 <= int(answers[20].headers["Retry-After"]) <= 3600
    # Bad requests count too, and a forwarded-for header from an untrusted peer is ignored.
    spoofed = service.post(
        "/email", {"email": "x@example.com"}, headers={"X-Forwarded-For": "203.0.113.9"}
    )
    assert spoofed.status_code == 429


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(service) -> None:
    for n in range(20):
        forwarded = {"X-Forwarded-For": "203.0.113.7"}
        assert service.post("/email", {"email": f"u{n}@example.com"}, headers=forwarded).is_success
    limited = service.post(
        "/email", {"email": "u@example.com"}, headers={"X-Forwarded-For": "203.0.113.7"}
    )
    assert limited.status_code == 429
    other = service.post(
        "/email", {"email": "u@example.com"}, headers={"X-Forwarded-For": "2001:db8::1"}
    )
    assert other.status_code == 200


def test_a_fourth_confirmation_for_one_address_in_a_day_is_429(service) -> None:
    answers = [
        service.post(
            "/email", {"email": "victim@example.com"}, headers={"Accept": "application/json"}
        )
        for _ in range(4)
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert 86000 <= int(answers[3].headers["Retry-After"]) <= 86400
    assert "try again" in answers[3].json()["message"]
    assert answers[0].json()["message"].startswith("If victim@example.com can receive email")


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({"Content-Type": "application/json"}, b'{"email": "a@example.com"}', 400),
        ({"Content-Type": "text/plain"}, b"email=a@example.com", 400),
        (
            {"Content-Type": "application/x-www-form-urlencoded; charset=latin-1"},
            b"email=a%40b.co",
            400,
        ),
        ({}, b"email=a%40example.com", 400),
        ({"Content-Type": "application/x-www-form-urlencoded"}, b"email=%ff%fe%40x.com", 400),
        ({"Content-Type": "application/x-www-form-urlencoded"}, b"\xff\xfe=\x00", 400),
        ({"Content-Type": "application/x-www-form-urlencoded"}, b"email=", 400),
        (
            {"Content-Type": "application/x-www-form-urlencoded"},
            b"email=a@x.com&email=b@x.com",
            400,
        ),
        ({"Content-Type": "application/x-www-form-urlencoded"}, b"email=not-an-address", 400),
        (
            {"Content-Type": "application/x-www-form-urlencoded"},
            b"email=a%40x.com%0ABcc:%20b%40x.com",
            400,
        ),
        ({"Content-Type": "application/x-www-form-urlencoded"}, b"email==cmd%40x.com", 400),
        (
            {"Content-Type": "application/x-www-form-urlencoded"},
            b"email=a%40x.com&components=Nope",
            400,
        ),
        ({"Content-Type": "application/x-www-form-urlencoded"}, b"&".join([b"a=b"] * 300), 400),
        ({"Content-Type": "application/x-www-form-urlencoded"}, b"email=" + b"a" * 40_000, 413),
    ],
)
def test_malformed_requests_get_a_4xx_page_never_a_traceback(service, headers, body, status):
    answer = service.post("/email", content=body, headers=headers)
    assert answer.status_code == status, answer.text
    assert "Traceback" not in answer.text
    assert 'File "' not in answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert service.store.subscriptions.subscribers() == []


def raw_request(service: ServiceUnderTest, head: bytes) -> bytes:
    """Bytes on a socket, for what an HTTP library will not send (a lying Content-Length)."""
    url = httpx.URL(service.base)
    with socket.create_connection((url.host, url.port), timeout=10) as sock:
        sock.sendall(head)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_a_declared_length_over_the_limit_is_413_before_any_byte_is_read(service) -> None:
    answer = raw_request(
        service,
        b"POST /subscriptions/email HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 99999999\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 413 ")


def test_a_request_head_that_is_not_http_is_refused_without_a_traceback(service) -> None:
    answer = raw_request(service, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ") or answer == b""
    assert service.get("/").status_code == 200  # and the service goes on


def test_a_huge_body_sent_in_chunks_is_cut_off_at_the_limit(service) -> None:
    def chunks():
        yield b"email="
        for _ in range(1000):
            yield b"a" * 1024

    answer = service.post(
        "/email", content=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert answer.status_code == 413


def test_a_body_too_slow_to_arrive_is_408(service, monkeypatch) -> None:
    monkeypatch.setattr(forms, "BODY_SECONDS", 0.5)
    import time

    def slow():
        yield b"email="
        time.sleep(3.0)  # six times the limit: a busy server still sees it late
        yield b"a%40example.com"

    answer = service.post(
        "/email", content=slow(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert answer.status_code == 408


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://[::1]/hook",
        "https://localhost/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[fe80::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://224.0.0.1/hook",
        "https://0.0.0.0/hook",
        "https://100.64.0.1/hook",
    ],
)
def test_webhooks_on_private_addresses_are_refused(make_service, url: str) -> None:
    service = make_service(allow_private=False)
    answer = service.post("/webhook", {"url": url, "email": "owner@example.com"})
    assert answer.status_code == 400
    assert "non-public address" in answer.text
    assert service.store.subscriptions.subscribers() == []


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://203.0.113.5/hook", "must start with https://"),
        ("ftp://example.com/x", "must start with https://"),
        ("https:///nohost", "has no host"),
        ("https://no-such-host.invalid/hook", "does not resolve"),
        ("https://exa mple.com/", "plain https:// URL"),
        ("https://" + "a" * 3000 + ".com/", "plain https:// URL"),
    ],
)
def test_webhook_urls_that_are_not_https_urls_are_refused(make_service, url, says) -> None:
    service = make_service(allow_private=False)
    answer = service.post("/webhook", {"url": url, "email": "owner@example.com"})
    assert answer.status_code == 400
    assert says in answer.text


def test_a_webhook_is_confirmed_by_its_owner_and_its_secret_shown_once(service) -> None:
    answer = service.post(
        "/webhook", {"url": "https://127.0.0.1:9/hook?key=abc", "email": "owner@example.com"}
    )
    assert answer.status_code == 200
    assert "owner@example.com" in answer.text
    assert "key=abc" not in answer.text
    link = confirmation_link(service, "owner@example.com")
    token = button_token(service.client.get(link).text)
    first = service.post("/confirm", {"token": token})
    (hook,) = service.store.subscriptions.subscribers()
    assert hook.kind == SubscriberKind.WEBHOOK
    assert hook.secret
    assert hook.secret in first.text
    second = service.post("/confirm", {"token": token})
    assert second.status_code == 200
    assert hook.secret not in second.text


def test_pages_carry_no_store_no_referrer_and_a_strict_policy(service) -> None:
    for answer in (
        service.get("/"),
        service.post("/email", {"email": "a@example.com"}),
        service.get("/confirm?token=bad"),
    ):
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert "default-src 'none'" in answer.headers["content-security-policy"]
        assert answer.headers["x-frame-options"] == "DENY"
        assert "server" not in answer.headers


def test_unknown_paths_and_methods_are_plain_4xx(service) -> None:
    assert service.get("/nope").status_code == 404
    assert service.get("/email").status_code == 405
    assert service.client.delete(f"{service.base}/unsubscribe").status_code == 405
    home = service.get("/")
    assert home.status_code == 200
    assert "Subscribe to updates" in home.text
    assert "&lt;b&gt;Search&lt;/b&gt; &amp; &#34;more&#34;" in home.text  # a name is text
    assert service.get("/style.css").headers["content-type"].startswith("text/css")


def test_a_service_with_email_off_has_no_email_form(make_service) -> None:
    service = make_service(subscriptions="email: false")
    assert service.post("/email", {"email": "a@example.com"}).status_code == 404
    assert 'action="' + service.base + '/email"' not in service.get("/").text


def test_a_component_chosen_by_name_is_kept_by_name(service) -> None:
    service.post("/email", {"email": "a@example.com", "components": [COMPONENTS[2], "website"]})
    (subscriber,) = service.store.subscriptions.subscribers()
    assert subscriber.components == tuple(sorted([COMPONENTS[1], COMPONENTS[2]]))
    assert paragraphs(service.get("/confirm?token=x").text)[0].startswith("This confirmation link")


def test_the_config_refuses_subscriptions_without_email(tmp_path: Path) -> None:
    path = write_config(tmp_path, 2525)
    text = path.read_text()
    start = text.index("notifications:")
    path.write_text(text[:start] + text[text.index("status_page:") :])
    from monitor.errors import ConfigError

    with pytest.raises(
        ConfigError, match=r"status_page.subscriptions.email: needs notifications.email"
    ):
        load_config(path)


@pytest.mark.parametrize(
    "path", ["/subscriptions", "/subscriptions/", "/subscriptions/email", "/subscriptions/x"]
)
def test_a_receiver_sharing_the_listener_cannot_take_the_services_paths(
    tmp_path: Path, path: str
) -> None:
    config = write_config(tmp_path, 2525, top=f"webhook_receivers: [{{name: p, path: {path}}}]")
    from monitor.errors import ConfigError

    with pytest.raises(ConfigError, match=r"webhook_receivers\[0\]\.path: is under the"):
        load_config(config)
    config.write_text(config.read_text().replace(f"path: {path}}}", "path: /hooks/p}"))
    assert [r.path for r in load_config(config).webhook_receivers] == ["/hooks/p"]
