"""The Store: the database's parts, assembled over one connection.

Each part is a small class over the same `Database` and keeps its own tables' SQL:
`probes` (probe results and series), `rollups` (per-slice counts), `incidents` (operator
incidents), `outbox` (the notifications' events, deliveries and leases), `promises`
(promise check runs and webhook deliveries), `subscriptions` (subscribers and their
messages) and `schema` (revisions). The Store holds one of each and answers for probes,
rollups and incidents itself, so most callers see one object; the notification outbox,
promise checks and subscriptions work through `store.outbox`, `store.promises` and
`store.subscriptions`. Nobody outside the store gets a connection. What differs between
SQLite and PostgreSQL is a Dialect each (monitor.store.dialect).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine, Row

from monitor.config import sqlite_file
from monitor.errors import StoreError
from monitor.probing.results import ProbeResult
from monitor.store.base import Database
from monitor.store.incidents import Incidents, StoredIncident, StoredUpdate
from monitor.store.outbox import OutboxTables
from monitor.store.probes import ProbeResults
from monitor.store.promises import Promises
from monitor.store.rollups import SliceRollups
from monitor.store.rows import Imported
from monitor.store.schema import SCHEMA_REVISION, Schema
from monitor.store.subscribers import Subscriptions
from monitor.text.redact import redact_url
from sla.model import FailedProbes, SeriesBlock, SeriesSlices

__all__ = ["SCHEMA_REVISION", "Store"]


class Store:
    """The database; safe to share between threads (SQLAlchemy pools the connections).

    `create=True` (what `run` and `import` need) creates the schema or upgrades it to
    SCHEMA_REVISION, and makes sure rollups of `rollup_seconds` slices exist.
    `create=False` opens the database as it is and changes nothing on opening;
    `Store.existing` also makes sure it is there, at this version's schema.
    """

    def __init__(self, url: str, rollup_seconds: int = 60, *, create: bool = True) -> None:
        _check_sqlite_folder(url)
        self.database = Database(url)
        self.rollups = SliceRollups(self.database)
        self.probes = ProbeResults(self.database, self.rollups)
        self.incidents = Incidents(self.database)
        self.promises = Promises(self.database)
        self.subscriptions = Subscriptions(self.database)
        self.outbox = OutboxTables(self.database)
        self.schema = Schema(self.database, self.rollups)
        if create:
            self.upgrade(rollup_seconds)

    @classmethod
    def existing(cls, url: str, rollup_seconds: int = 60) -> Store:
        """The database for commands that only read (docs/cli.md): never created nor
        upgraded. A missing one, or one at an older or newer schema, is a StoreError that
        says what to do."""
        missing = missing_sqlite_file(url)
        if missing is not None:
            raise StoreError(
                f"{redact_url(url)}: no database at {missing} (nothing stored there yet:"
                " check storage.url)"
            )
        store = cls(url, rollup_seconds, create=False)
        try:
            stored = store.revision()
            if stored is None:
                raise StoreError(
                    f"{store.describe()}: holds no uptime-sla schema (check storage.url, or"
                    " create it with `uptime-sla migrate`)"
                )
            if stored != SCHEMA_REVISION:
                # Revisions are numbered (NNNN_purpose.py): the order of their names.
                if stored < SCHEMA_REVISION:
                    raise StoreError(
                        f"{store.describe()}: the database schema is at revision {stored},"
                        f" older than this uptime-sla's {SCHEMA_REVISION}: run"
                        " `uptime-sla migrate` to upgrade it"
                    )
                raise StoreError(
                    f"{store.describe()}: the database schema is at revision {stored}, newer"
                    f" than this uptime-sla understands ({SCHEMA_REVISION}): upgrade uptime-sla"
                )
        except BaseException:
            store.close()
            raise
        return store

    # --- the database ------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.database.url

    @property
    def engine(self) -> Engine:
        return self.database.engine

    def describe(self) -> str:
        return self.database.describe()

    def close(self) -> None:
        self.database.close()

    # --- the schema (Schema) -------------------------------------------------------------

    def revision(self) -> str | None:
        return self.schema.revision()

    def upgrade(self, rollup_seconds: int) -> None:
        self.schema.upgrade(rollup_seconds)

    # --- probes (ProbeResults) -------------------------------------------------------------

    def write(self, results: Sequence[ProbeResult]) -> int:
        return self.probes.write(results)

    def write_imported(self, blocks: Iterable[Imported]) -> tuple[int, int]:
        return self.probes.write_imported(blocks)

    def prune_raw(self, before: datetime) -> int:
        return self.probes.prune_raw(before)

    def results(self, target: str | None = None) -> list[ProbeResult]:
        return self.probes.results(target)

    def probe_rows(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        targets: Sequence[str] | None = None,
    ) -> Iterator[Row[Any]]:
        return self.probes.probe_rows(start=start, end=end, targets=targets)

    def answered_latencies(
        self, target: str, since: datetime, until: datetime
    ) -> list[tuple[int, float]]:
        return self.probes.answered_latencies(target, since, until)

    def failed_probes(
        self,
        target: str,
        slice_seconds: int,
        first_slice: int,
        end_slice: int,
        *,
        rate_limited: bool = False,
    ) -> FailedProbes:
        return self.probes.failed_probes(
            target, slice_seconds, first_slice, end_slice, rate_limited=rate_limited
        )

    # --- rollups (SliceRollups) -------------------------------------------------------------

    def load_slices(
        self, slice_seconds: int, first_slice: int, end_slice: int, targets: Iterable[str]
    ) -> list[SeriesSlices]:
        return self.rollups.load_slices(slice_seconds, first_slice, end_slice, targets)

    def slice_reader(
        self, slice_seconds: int, first_slice: int, end_slice: int
    ) -> AbstractContextManager[Callable[[str], list[SeriesSlices]]]:
        return self.rollups.slice_reader(slice_seconds, first_slice, end_slice)

    def block_reader(
        self, slice_seconds: int, first_slice: int, end_slice: int
    ) -> AbstractContextManager[Callable[[Sequence[str]], SeriesBlock]]:
        return self.rollups.block_reader(slice_seconds, first_slice, end_slice)

    # --- operator incidents (Incidents) ---------------------------------------------------

    def add_incident(self, incident: StoredIncident) -> None:
        self.incidents.add_incident(incident)

    def add_incident_update(self, incident_id: str, update: StoredUpdate) -> bool:
        return self.incidents.add_incident_update(incident_id, update)

    def operator_incidents(self) -> list[StoredIncident]:
        return self.incidents.operator_incidents()


def missing_sqlite_file(url: str) -> str | None:
    """The path of a SQLite database file that does not exist (None: it does, or the URL is
    not a SQLite file): opening it would create it."""
    database = sqlite_file(url)
    return None if database is None or Path(database).exists() else database


def make_sqlite_folder(url: str) -> None:
    """The folder of a SQLite file, created if missing, 0750 like the file's data (`run`,
    `import` and `migrate` call this; commands that only read never create anything)."""
    database = sqlite_file(url)
    if database is None:
        return
    missing = []
    folder = Path(database).absolute().parent
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    try:
        for folder in reversed(missing):
            folder.mkdir()
            folder.chmod(0o750)
    except OSError as exc:
        raise StoreError(
            f"storage.url: cannot create the folder {folder} for the SQLite database:"
            f" {exc.strerror or exc}"
        ) from None


def _check_sqlite_folder(url: str) -> None:
    """SQLite's own word for a missing folder is "unable to open database file"."""
    database = sqlite_file(url)
    if database is not None and not Path(database).absolute().parent.is_dir():
        raise StoreError(
            f"{redact_url(url)}: the folder {Path(database).absolute().parent} of the SQLite"
            " database does not exist (`uptime-sla migrate` creates it, as `run` and"
            " `import` do)"
        )
