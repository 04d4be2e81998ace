"""URLs as they may be shown: without passwords, tokens or keys.

Every URL the project prints or logs (the database, Alertmanager, a notifier's endpoint)
goes through `redact_url`; text from a library that may quote a URL or its password (a
driver's error, an HTTP client's exception) goes through `scrub`. Both are pure string
work that never raises, so they are safe on a URL that failed to parse.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote, unquote_plus

MASK = "***"

# Query (or fragment) parameters whose value is a credential, by name (case-insensitive)...
SECRET_PARAMETERS = frozenset(
    {"pass", "pwd", "key", "auth", "sig", "code", "session", "sessionid", "credentials"}
)
# ...or by a part of the name: password, sslpassword, access_token, api_key, client_secret.
SECRET_NAME_PARTS = ("password", "passwd", "secret", "token", "apikey", "api_key", "api-key")

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)")
_MIN_SCRUBBED = 3  # shorter secrets are masked in URLs but not hunted through free text


def is_secret_parameter(name: str) -> bool:
    lowered = unquote_plus(name).strip().lower()
    return lowered in SECRET_PARAMETERS or any(part in lowered for part in SECRET_NAME_PARTS)


def redact_url(url: str, *, hide_path: bool = False) -> str:
    """`url` with userinfo and credential parameters masked: `user:***@`, `?password=***`.

    A userinfo without a password is masked whole (`***@`): a token is often sent as the
    user name. `hide_path` masks the path too, for URLs whose path is the secret (a Slack
    webhook): `https://hooks.slack.com/***`.
    """
    redacted, _ = _split_secrets(url, hide_path)
    return redacted


def url_secrets(url: str) -> list[str]:
    """The credential parts of `url` as written and percent-decoded, longest first."""
    _, secrets = _split_secrets(url, hide_path=False)
    return secrets


def scrub(text: str, *urls: str) -> str:
    """`text` with each URL in `urls`, and each of their credentials, replaced by its mask.

    For messages written by someone else (a database driver, an HTTP library) that may
    quote the URL or the password it was given.
    """
    for url in urls:
        if url:
            text = text.replace(url, redact_url(url))
    for secret in sorted({s for url in urls for s in url_secrets(url)}, key=len, reverse=True):
        if len(secret) >= _MIN_SCRUBBED:
            text = text.replace(secret, MASK)
    return text


def _split_secrets(url: str, hide_path: bool) -> tuple[str, list[str]]:
    secrets: list[str] = []
    scheme_match = _SCHEME.match(url)
    scheme = scheme_match.group(1) if scheme_match else ""
    rest = url[len(scheme) :]
    rest, hash_sign, fragment = rest.partition("#")
    rest, question, query = rest.partition("?")
    userinfo, at, address = _userinfo(rest) if scheme else ("", "", rest)
    if at:
        user, colon, password = userinfo.partition(":")
        if colon:
            secrets.append(password)
            userinfo = f"{user}:{MASK}"
        else:
            secrets.append(user)
            userinfo = MASK
    if hide_path and scheme:
        host, slash, path = address.partition("/")
        if slash and path:
            secrets.append(path)
            address = f"{host}/{MASK}"
    query = _redact_parameters(query, secrets)
    fragment = _redact_parameters(fragment, secrets)
    redacted = f"{scheme}{userinfo}{at}{address}{question}{query}{hash_sign}{fragment}"
    found = {s for raw in secrets if raw for s in (raw, unquote(raw), unquote_plus(raw))}
    return redacted, sorted(found, key=len, reverse=True)


def _userinfo(rest: str) -> tuple[str, str, str]:
    """(userinfo, "@", the rest) or ("", "", rest). A password may hold an unescaped "@"
    or "/": after `user:` the userinfo runs to the last "@" before the query."""
    head = rest.partition("/")[0]
    if ":" in head.partition("@")[0] and "@" in rest:
        return rest.rpartition("@")
    if "@" in head:
        userinfo, at, host = head.rpartition("@")
        return userinfo, at, host + rest[len(head) :]
    return "", "", rest


def _redact_parameters(text: str, secrets: list[str]) -> str:
    parts = []
    for part in text.split("&"):
        name, equals, value = part.partition("=")
        if equals and value and is_secret_parameter(name):
            secrets.append(value)
            parts.append(f"{name}={MASK}")
        else:
            parts.append(part)
    return "&".join(parts)


class RedactingFilter(logging.Filter):
    """Scrubs the credentials of the given URLs from every record a handler emits: the last
    line of defence for a message that quotes what a library was given."""

    def __init__(self, *urls: str) -> None:
        super().__init__()
        self.urls = tuple(url for url in urls if url)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message, *self.urls)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_info, record.exc_text = None, scrub(text, *self.urls)
        return True
