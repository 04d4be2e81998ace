"""Every URL shown to a user loses its credentials, whatever shape it is in."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.text.redact import MASK, redact_url, scrub, url_secrets


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql+psycopg://uptime:s3cret@db:5432/sla",
            "postgresql+psycopg://uptime:***@db:5432/sla",
        ),
        ("http://admin:hunter2@127.0.0.1:9093", "http://admin:***@127.0.0.1:9093"),
        ("https://tok_abcdef@alerts.example/", "https://***@alerts.example/"),
        ("postgresql://u:p%40ss@db/sla", "postgresql://u:***@db/sla"),
        ("postgresql://u:pa/ss@db/sla", "postgresql://u:***@db/sla"),
        ("postgresql://u:p@ss@db/sla", "postgresql://u:***@db/sla"),
        (
            "postgresql://db/sla?user=u&password=s3cret&sslmode=require",
            "postgresql://db/sla?user=u&password=***&sslmode=require",
        ),
        ("postgresql://db/sla?sslpassword=xyzzy", "postgresql://db/sla?sslpassword=***"),
        (
            "https://h/x?PASS=a&Token=b&api_key=c&key=d&Client_Secret=e",
            "https://h/x?PASS=***&Token=***&api_key=***&key=***&Client_Secret=***",
        ),
        ("https://h/cb#access_token=abc&state=1", "https://h/cb#access_token=***&state=1"),
        ("https://h/users/@me?page=2", "https://h/users/@me?page=2"),
        (
            "sqlite:////var/lib/uptime-sla/uptime-sla.db",
            "sqlite:////var/lib/uptime-sla/uptime-sla.db",
        ),
        ("postgresql://u:pw@[::1]:notaport/db", "postgresql://u:***@[::1]:notaport/db"),
        ("not a url at all", "not a url at all"),
    ],
)
def test_credentials_are_masked_and_everything_else_is_kept(url: str, shown: str):
    assert redact_url(url) == shown


def test_a_webhook_whose_path_is_the_secret_can_hide_its_path():
    url = "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX"
    assert redact_url(url, hide_path=True) == "https://hooks.slack.com/***"


def test_scrub_removes_the_password_from_a_drivers_message_in_every_spelling():
    url = "postgresql://uptime:p%40ss%2Fword@db/sla?sslpassword=k3y+phrase"
    message = (
        f'invalid conninfo "{url}": password "p@ss/word" rejected,'
        " sslpassword k3y phrase, raw p%40ss%2Fword"
    )
    cleaned = scrub(message, url)
    for secret in ("p@ss/word", "p%40ss%2Fword", "k3y phrase", "k3y+phrase"):
        assert secret not in cleaned
    assert "postgresql://uptime:***@db/sla?sslpassword=***" in cleaned
    assert "rejected" in cleaned


def test_the_secrets_of_a_url_include_their_decoded_forms():
    assert set(url_secrets("https://u:a%20b@h/?token=c+d")) == {"a%20b", "a b", "c+d", "c d"}


_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)


@given(
    scheme=st.sampled_from(["http", "https", "postgresql+psycopg", "sqlite"]),
    user=_TEXT.filter(lambda s: not set(s) & set(":@/?#")),
    password=st.text(alphabet="abcXYZ019!$%&'()+,;=~@/:", min_size=3, max_size=20),
    host=st.sampled_from(["127.0.0.1", "[::1]", "db.example", "db:5432", "db:x"]),
    tail=st.sampled_from(["", "/", "/db", "/db?sslmode=require", "/a@b", "?x=1#frag"]),
)
def test_no_password_ever_survives_redaction(
    scheme: str, user: str, password: str, host: str, tail: str
):
    url = f"{scheme}://{user}:{password}@{host}{tail}"
    shown = redact_url(url)
    assert shown.startswith(f"{scheme}://{user}:{MASK}@")
    assert password not in shown or password in user + host + tail
    in_query = f"{scheme}://{host}/db?password={password.replace('&', '')}&sslmode=require"
    assert redact_url(in_query).endswith(f"?password={MASK}&sslmode=require")


@given(st.text(max_size=200))
def test_redaction_never_raises(text: str):
    redact_url(text)
    redact_url(text, hide_path=True)
    scrub(text, text)
