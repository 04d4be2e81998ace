"""SQLite's side of the store: WAL, BEGIN IMMEDIATE, and many rows per INSERT.

pysqlite spends more time binding a row per statement than SQLite spends storing it, so
rows go ROWS_PER_INSERT to an INSERT. Writers take the write lock when they begin, so
they never need a row lock; readers never take it (WAL lets them read on).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import chain
from typing import Any

import numpy as np
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from monitor.probing.results import REASONS
from monitor.store.dialect import Dialect
from monitor.store.rows import MEASURED_COLUMNS, Measured

ROWS_PER_INSERT = 16  # 16 x 14 columns stays under the 999 parameters of old SQLite builds
IN_LIST = 500  # series ids per "IN (...)": well under SQLite's parameter limit
_REASON_TEXT = np.array([*REASONS, None], dtype=object)  # index -1: no reason


class Sqlite(Dialect):
    mark = "?"

    def configure(self, engine: Engine) -> None:
        event.listen(engine, "connect", _pragmas)
        # pysqlite opens transactions lazily; take the write lock up front instead.
        event.listen(engine, "begin", _begin)

    def lock_schema(self, conn: Connection) -> None:
        """BEGIN IMMEDIATE already serializes writers."""

    def select_by_series(
        self, cursor: Any, sql: str, series_ids: list[int], params: tuple[Any, ...]
    ) -> Iterator[tuple[Any, ...]]:
        for start in range(0, len(series_ids), IN_LIST):
            part = series_ids[start : start + IN_LIST]
            marks = ",".join("?" * len(part))
            cursor.execute(sql.format(series=f"series_id IN ({marks})", mark="?"), (*part, *params))
            yield from cursor.fetchall()

    def insert_rows(self, raw: Any, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        _insert(raw, columns, list(chain.from_iterable(rows)))

    def insert_measured(
        self, raw: Any, series_id: np.ndarray, started_us: np.ndarray, measured: Measured
    ) -> None:
        _insert(raw, MEASURED_COLUMNS, _measured_values(series_id, started_us, measured))

    def lock_rollups(self, raw: Any, slice_seconds: int, keys: list[tuple[int, int]]) -> str:
        return ""  # the transaction holds SQLite's one write lock already


def _insert(connection: Any, columns: Sequence[str], values: list[Any]) -> None:
    """Probe rows given flat (one after the other), ROWS_PER_INSERT per statement."""
    head = f"INSERT INTO probe_result ({','.join(columns)}) VALUES "
    one = f"({','.join('?' * len(columns))})"
    whole = len(values) - len(values) % (len(columns) * ROWS_PER_INSERT)
    connection.executemany(
        head + ",".join([one] * ROWS_PER_INSERT),
        zip(*[iter(values[:whole])] * (len(columns) * ROWS_PER_INSERT), strict=True),
    )
    if whole < len(values):
        rest = (len(values) - whole) // len(columns)
        connection.execute(head + ",".join([one] * rest), values[whole:])


def _measured_values(
    series_id: np.ndarray, started_us: np.ndarray, measured: Measured
) -> list[Any]:
    """MEASURED_COLUMNS row after row as Python values, None for NULL."""
    status, latency = measured.status_code, measured.latency_ms
    columns = [
        series_id.tolist(),
        started_us.tolist(),
        measured.success.tolist(),
        _REASON_TEXT[measured.reason].tolist(),
        _or_none(status, status == 0),
        _or_none(latency, np.isnan(latency)),
    ]
    values: list[Any] = [None] * (len(columns) * len(series_id))
    for at, column in enumerate(columns):
        values[at :: len(columns)] = column
    return values


def _or_none(values: np.ndarray, null: np.ndarray) -> list[Any]:
    out = values.tolist()
    for i in np.flatnonzero(null).tolist():
        out[i] = None
    return out


def _begin(conn: Connection) -> None:
    # pysqlite's own transaction handling is off (see _pragmas): begin here.
    conn.exec_driver_sql(
        "BEGIN IMMEDIATE" if conn.get_execution_options().get("write") else "BEGIN"
    )


def _pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets reports read while the writer writes; NORMAL is durable at checkpoints.
    dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" event issues BEGIN itself
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB: bulk imports touch many pages
    cursor.close()
