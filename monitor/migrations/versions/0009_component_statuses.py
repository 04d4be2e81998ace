"""Operator incidents may set their components' statuses (`--component NAME=STATUS`).

A JSON object {component name: status} beside the incident's list of components; NULL
for the incidents stored before (and for those that set no status).

Revision ID: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    with op.batch_alter_table("status_incident") as table:
        table.add_column(sa.Column("component_statuses", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("status_incident") as table:
        table.drop_column("component_statuses")
