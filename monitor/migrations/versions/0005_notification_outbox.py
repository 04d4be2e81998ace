"""The notification outbox: events, their deliveries per channel, and sender leases.

An event's key is its identity (several monitors recording it store it once); each
(event, channel) is delivered once and marked; a lease names the one monitor that sends
on a channel, in order, at a time.

Revision ID: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "notify_event",
        sa.Column("key", sa.String(), primary_key=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("occurred_us", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.String(), nullable=False),
    )
    op.create_table(
        "notify_delivery",
        sa.Column("event_key", sa.String(), primary_key=True),
        sa.Column("channel", sa.String(), primary_key=True),
        sa.Column("occurred_us", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_us", sa.BigInteger(), nullable=False),
        sa.Column("done_us", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
    )
    op.create_index(
        "ix_notify_delivery_pending", "notify_delivery", ["channel", "state", "occurred_us"]
    )
    op.create_table(
        "notify_lease",
        sa.Column("name", sa.String(), primary_key=True),
        sa.Column("holder", sa.String(), nullable=False),
        sa.Column("until_us", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("notify_lease")
    op.drop_index("ix_notify_delivery_pending", "notify_delivery")
    op.drop_table("notify_delivery")
    op.drop_table("notify_event")
