"""Commands that only read never create a database, change its schema or store probes
(docs/cli.md): a missing database is exit 2 naming it, an old schema exit 2 pointing to
`uptime-sla migrate`, which upgrades it in place."""

from __future__ import annotations

import sqlite3
import textwrap
from pathlib import Path

import psycopg
import pytest
from alembic import command
from sqlalchemy import create_engine

from monitor import migrations
from monitor.cli import main
from monitor.store import SCHEMA_REVISION, Store


def config(path: Path, url: str) -> Path:
    path.write_text(
        textwrap.dedent(f"""\
        storage: {{url: "{url}"}}
        targets:
          - {{name: api-health, url: "https://api.example/health"}}
        plans: {{pro: {{objective: 99.9}}}}
        contracts:
          - {{customer: acme, plan: pro, service: api-health, monthly_fee: "1.00",
              start: 2026-01-01}}
        """)
    )
    return path


READERS = [
    ["report", "--month", "2026-02"],
    ["report", "--customer", "acme", "--format", "md"],
    ["export"],
]


@pytest.mark.parametrize("command", READERS, ids=" ".join)
def test_a_reader_at_a_missing_sqlite_file_exits_2_and_creates_nothing(tmp_path, capfd, command):
    database = tmp_path / "typo.db"
    cfg = config(tmp_path / "c.yaml", f"sqlite:///{database}")
    assert main(["-c", str(cfg), *command]) == 2
    out, err = capfd.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert str(database) in err
    assert not database.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"]  # no -wal, -shm, journal


@pytest.mark.postgres
@pytest.mark.parametrize("command", READERS, ids=" ".join)
def test_a_reader_at_an_unknown_postgresql_database_exits_2_without_the_password(
    tmp_path, capfd, postgres_server, command
):
    url = postgres_server.url("no_such_db").replace("://", "://:s3cret-pw@", 1)
    cfg = config(tmp_path / "c.yaml", url)
    assert main(["-c", str(cfg), *command]) == 2
    _, err = capfd.readouterr()
    assert err.count("\n") == 1
    assert "no_such_db" in err
    assert "s3cret-pw" not in err
    with psycopg.connect(postgres_server.url("postgres").replace("+psycopg", "")) as conn:
        names = [row[0] for row in conn.execute("SELECT datname FROM pg_database")]
    assert "no_such_db" not in names


def old_database(path: Path) -> None:
    """A database at revision 0003, as an older uptime-sla left it."""
    Store(f"sqlite:///{path}").close()
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            command.downgrade(migrations.alembic_config(conn), "0003")
    finally:
        engine.dispose()


def revision(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]


def test_an_old_schema_is_exit_2_saying_to_migrate_and_migrate_upgrades_it(tmp_path, capfd):
    database = tmp_path / "old.db"
    old_database(database)
    before = database.read_bytes()
    cfg = config(tmp_path / "c.yaml", f"sqlite:///{database}")
    for reader in READERS:
        assert main(["-c", str(cfg), *reader]) == 2
        out, err = capfd.readouterr()
        assert out == ""
        assert "uptime-sla migrate" in err
        assert err.count("\n") == 1
    assert database.read_bytes() == before
    assert revision(database) == "0003"
    assert main(["-c", str(cfg), "migrate"]) == 0
    assert f"from revision 0003 to {SCHEMA_REVISION}" in capfd.readouterr().out
    assert revision(database) == SCHEMA_REVISION
    assert main(["-c", str(cfg), "report", "--month", "2026-02"]) == 0
    assert main(["-c", str(cfg), "migrate"]) == 0
    assert f"already at revision {SCHEMA_REVISION}" in capfd.readouterr().out


def test_report_writes_no_probe_and_changes_no_schema(tmp_path, capfd):
    database = tmp_path / "sla.db"
    cfg = config(tmp_path / "c.yaml", f"sqlite:///{database}")
    assert main(["-c", str(cfg), "migrate"]) == 0
    with sqlite3.connect(database) as conn:
        tables = conn.execute("SELECT name, sql FROM sqlite_master ORDER BY name").fetchall()
    assert main(["-c", str(cfg), "report", "--month", "2026-02"]) == 0
    with sqlite3.connect(database) as conn:
        assert (
            conn.execute("SELECT name, sql FROM sqlite_master ORDER BY name").fetchall() == tables
        )
        assert conn.execute("SELECT count(*) FROM probe_result").fetchone() == (0,)
