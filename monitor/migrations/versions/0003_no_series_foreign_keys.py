"""Probe rows and rollups no longer carry a foreign key to their series.

The key was checked once per inserted row (in PostgreSQL by a trigger per row): most of
the time of an `import`. Nothing is lost: series rows are never deleted (retention prunes
probe rows only), and every writer goes through `Store`, which creates a series before
the first row that refers to it.

Revision ID: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"

TABLES = ("probe_result", "slice_rollup")
# SQLite's keys have no name: batch mode names reflected ones by this convention.
NAMING = {"fk": "%(table_name)s_%(column_0_name)s_fkey"}  # PostgreSQL's default names


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    for table in TABLES:
        with op.batch_alter_table(table, naming_convention=NAMING) as batch:
            for key in inspector.get_foreign_keys(table):
                batch.drop_constraint(key["name"] or f"{table}_series_id_fkey", "foreignkey")


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, naming_convention=NAMING) as batch:
            batch.create_foreign_key(f"{table}_series_id_fkey", "series", ["series_id"], ["id"])
