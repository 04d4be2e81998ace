"""Alembic migrations of the store's schema: one numbered revision per change.

`monitor.store.Store` upgrades every database it opens to the newest revision here (under
its schema lock, so several monitors starting at once upgrade it once) and refuses one
whose revision it does not know: a newer uptime-sla has changed it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import Connection

from monitor.errors import StoreError

log = logging.getLogger(__name__)
FIRST_REVISION = "0001"  # the schema uptime-sla created before it had migrations


def alembic_config(conn: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent))
    config.attributes["connection"] = conn
    return config


def head() -> str | None:
    return ScriptDirectory(str(Path(__file__).parent)).get_current_head()


def upgrade(conn: Connection, database: str, *, pre_migrations: bool) -> None:
    """Upgrade inside the caller's transaction: a failed step leaves the database as it was.

    `pre_migrations`: the tables exist but Alembic never ran, so they are FIRST_REVISION.
    """
    config = alembic_config(conn)
    newest = head()
    current = MigrationContext.configure(conn).get_current_revision()
    if current is None and pre_migrations:
        command.stamp(config, FIRST_REVISION)
        current = FIRST_REVISION
    try:
        if current is not None:  # an empty database is at no revision: nothing to know
            ScriptDirectory.from_config(config).get_revision(current)
    except CommandError:
        raise StoreError(
            f"{database}: the database schema is at revision {current}, newer than this "
            f"uptime-sla understands (it knows up to {newest}): upgrade uptime-sla"
        ) from None
    try:
        command.upgrade(config, "head")
    except StoreError as exc:
        raise StoreError(f"{database}: cannot upgrade the schema to {newest}: {exc}") from None
    if current is None:
        log.info("%s: database schema created at revision %s", database, newest)
    else:
        log.info("%s: database schema upgraded from revision %s to %s", database, current, newest)
