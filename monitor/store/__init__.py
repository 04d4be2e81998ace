"""Where probe results live: SQLite by default, PostgreSQL by URL.

- `tables`: the SQLModel tables, defined here and nowhere else;
- `base`: the engine, transactions and errors every part works through;
- the parts, a small class each over one `Database`, each with its own tables' SQL:
  `probes` (probe results and series), `rollups` (per-slice counts), `incidents`
  (operator incidents), `promises` (promise checks, webhook deliveries), `subscribers`
  (subscribers and their messages), `schema` (revisions, with monitor/migrations);
- `core`: the Store, which holds one of each part and answers for them all;
- `sqlite`, `postgres`: each database's own way of doing the few things that differ
  (a `Dialect` each, see `dialect`);
- `rows`: probe rows in columns, as the writer and the importer hand them over.

Callers see `Store`, `ProbeResult` and `SeriesSlices`, never a connection.
"""

from __future__ import annotations

from monitor.store.core import SCHEMA_REVISION, Store
from monitor.store.incidents import StoredIncident, StoredUpdate
from monitor.store.rows import Imported, Measured, SeriesKey

__all__ = [
    "SCHEMA_REVISION",
    "Imported",
    "Measured",
    "SeriesKey",
    "Store",
    "StoredIncident",
    "StoredUpdate",
]
