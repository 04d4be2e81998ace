"""The connection to the database that every part of the store works through.

`Database` holds the engine and the Dialect and says how a transaction goes wrong; each of
the Store's parts (`probes`, `rollups`, `incidents`, `schema`) is a small class over one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlmodel import create_engine

from monitor.errors import StoreError
from monitor.store.dialect import Dialect
from monitor.store.postgres import Postgres
from monitor.store.sqlite import Sqlite
from monitor.text.redact import redact_url, scrub


class Database:
    """An engine on `url` with its Dialect; safe to share between threads (pooled)."""

    def __init__(self, url: str) -> None:
        self.url = url
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
        self.dialect: Dialect = Sqlite() if self.engine.dialect.name == "sqlite" else Postgres()
        self.dialect.configure(self.engine)
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
        """A write transaction, its errors a StoreError that says `doing`."""
        with self._errors(doing), self._writing.begin() as conn:
            yield conn

    @contextmanager
    def connection(self, doing: str) -> Iterator[Connection]:
        """A connection that may write, outside a transaction: for a run of statements each
        committed on its own (the caller commits)."""
        with self._errors(doing), self._writing.connect() as conn:
            yield conn

    @contextmanager
    def reading(self, doing: str) -> Iterator[Connection]:
        """A connection for reading (readers never take SQLite's write lock)."""
        with self._errors(doing), self.engine.connect() as conn:
            yield conn

    def select_by_series(
        self, conn: Connection, sql: str, series_ids: list[int], *params: Any
    ) -> list[tuple[Any, ...]]:
        """Rows of `sql` over these series (see Dialect.select_by_series), on the driver."""
        cursor = driver_connection(conn).cursor()
        try:
            return list(self.dialect.select_by_series(cursor, sql, series_ids, params))
        finally:
            cursor.close()


def driver_connection(conn: Connection) -> Any:
    """The DB-API connection under SQLAlchemy's: the bulk paths use its cursor directly."""
    raw = conn.connection.driver_connection
    if raw is None:  # only once the connection is closed or invalidated
        raise StoreError("the database connection was lost")
    return raw
