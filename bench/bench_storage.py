"""Storage throughput: the batch writer and `uptime-sla import`, SQLite and PostgreSQL, vs COPY.

  writer  Store.write() of ProbeResult batches (default 1,000 results over 1,000 series each,
          as the BatchWriter hands them over), rows stored per second.
  import  `uptime-sla import FILE.csv` as a separate process (the CSV of bench_month.py),
          rows per second, into a fresh SQLite file and a fresh PostgreSQL database.
  COPY    PostgreSQL's own `COPY ... FROM STDIN (FORMAT csv)` of the same CSV into a plain
          table with the CSV's columns (no key, no index): the limit the import is held to;
          and, for context, the same COPY into a table keyed like the stored rows.

PostgreSQL is a throwaway cluster (tests/support/postgres.py: initdb + pg_ctl, 127.0.0.1,
fsync=off for all three paths alike).

Run: .venv/bin/python bench/bench_storage.py [--batches 200] [--batch-size 1000]
     [--targets 10 --locations 2 --days 7]   (CSV: targets x 2 families x locations, 30 s)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from bench_month import write_csv
from benchlib import PYTHON, ROOT, command_line, commit, machine, table

from monitor.probing.results import ProbeResult, Reason
from monitor.store import Store

START = datetime(2026, 3, 1, tzinfo=UTC)
# The key every stored probe has (probe_result's is (series, started)): context, not the goal.
KEYED = ", PRIMARY KEY (target, family, location, time)"


def results(batches: int, size: int) -> list[list[ProbeResult]]:
    """`size` series (size/2 targets x 2 families), each probed once per batch, 30 s apart."""
    out = []
    expiry = START + timedelta(days=80)
    for b in range(batches):
        at = START + timedelta(seconds=30 * b)
        batch = []
        for i in range(size):
            ok = (i * 7 + b) % 500 != 0
            batch.append(
                ProbeResult(
                    target=f"t{i // 2:05d}",
                    family=("ipv4", "ipv6")[i % 2],
                    location="bench",
                    started=at + timedelta(microseconds=i * 997),
                    success=ok,
                    reason=None if ok else Reason.TIMEOUT,
                    status_code=200 if ok else None,
                    duration_seconds=0.0123,
                    phases={
                        "resolve": 0.00001,
                        "connect": 0.0002,
                        "tls": 0.004,
                        "processing": 0.001,
                        "transfer": 0.0001,
                    }
                    if ok
                    else {},
                    tls_version="1.3" if ok else None,
                    cert_expiry=expiry if ok else None,
                    address="127.0.0.1" if i % 2 == 0 else "::1",
                )
            )
        out.append(batch)
    return out


def time_writer(url: str, data: list[list[ProbeResult]]) -> tuple[int, float]:
    store = Store(url, rollup_seconds=60)
    try:
        store.write(data[0])  # series ids, connection, rollup row shapes
        started = time.perf_counter()
        stored = sum(store.write(batch) for batch in data[1:])
        return stored, time.perf_counter() - started
    finally:
        store.close()


def write_config(path: Path, url: str, targets: int) -> None:
    lines = [
        f'storage: {{url: "{url}"}}',
        "defaults: {interval: 30s}",
        "targets:",
        *(f'  - {{name: t{i:03d}, url: "https://api.test/{i}"}}' for i in range(targets)),
    ]
    path.write_text("\n".join(lines) + "\n")


def time_import(config: Path, csv_path: Path) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [PYTHON, "-m", "monitor", "-c", str(config), "import", str(csv_path)],
        cwd=ROOT,
        check=False,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"import failed: {done.stderr.strip()}")
    return seconds, done.stdout.strip()


def time_copy(server, database: str, csv_path: Path, key: str = "") -> float:
    import psycopg

    with psycopg.connect(
        host="127.0.0.1", port=server.port, user=server.user, dbname=database
    ) as conn:
        conn.execute(
            "CREATE TABLE copy_probe (time timestamptz, target text, family text, location text,"
            f" success boolean, status_code integer, latency_ms double precision, reason text{key})"
        )
        conn.commit()
        started = time.perf_counter()
        with (
            conn.cursor() as cursor,
            cursor.copy("COPY copy_probe FROM STDIN (FORMAT csv, HEADER true)") as copy,
            csv_path.open("rb") as source,
        ):
            while chunk := source.read(1 << 20):
                copy.write(chunk)
        conn.commit()
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--targets", type=int, default=10)
    parser.add_argument("--locations", type=int, default=2)
    parser.add_argument("--days", type=int, default=7)
    args = parser.parse_args()
    from support import postgres

    work = Path(tempfile.mkdtemp(prefix="bench-storage-"))
    data = results(args.batches + 1, args.batch_size)
    csv_path = work / "history.csv"
    rows = write_csv(csv_path, args.targets, args.locations, args.days)
    figures: list[list[object]] = []

    def add(what: str, backend: str, n: int, seconds: float) -> float:
        rate = n / seconds
        figures.append([what, backend, f"{n:,}", f"{seconds:.1f}", f"{rate:,.0f}"])
        print(figures[-1], flush=True)
        return rate

    stored, seconds = time_writer(f"sqlite:///{work}/writer.db", data)
    add(f"writer, batches of {args.batch_size:,}", "SQLite", stored, seconds)
    config = work / "sqlite.yaml"
    write_config(config, f"sqlite:///{work}/import.db", args.targets)
    seconds, _ = time_import(config, csv_path)
    add("import CSV", "SQLite", rows, seconds)
    copy_rate = import_rate = None
    if postgres.available():
        with postgres.running_postgres() as server:
            stored, seconds = time_writer(server.create_database("writer"), data)
            add(f"writer, batches of {args.batch_size:,}", "PostgreSQL", stored, seconds)
            config = work / "pg.yaml"
            write_config(config, server.create_database("imported"), args.targets)
            seconds, _ = time_import(config, csv_path)
            import_rate = add("import CSV", "PostgreSQL", rows, seconds)
            server.create_database("copied")
            seconds = time_copy(server, "copied", csv_path)
            copy_rate = add("COPY FROM STDIN (csv), plain table", "PostgreSQL", rows, seconds)
            server.create_database("keyed")
            seconds = time_copy(server, "keyed", csv_path, KEYED)
            add("COPY FROM STDIN (csv), table with the rows' key", "PostgreSQL", rows, seconds)
    else:
        print("PostgreSQL (initdb, pg_ctl) not found: PostgreSQL rows not measured")
    print(f"\ncommand: {command_line()}")
    print(f"machine: {machine()}; commit {commit()}")
    print(
        f"CSV: {rows:,} rows ({csv_path.stat().st_size / 2**20:.0f} MiB), "
        f"{args.targets} targets x 2 families x {args.locations} locations x {args.days} days\n"
    )
    print(table(["path", "database", "rows", "seconds", "rows/s"], figures))
    if copy_rate and import_rate:
        print(f"\nPostgreSQL import / COPY = {import_rate / copy_rate:.2f} (goal >= 0.5)")
    import shutil

    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
