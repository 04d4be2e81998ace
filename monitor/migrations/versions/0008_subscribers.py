"""Subscribers of the status page and the messages each is sent (the subscription service).

Revision ID: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.create_table(
        "subscriber",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("email", sa.String(), nullable=False),
        sa.Column("url", sa.String(), nullable=False),
        sa.Column("components", sa.String(), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("confirmed_us", sa.BigInteger(), nullable=True),
        sa.Column("secret", sa.String(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("disabled_us", sa.BigInteger(), nullable=True),
    )
    op.create_index("ux_subscriber_address", "subscriber", ["kind", "email", "url"], unique=True)
    op.create_table(
        "subscriber_delivery",
        sa.Column("subscriber_id", sa.String(), primary_key=True),
        sa.Column("key", sa.String(), primary_key=True),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("occurred_us", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_us", sa.BigInteger(), nullable=False),
        sa.Column("done_us", sa.BigInteger(), nullable=True),
        sa.Column("payload", sa.String(), nullable=True),
    )
    op.create_index(
        "ix_subscriber_delivery_due",
        "subscriber_delivery",
        ["channel", "state", "next_attempt_us"],
    )


def downgrade() -> None:
    op.drop_index("ix_subscriber_delivery_due", "subscriber_delivery")
    op.drop_table("subscriber_delivery")
    op.drop_index("ux_subscriber_address", "subscriber")
    op.drop_table("subscriber")
