"""Reading what `uptime-sla run` stored in a PostgreSQL database, straight from the tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from support.commands import COMMAND_PATIENCE
from support.https import Request
from support.postgres import PostgresServer


@dataclass(frozen=True)
class StoredProbe:
    target: str
    family: str
    location: str
    started: datetime
    success: bool


def stored_probes(server: PostgresServer, database: str) -> list[StoredProbe]:
    """Every probe_result row with its series, oldest first."""
    import psycopg

    with psycopg.connect(
        host="127.0.0.1", port=server.port, user=server.user, dbname=database
    ) as conn:
        rows = conn.execute(
            "SELECT s.target, s.family, s.location, p.started_us, p.success"
            " FROM probe_result p JOIN series s ON s.id = p.series_id ORDER BY p.started_us"
        ).fetchall()
    return [
        StoredProbe(t, f, loc, datetime.fromtimestamp(us / 1e6, UTC), bool(ok))
        for t, f, loc, us, ok in rows
    ]


def key_counts(server: PostgresServer, database: str) -> tuple[int, int]:
    """(rows, distinct (series, started_us) keys) of probe_result."""
    import psycopg

    with psycopg.connect(
        host="127.0.0.1", port=server.port, user=server.user, dbname=database
    ) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT (series_id, started_us)) FROM probe_result"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def pair_with_requests(
    stored: list[datetime], requests: list[Request], tail_from: datetime
) -> list[tuple[datetime, datetime]]:
    """Pair the stored start times of one series with the requests the server saw for it.

    Both lists are in time order and a series never overlaps itself (max_instances=1), so
    the n-th stored probe is the n-th request. Requests at or after `tail_from` (the last
    moments before SIGTERM) may belong to probes that were cancelled and never stored;
    every earlier request must have its stored probe. Returns (started, request.at) pairs.
    """
    seen = sorted(r.at for r in requests)
    must = [at for at in seen if at < tail_from]
    assert len(stored) >= len(must), f"{len(must) - len(stored)} probes the server saw are lost"
    assert len(stored) <= len(seen), "stored probes the server never saw"
    return list(zip(sorted(stored), seen, strict=False))


_OPEN_AT = """
import sys, time
from monitor.errors import StoreError
from monitor.store import Store
url, at = sys.argv[1], float(sys.argv[2])
time.sleep(max(0.0, at - time.time()))
try:
    Store(url, rollup_seconds=1).close()
except StoreError as exc:
    sys.exit(f"ERR {exc}")
"""


def open_stores_at_once(url: str, count: int, delay: float = 3.0) -> list[str]:
    """Open `Store(url)` in `count` processes at the same instant (as monitors starting
    together do); returns the error of each process that failed."""
    import subprocess
    import sys
    import time

    at = time.time() + delay  # after every interpreter has imported the store
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _OPEN_AT, url, repr(at)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    errors = []
    for proc in procs:
        _, err = proc.communicate(timeout=COMMAND_PATIENCE)
        if proc.returncode != 0:
            errors.append(err.strip())
    return errors
