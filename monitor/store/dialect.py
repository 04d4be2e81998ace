"""What differs between SQLite and PostgreSQL, behind one interface the Store calls.

Like Gatus' specific_sqlite.go and specific_postgres.go beside one store: the Store's
logic never asks which database it has; each of these classes answers for its own.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any

import numpy as np
from sqlalchemy.engine import Connection, Engine

from monitor.store.rows import Measured

# "INSERT ... ON CONFLICT" of a rollup chunk, with the dialect's parameter marks.
UPSERT_ROLLUP = (
    "INSERT INTO slice_rollup (series_id, slice_seconds, chunk, data) VALUES ({marks})"
    " ON CONFLICT (series_id, slice_seconds, chunk)"
)


class Dialect(ABC):
    """One database's way of doing what the Store needs done."""

    mark: str  # the driver's own parameter marker, for driver-level SQL

    @abstractmethod
    def configure(self, engine: Engine) -> None:
        """Hook connection and transaction setup into a new engine."""

    @abstractmethod
    def lock_schema(self, conn: Connection) -> None:
        """Until this transaction ends, no other process changes the schema or rollup lengths."""

    @abstractmethod
    def select_by_series(
        self, cursor: Any, sql: str, series_ids: list[int], params: tuple[Any, ...]
    ) -> Iterator[tuple[Any, ...]]:
        """Rows of `sql`, whose `{series}` means "series_id is one of these" and `{mark}` a
        parameter (`params`, in order) after them."""

    @abstractmethod
    def insert_rows(self, raw: Any, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        """Insert full probe rows (none stored yet) over the driver connection `raw`."""

    @abstractmethod
    def insert_measured(
        self, raw: Any, series_id: np.ndarray, started_us: np.ndarray, measured: Measured
    ) -> None:
        """Insert import rows (none stored yet) in MEASURED_COLUMNS, from columns."""

    @abstractmethod
    def lock_rollups(self, raw: Any, slice_seconds: int, keys: list[tuple[int, int]]) -> str:
        """Make two writers of the same (series, chunk) rollups queue up instead of both
        merging into what they read; returns what the SELECT of those chunks ends with."""

    def upsert_rollup(self) -> str:
        return UPSERT_ROLLUP.format(marks=", ".join([self.mark] * 4))
