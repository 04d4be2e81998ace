"""Schema upgrades: Alembic revisions, old databases upgraded in place, newer ones refused."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel
from support.commands import uptime_sla

from monitor import migrations
from monitor.config import load_config
from monitor.errors import StoreError
from monitor.probing.results import ProbeResult, Reason
from monitor.reports.inputs import EngineInputs
from monitor.reports.monthly import month_report
from monitor.store import SCHEMA_REVISION, Store
from sla.render.data import render_json
from sla.slices import slice_at_or_after

NOW = datetime(2026, 4, 2, tzinfo=UTC)


@contextmanager
def raw_connection(url: str) -> Iterator[Connection]:
    """A plain SQLAlchemy transaction on the database, behind the store's back."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def revision_of(url: str) -> str | None:
    with raw_connection(url) as conn:
        return MigrationContext.configure(conn).get_current_revision()


def downgrade_to(url: str, revision: str) -> None:
    with raw_connection(url) as conn:
        command.downgrade(migrations.alembic_config(conn), revision)


def march_with_an_outage() -> list[ProbeResult]:
    """Every 10 minutes in March 2026, two families; ipv4 down for an hour on the 9th."""
    start, results = datetime(2026, 3, 1, tzinfo=UTC), []
    for step in range(31 * 24 * 6):
        when = start + timedelta(minutes=10 * step, seconds=7)
        for family in ("ipv4", "ipv6"):
            down = family == "ipv4" and when.day == 9 and when.hour == 13
            results.append(
                ProbeResult("api", family, "eu", when, not down, Reason.STATUS if down else None)
            )
    return results


def report_config(tmp_path: Path, database_url: str) -> Path:
    path = tmp_path / "uptime-sla.yaml"
    path.write_text(
        textwrap.dedent(f"""\
        storage: {{url: "{database_url}"}}
        defaults: {{interval: 10m}}
        metrics: {{listen: "127.0.0.1:0"}}
        targets: [{{name: api, url: "https://api.test/", service: api}}]
        plans: {{pro: {{objective: 99.9, credits: [{{below: 99.9, percent: 10}}]}}}}
        contracts: [{{customer: acme, plan: pro, service: api, monthly_fee: "100", start: 2026-01-01}}]
        """)
    )
    return path


def report_and_rows(config_path: Path, database_url: str) -> tuple[str, list[ProbeResult]]:
    store = Store(database_url)
    try:
        report = render_json(
            month_report(EngineInputs.of(load_config(config_path)), store, 2026, 3, NOW)
        )
        return report, store.results()
    finally:
        store.close()


def test_the_store_knows_the_newest_migration_and_its_tables_match_the_models(database_url: str):
    Store(database_url).close()
    with raw_connection(database_url) as conn:
        differences = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert migrations.head() == SCHEMA_REVISION
    assert revision_of(database_url) == SCHEMA_REVISION
    assert differences == []


def test_a_database_made_by_the_first_revision_upgrades_to_the_models(database_url: str):
    with raw_connection(database_url) as conn:  # its keys unnamed, as 0001 made them
        command.upgrade(migrations.alembic_config(conn), migrations.FIRST_REVISION)

    Store(database_url).close()

    with raw_connection(database_url) as conn:
        differences = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert revision_of(database_url) == SCHEMA_REVISION
    assert differences == []


@pytest.mark.parametrize("alembic_table", ["kept", "never made (before migrations existed)"])
def test_a_database_of_the_previous_revision_upgrades_in_place_with_its_data(
    tmp_path: Path, database_url: str, alembic_table: str
):
    config_path = report_config(tmp_path, database_url)
    store = Store(database_url)
    store.write(march_with_an_outage())
    store.close()
    report_before, rows_before = report_and_rows(config_path, database_url)
    downgrade_to(database_url, "0001")
    if alembic_table != "kept":
        with raw_connection(database_url) as conn:
            conn.execute(text("DROP TABLE alembic_version"))

    report_after, rows_after = report_and_rows(config_path, database_url)

    assert revision_of(database_url) == SCHEMA_REVISION
    assert len(rows_after) == 31 * 24 * 6 * 2
    assert rows_after == rows_before
    assert '"bad_slices": 60' in report_before
    assert report_after == report_before


