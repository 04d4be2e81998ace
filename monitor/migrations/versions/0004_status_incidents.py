"""Operator incidents of the status page and their updates.

Stored in the database, not in each monitor's files: every monitor writing to one
PostgreSQL shows the same incidents on its page.

Revision ID: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "status_incident",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("impact", sa.String(), nullable=False),
        sa.Column("components", sa.String(), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "status_incident_update",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("incident_id", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("message", sa.String(), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
    )
    op.create_index(
        "ix_status_incident_update_incident_id", "status_incident_update", ["incident_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_status_incident_update_incident_id", "status_incident_update")
    op.drop_table("status_incident_update")
    op.drop_table("status_incident")
