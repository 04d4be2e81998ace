"""A throwaway PostgreSQL server on 127.0.0.1, made with initdb and pg_ctl.

PostgreSQL refuses to run as root, so under root (CI) the cluster belongs to the
`postgres` system user that Debian's package creates.

`running_postgres()` is a server for one `with` block (a test that stops its database owns
one). `shared_server(folder)` is the test run's one server: the first xdist worker that needs
it starts it, the others find its address in `folder`, every test makes a database of its own
in it, and `stop_shared(folder)` stops it when the run ends.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from support.shared import locked

# Each worker's tests open pools and run monitors at once; the default 100 is shared by all.
MAX_CONNECTIONS = 400


def _bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def available() -> bool:
    return _bin("initdb") is not None and _bin("pg_ctl") is not None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PostgresServer:
    root: Path  # the temporary folder holding the cluster, removed by remove()
    port: int
    user: str

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def _ctl(self, *args: str) -> None:
        _as_owner(self.user, [_bin("pg_ctl") or "pg_ctl", "-D", str(self.datadir), *args])

    def start(self) -> None:
        self._ctl(
            "-w",
            "-l",
            str(self.datadir / "server.log"),
            "-o",
            f"-p {self.port} -k {self.datadir} -c listen_addresses=127.0.0.1 -c fsync=off"
            f" -c max_connections={MAX_CONNECTIONS}",
            "start",
        )

    def stop(self) -> None:
        self._ctl("-w", "-m", "fast", "stop")

    def remove(self) -> None:
        """Stop the server (if it runs) and delete its folder."""
        try:
            if (self.datadir / "postmaster.pid").exists():
                self.stop()
        finally:
            time.sleep(0.1)
            shutil.rmtree(self.root, ignore_errors=True)

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=self.user, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _as_owner(user: str, argv: list[str]) -> None:
    if os.geteuid() == 0:
        argv = ["runuser", "-u", user, "--", *argv]
    subprocess.run(argv, check=True, capture_output=True, timeout=120)


def start_postgres() -> PostgresServer:
    """A new cluster in a temporary folder, started; the caller calls remove()."""
    user = "postgres" if os.geteuid() == 0 else os.environ.get("USER", "postgres")
    root = Path(tempfile.mkdtemp(prefix="uptime-sla-pg-"))
    server = PostgresServer(root, _free_port(), user)
    try:
        if os.geteuid() == 0:
            shutil.chown(root, user)
        _as_owner(
            user,
            [
                _bin("initdb") or "initdb",
                "-D",
                str(server.datadir),
                "-U",
                user,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )
        for attempt in range(3):  # another process may take the free port before the server
            try:
                server.start()
                break
            except subprocess.CalledProcessError:
                if attempt == 2:
                    raise
                server.port = _free_port()
    except BaseException:
        server.remove()
        raise
    return server


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    server = start_postgres()
    try:
        yield server
    finally:
        server.remove()


def shared_server(folder: Path) -> PostgresServer:
    """The run's one server, described in `folder/postgres.json`: started by the first caller
    (under a lock), found there by the others."""
    described = folder / "postgres.json"
    with locked(folder / "postgres.lock"):
        if described.exists():
            fields = json.loads(described.read_text())
            return PostgresServer(Path(fields["root"]), fields["port"], fields["user"])
        server = start_postgres()
        described.write_text(
            json.dumps({"root": str(server.root), "port": server.port, "user": server.user})
        )
        return server


def stop_shared(folder: Path) -> None:
    """Stop and remove the run's shared server, if one was started."""
    described = folder / "postgres.json"
    with locked(folder / "postgres.lock"):
        if described.exists():
            fields = json.loads(described.read_text())
            described.unlink()
            PostgresServer(Path(fields["root"]), fields["port"], fields["user"]).remove()
