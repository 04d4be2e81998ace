"""The schema as uptime-sla created it before migrations: series, raw rows, rollups.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "series",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("target", sa.String(), nullable=False),
        sa.Column("family", sa.String(), nullable=False),
        sa.Column("location", sa.String(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_series_target", "series", ["target"])
    op.create_table(
        "probe_result",
        sa.Column("series_id", sa.Integer(), sa.ForeignKey("series.id"), primary_key=True),
        sa.Column("started_us", sa.BigInteger(), primary_key=True),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String()),
        sa.Column("status_code", sa.Integer()),
        sa.Column("latency_ms", sa.Float()),
        sa.Column("resolve_ms", sa.Float()),
        sa.Column("connect_ms", sa.Float()),
        sa.Column("tls_ms", sa.Float()),
        sa.Column("processing_ms", sa.Float()),
        sa.Column("transfer_ms", sa.Float()),
        sa.Column("tls_version", sa.String()),
        sa.Column("cert_expiry_us", sa.BigInteger()),
        sa.Column("address", sa.String()),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "slice_rollup",
        sa.Column("series_id", sa.Integer(), sa.ForeignKey("series.id"), primary_key=True),
        sa.Column("slice_seconds", sa.Integer(), primary_key=True),
        sa.Column("chunk", sa.Integer(), primary_key=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "rollup_length",
        sa.Column("slice_seconds", sa.Integer(), primary_key=True),
    )


def downgrade() -> None:
    for table in ("rollup_length", "slice_rollup", "probe_result", "series"):
        op.drop_table(table)
