"""Promise checks and webhook deliveries (docs/promises.md).

`promise_run` holds runs of checks with one result (a row per change, and per month);
`webhook_event` what each receiver has seen of an event (retry or duplicate);
`webhook_delivery` each delivery as classified, for the monthly promise report.

Revision ID: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.create_table(
        "promise_run",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("promise", sa.String(), nullable=False),
        sa.Column("target", sa.String(), nullable=False),
        sa.Column("family", sa.String(), nullable=False),
        sa.Column("location", sa.String(), nullable=False),
        sa.Column("kept", sa.Boolean(), nullable=False),
        sa.Column("first_us", sa.BigInteger(), nullable=False),
        sa.Column("last_us", sa.BigInteger(), nullable=False),
        sa.Column("checks", sa.Integer(), nullable=False),
        sa.Column("detail", sa.String(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_promise_run_first", "promise_run", ["first_us"])
    op.create_table(
        "webhook_event",
        sa.Column("receiver", sa.String(), primary_key=True),
        sa.Column("event_id", sa.String(), primary_key=True),
        sa.Column("first_us", sa.BigInteger(), nullable=False),
        sa.Column("last_us", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("delivered", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "webhook_delivery",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("receiver", sa.String(), nullable=False),
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("received_us", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("retry", sa.Integer(), nullable=True),
        sa.Column("latency_s", sa.Float(), nullable=True),
        sa.Column("delay_s", sa.Float(), nullable=True),
        sa.Column("answered", sa.Integer(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_webhook_delivery_received", "webhook_delivery", ["received_us"])


def downgrade() -> None:
    op.drop_index("ix_webhook_delivery_received", "webhook_delivery")
    op.drop_table("webhook_delivery")
    op.drop_table("webhook_event")
    op.drop_index("ix_promise_run_first", "promise_run")
    op.drop_table("promise_run")