def test_an_upgrade_that_cannot_apply_leaves_the_database_as_it_was(database_url: str):
    Store(database_url).close()
    downgrade_to(database_url, "0001")
    with raw_connection(database_url) as conn:
        for _ in range(2):  # revision 0001 did not forbid this; 0002 does
            conn.execute(
                text("INSERT INTO series (target, family, location) VALUES ('api','ipv4','eu')")
            )

    with pytest.raises(StoreError, match=r"series api/ipv4/eu is stored more than once"):
        Store(database_url)

    assert revision_of(database_url) == "0001"
    with raw_connection(database_url) as conn:
        assert conn.execute(text("SELECT count(*) FROM series")).scalar() == 2


def test_run_refuses_a_database_newer_than_it_understands(tmp_path: Path, database_url: str):
    config_path = report_config(tmp_path, database_url)
    Store(database_url).close()
    with raw_connection(database_url) as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0999'"))

    finished = uptime_sla("-c", str(config_path), "run")

    assert finished.returncode == 2
    assert "Traceback" not in finished.stderr
    message = finished.stderr.strip().splitlines()[-1]
    assert "schema is at revision 0999, newer than this uptime-sla understands" in message
    assert revision_of(database_url) == "0999"
    with raw_connection(database_url) as conn:
        assert conn.execute(text("SELECT count(*) FROM probe_result")).scalar() == 0


def test_rollups_are_the_only_record_of_pruned_months_and_survive_the_wide_format(
    tmp_path: Path, database_url: str
):
    """Revision 0006 rewrites every rollup chunk 16/32-bit -> 32/64-bit, dropping none."""
    config_path = report_config(tmp_path, database_url)
    store = Store(database_url)
    store.write(march_with_an_outage())
    store.prune_raw(NOW)  # every raw row of March goes: the rollups are all that is left
    store.close()
    report_before, rows_before = report_and_rows(config_path, database_url)
    downgrade_to(database_url, "0005")

    report_after, _ = report_and_rows(config_path, database_url)

    assert revision_of(database_url) == SCHEMA_REVISION
    assert rows_before == []
    assert '"bad_slices": 60' in report_before
    assert report_after == report_before


def test_two_hour_rollups_take_their_last_probes_from_the_raw_rows_still_stored(
    database_url: str,
):
    """Offsets past 4,295 s wrapped in the narrow format; the raw rows still say the truth."""
    two_hours, pruned_until = 7200, datetime(2026, 3, 16, tzinfo=UTC)
    first = slice_at_or_after(datetime(2026, 3, 1, tzinfo=UTC), two_hours)
    end = slice_at_or_after(datetime(2026, 4, 1, tzinfo=UTC), two_hours)
    store = Store(database_url, two_hours)
    store.write(march_with_an_outage())  # every 10 min at :07: the last 6,607 s into a slice
    (wide, *_) = store.load_slices(two_hours, first, end, ["api"])
    store.close()
    downgrade_to(database_url, "0005")  # the offsets as the narrow format held them
    store = Store(database_url, two_hours, create=False)
    store.prune_raw(pruned_until)
    store.close()

    store = Store(database_url, two_hours)  # upgrades to the wide format
    (upgraded, *_) = store.load_slices(two_hours, first, end, ["api"])
    store.close()

    raw_kept = np.arange(first, end) >= slice_at_or_after(pruned_until, two_hours)
    assert wide.last_offset_us.max() == 6_607_000_000
    assert upgraded.total.tolist() == wide.total.tolist()
    assert upgraded.last_state.tolist() == wide.last_state.tolist()
    assert upgraded.last_offset_us[raw_kept].tolist() == wide.last_offset_us[raw_kept].tolist()
    assert (upgraded.last_offset_us[~raw_kept] == wide.last_offset_us[~raw_kept] % 2**32).all()
