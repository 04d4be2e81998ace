"""The connection to the database that every part of the store works through.

`Database` holds the engine and the Dialect and says how a transaction goes wrong; the
Store's parts (probes in `core`, operator incidents in `incidents`, ...) build on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlmodel import create_engine

from monitor.errors import StoreError
from monitor.store.dialect import Dialect
from monitor.store.postgres import Postgres
from monitor.store.rows import SeriesKey
from monitor.store.sqlite import Sqlite
from monitor.text.redact import redact_url, scrub


class Database:
    """An engine on `url` with its Dialect; safe to share between threads (pooled)."""

    def __init__(self, url: str) -> None:
        self.url = url
        # Series ids by key: cached across transactions, forgotten when one fails.
        self._series_ids: dict[SeriesKey, int] = {}
        try:
            parsed = make_url(url)
            if parsed.drivername == "postgresql":  # psycopg (3), not SQLAlchemy's psycopg2
                parsed = parsed.set(drivername="postgresql+psycopg")
            self.engine: Engine = create_engine(parsed, pool_pre_ping=True)
        except ImportError:
            raise StoreError(
                f"storage.url: cannot use {redact_url(url)}: the psycopg driver is not installed"
                " (install the postgres extra: pip install '.[postgres]' in a checkout)"
            ) from None
        except (ArgumentError, ValueError) as exc:
            detail = scrub(str(exc), url)  # SQLAlchemy quotes a URL it cannot parse
            raise StoreError(f"storage.url: cannot use {redact_url(url)}: {detail}") from None
        self._dialect: Dialect = Sqlite() if self.engine.dialect.name == "sqlite" else Postgres()
        self._dialect.configure(self.engine)
        # Writers take SQLite's write lock up front; readers never do (WAL lets them read on).
        self._writing = self.engine.execution_options(write=True)

    def describe(self) -> str:
        return redact_url(self.url)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """Database errors as one-line StoreErrors that say what failed, without secrets."""
        try:
            yield
        except SQLAlchemyError as exc:
            detail = scrub(str(getattr(exc, "orig", exc)).splitlines()[0], self.url)
            raise StoreError(f"{redact_url(self.url)}: cannot {doing}: {detail}") from None

    @contextmanager
    def writing(self, doing: str) -> Iterator[Connection]:
        """A write transaction, its errors a StoreError that says `doing`.

        Public for the parts that keep their own tables' SQL (the notification outbox); if
        it fails, the series ids it created do not exist.
        """
        try:
            with self._errors(doing), self._writing.begin() as conn:
                yield conn
        except BaseException:
            self._series_ids.clear()
            raise

    @contextmanager
    def reading(self, doing: str) -> Iterator[Connection]:
        """A connection for reading (readers never take SQLite's write lock)."""
        with self._errors(doing), self.engine.connect() as conn:
            yield conn
