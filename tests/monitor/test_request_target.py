"""The request line's path and query: a plain URL's own text, anything else httpx's quoting.

`request_target` skips httpx (and its import) for URLs with nothing to quote; these tests
hold it equal to `httpx.URL(url).raw_path`, the request target the prober sent before.
"""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.probing.probe import request_target

BASE = "https://api.test:8443"

# Plain characters, the ones to quote, escapes, dot segments and the delimiters.
PIECES = st.sampled_from(
    [
        *"aZ09-._~!$&'()*+,;=:@/[]",
        *' %é\\"<>^`{|}.?#💥',
        *("%2e", "%2F", "%zz", "..", "/./", "/../"),
    ]
)


def httpx_target(url: str) -> str:
    return httpx.URL(url).raw_path.decode("ascii")


@pytest.mark.parametrize(
    "rest",
    [
        "",
        "/",
        "/health",
        "?",
        "?probe=1",
        "/v1/status?region=eu&verbose=true#top",
        "/a/./b/../c",
        "/with space/é?q=a b",
        "/already%20quoted?x=%2F",
        "/[brackets]:@!$&'()*+,;=",
    ],
)
def test_a_target_url_is_sent_as_http_clients_send_it(rest: str) -> None:
    assert request_target(BASE + rest) == httpx_target(BASE + rest)


@given(st.lists(PIECES, max_size=12).map("".join))
def test_any_path_query_and_fragment_is_sent_as_http_clients_send_it(rest: str) -> None:
    url = BASE + "/" + rest
    assert request_target(url) == httpx_target(url)


def test_an_ipv6_literal_host_leaves_the_path_alone() -> None:
    assert request_target("https://[::1]:8443/t/1?x=[y]") == "/t/1?x=[y]"
