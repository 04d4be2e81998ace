"""Signed subscriber links: what one stands for, and that nobody without the secret makes one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.notify.tokens import CONFIRM_VALID, Tokens

ASKED = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
tokens = Tokens(lambda: b"the secret")


def test_a_confirmation_carries_its_subscriber_and_components_until_it_expires() -> None:
    token = tokens.confirm("s1", ["public-api", "search"], ASKED)
    found = tokens.read_confirm(token, ASKED + CONFIRM_VALID - timedelta(seconds=1))
    assert found is not None
    assert (found.subscriber_id, found.components) == ("s1", ("public-api", "search"))
    assert tokens.read_confirm(token, ASKED + CONFIRM_VALID) is None


def test_a_token_of_another_secret_or_kind_or_changed_by_one_byte_is_refused() -> None:
    confirm = tokens.confirm("s1", [], ASKED)
    unsubscribe = tokens.unsubscribe("s1")
    assert tokens.read_unsubscribe(unsubscribe) == "s1"
    assert Tokens(lambda: b"another secret").read_unsubscribe(unsubscribe) is None
    assert tokens.read_unsubscribe(confirm) is None
    assert tokens.read_confirm(unsubscribe, ASKED) is None
    body, mac = unsubscribe.split(".")
    for position in range(len(body)):
        changed = body[:position] + ("A" if body[position] != "A" else "B") + body[position + 1 :]
        assert tokens.read_unsubscribe(f"{changed}.{mac}") is None
    for garbage in ("", ".", "a.b.c", "é.é", "x" * 10_000, f"{body}.", f".{mac}"):
        assert tokens.read_unsubscribe(garbage) is None
        assert tokens.read_confirm(garbage, ASKED) is None


def test_a_new_secret_voids_every_earlier_link() -> None:
    secret = [b"first"]
    rotating = Tokens(lambda: secret[0])
    token = rotating.unsubscribe("s1")
    secret[0] = b"second"
    assert rotating.read_unsubscribe(token) is None
