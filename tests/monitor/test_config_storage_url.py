"""storage.url: the config splits a plain SQLite URL itself, exactly as SQLAlchemy would.

The shortcut keeps SQLAlchemy out of `check-config` and `probe` (start-up time); these
tests hold it equal to SQLAlchemy's own `make_url` and `render_as_string`, so the store
(which parses with SQLAlchemy) always opens the file the config named.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.engine import make_url

from monitor.config import DatabaseUrl, _sqlite_beside, database_url, sqlite_file

EXAMPLES = [
    "sqlite://",
    "sqlite:///",
    "sqlite:///uptime-sla.db",
    "sqlite:///:memory:",
    "sqlite:////var/lib/uptime-sla/sla.db",
    "sqlite:///data/a b+c@d:e%20f.db",
    "sqlite:///line\nbreak.db",
    "sqlite:///dé.db",
    "sqlite+pysqlite:///x.db",
    "sqlite:///file:sla.db?mode=ro&uri=true",
    "sqlite://host/db.sqlite",
    "postgresql+psycopg://sla:p%40ss@db.example:5432/sla",
    "postgresql://sla@[::1]:5432/sla",
]


def sqlalchemy_parts(url: str) -> DatabaseUrl:
    parsed = make_url(url)
    return DatabaseUrl(parsed.drivername, parsed.port, parsed.database)


@pytest.mark.parametrize("url", EXAMPLES)
def test_a_url_splits_as_sqlalchemy_splits_it(url: str) -> None:
    assert database_url(url) == sqlalchemy_parts(url)


@given(st.sampled_from(["sqlite", "sqlite+pysqlite"]), st.text())
def test_any_sqlite_file_name_splits_as_sqlalchemy_splits_it(driver: str, name: str) -> None:
    url = f"{driver}:///{name}"
    assert database_url(url) == sqlalchemy_parts(url)


def sqlalchemy_beside(url: str, base: Path) -> str:
    """What the config did before the shortcut: SQLAlchemy's URL with the file made absolute."""
    database = make_url(url).database or ""
    absolute = os.path.normpath(os.path.join(base, database))
    return make_url(url).set(database=absolute).render_as_string(hide_password=False)


@given(st.text().filter(lambda name: "?" not in name))
def test_a_relative_sqlite_file_is_made_absolute_as_sqlalchemy_renders_it(name: str) -> None:
    url, base = f"sqlite:///{name}", Path("/etc/uptime sla+%/x")
    database = sqlite_file(url)
    if database is None or os.path.isabs(database):  # memory, a `file:` URI, absolute: kept
        assert _sqlite_beside(url, base) == url
    else:
        assert _sqlite_beside(url, base) == sqlalchemy_beside(url, base)


@pytest.mark.parametrize("url", ["sqlite:///db.sqlite?mode=ro", "sqlite://host/db.sqlite"])
def test_other_relative_sqlite_urls_go_through_sqlalchemy_itself(url: str) -> None:
    assert _sqlite_beside(url, Path("/srv")) == sqlalchemy_beside(url, Path("/srv"))


@pytest.mark.parametrize(
    ("url", "why"),
    [("not a url", "Could not parse"), ("postgresql://h:port/db", "invalid literal for int")],
)
def test_what_sqlalchemy_cannot_read_is_a_value_error(url: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        database_url(url)
