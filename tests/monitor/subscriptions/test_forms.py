"""What a subscribe request may carry: addresses, components, and the per-client limit."""

from __future__ import annotations

import pytest

from monitor.config import StatusComponent
from monitor.subscriptions.forms import Components, email_address
from monitor.subscriptions.limits import SlidingWindow, client_key


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("Alice@Example.COM", "alice@example.com"),
        ("  ops+status@sub.example.org ", "ops+status@sub.example.org"),
        ("o'brien@example.ie", "o'brien@example.ie"),
        ("user@xn--bcher-kva.example", "user@xn--bcher-kva.example"),
    ],
)
def test_addresses_are_kept_in_lower_case(given: str, kept: str) -> None:
    assert email_address(given) == kept


@pytest.mark.parametrize(
    "given",
    [
        "",
        "plain",
        "a@b",
        "a@@example.com",
        "a b@example.com",
        "a@example.com\nBcc: b@example.com",
        "a@example.com,b@example.com",
        "<a@example.com>",
        "Alice <a@example.com>",
        "=HYPERLINK(1)@example.com",
        "+1@example.com",
        "-x@example.com",
        "'a@example.com",
        "a@-example.com",
        "a..b@example.com",
        "ünï@example.com",
        "a@" + "b" * 250 + ".com",
        "a" * 65 + "@example.com",
    ],
)
def test_anything_but_a_plain_address_is_refused(given: str) -> None:
    with pytest.raises(ValueError, match="not an email address"):
        email_address(given)


def test_components_are_chosen_by_name_or_id_and_kept_in_page_order() -> None:
    components = Components.of(
        [
            StatusComponent(name="Public API", services=("a",)),
            StatusComponent(name="<Search>", services=("b",)),
        ]
    )
    assert components.choose(["<Search>", "public-api", "Public API"]) == ("Public API", "<Search>")
    assert components.choose([]) == ()
    with pytest.raises(ValueError, match="no component named 'Nope'"):
        components.choose(["Nope"])
    assert components.from_ids(["-search-", "gone"]) == ("<Search>",)


def test_a_client_gets_its_limit_per_window_and_the_wait_until_a_slot_frees() -> None:
    window = SlidingWindow(limit=3, window=60)
    assert [window.hit("a", t) for t in (0, 10, 20)] == [None, None, None]
    assert window.hit("a", 30) == 30  # the hit at 0 leaves at 60
    assert window.hit("b", 30) is None  # another client
    assert window.hit("a", 60) is None


def test_the_limiter_forgets_the_least_recent_clients_beyond_its_size() -> None:
    window = SlidingWindow(limit=1, window=3600, keys=100)
    for n in range(1000):
        window.hit(str(n), 0)
    assert window.hit("999", 1) is not None  # recent: remembered
    assert window.hit("0", 1) is None  # forgotten, not a memory leak


def test_an_ipv6_client_is_counted_by_its_64() -> None:
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:bbbb::2")
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:192.0.2.1") == client_key("192.0.2.1") == "192.0.2.1"
    assert client_key(None) == "-"
