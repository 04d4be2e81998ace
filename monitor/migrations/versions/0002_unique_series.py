"""One row per (target, family, location), enforced by the database.

Two processes that see a new series at the same moment (a monitor and an import, or two
monitors misconfigured with one location) could both insert it; the unique index makes
the second insert a no-op instead of a duplicate that splits the series' probes.

Revision ID: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from monitor.errors import StoreError

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    duplicates = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT target, family, location FROM series"
                " GROUP BY target, family, location HAVING count(*) > 1"
            )
        )
        .first()
    )
    if duplicates is not None:
        raise StoreError(
            "series {}/{}/{} is stored more than once; merge its rows by hand, then start "
            "again".format(*duplicates)
        )
    op.drop_index("ix_series_target", "series")
    op.create_index("ux_series_key", "series", ["target", "family", "location"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_series_key", "series")
    op.create_index("ix_series_target", "series", ["target"])
