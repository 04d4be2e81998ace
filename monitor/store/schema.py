"""The schema: which revision a database is at, and bringing it to this version's.

Revisions live in monitor/migrations (Alembic); a database already at SCHEMA_REVISION is
opened without loading Alembic at all.
"""

from __future__ import annotations

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from monitor.store.base import Database
from monitor.store.rollups import SliceRollups

# The newest revision in monitor/migrations (a test keeps the two equal).
SCHEMA_REVISION = "0009"


class Schema:
    """The Store's schema: its revision, creating or upgrading it, rollup lengths kept."""

    def __init__(self, database: Database, rollups: SliceRollups) -> None:
        self._db = database
        self._rollups = rollups

    def revision(self) -> str | None:
        """The schema revision stored in the database (None: no uptime-sla schema at all)."""
        with self._db.reading("read the schema revision") as conn:
            tables = inspect(conn)
            if tables.has_table("alembic_version"):
                return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            if not tables.has_table("series"):
                return None
        from monitor.migrations import FIRST_REVISION  # noqa: PLC0415 (Alembic: 0.2 s)

        return FIRST_REVISION  # tables from before migrations

    def upgrade(self, rollup_seconds: int) -> None:
        """Create the schema or upgrade it to SCHEMA_REVISION, and make sure rollups of
        `rollup_seconds` slices exist (`uptime-sla migrate`, and every writer on opening)."""
        # One transaction, serialized: several monitors may start at once on a fresh database.
        with self._db.writing("create the schema") as conn:
            self._db.dialect.lock_schema(conn)
            self._migrate(conn)
            self._rollups.register_length(conn, rollup_seconds)

    def _migrate(self, conn: Connection) -> None:
        """Bring the schema to SCHEMA_REVISION (see monitor.migrations)."""
        tables = inspect(conn)
        stored = None
        if tables.has_table("alembic_version"):
            stored = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        if stored != SCHEMA_REVISION:
            from monitor import migrations  # noqa: PLC0415 (Alembic takes 0.2 s to import)

            migrations.upgrade(conn, self._db.describe(), pre_migrations=tables.has_table("series"))
