"""A small status page over imported history: one probe a minute per series, two components.

Each test describes its history as outages (tests/support/history.py), imports it as
`uptime-sla import` would, and reads the snapshot at NOW.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

from monitor.config import Config, load_config
from monitor.status.state import ComponentState, StatusBuilder, StatusSnapshot
from monitor.store import Store
from monitor.store.importer import import_csv
from support.history import Outage, Row, probes, utc, write_csv

NOW = utc(2026, 3, 20, 12, 0, 30)
MINUTE = timedelta(minutes=1)
START = NOW - timedelta(hours=6)


def minutes_ago(count: float) -> datetime:
    """The start of the slice `count` whole minutes before NOW's (NOW is 30 s into one)."""
    return NOW.replace(second=0) - count * MINUTE


def page_config(
    tmp_path: Path, extra: str = "", page: str = "", defaults: str = "", history_days: int = 3
) -> Config:
    path = tmp_path / "uptime-sla.yaml"
    path.write_text(
        textwrap.dedent(f"""\
        storage: {{url: "sqlite:///{tmp_path / "uptime-sla.db"}"}}
        defaults: {{interval: 1m{defaults}}}
        targets:
          - {{name: api, url: "https://api.test/", service: api}}
          - {{name: search, url: "https://api.test/search", service: search}}
        status_page:
          history_days: {history_days}
          components:
            - {{name: REST API, targets: [api]}}
            - {{name: Search, targets: [search]}}
        """)
        + textwrap.indent(textwrap.dedent(page), "  ")
        + textwrap.dedent(extra)
    )
    return load_config(path)


def history(
    outages: Iterable[Outage] = (),
    *,
    start: datetime = START,
    end: datetime = NOW,
    skip: Iterable[tuple[str, str, datetime, datetime]] = (),
) -> list[Row]:
    """A probe a minute per series in [start, end), none in the `skip` spans."""
    rows = probes(("api", "search"), start, end, outages, step=MINUTE)
    gaps = list(skip)
    return [
        row
        for row in rows
        if not any(
            (row.target, row.family) == (t, f) and low <= row.time < high
            for t, f, low, high in gaps
        )
    ]


class Page:
    """A config, a store with history imported, and builders over them."""

    def __init__(
        self,
        tmp_path: Path,
        rows: Iterable[Row],
        extra: str = "",
        page: str = "",
        defaults: str = "",
        history_days: int = 3,
    ) -> None:
        self.config = page_config(tmp_path, extra, page, defaults, history_days)
        self.store = Store(self.config.storage.url)
        self.tmp_path = tmp_path
        self.add(rows)

    def add(self, rows: Iterable[Row]) -> None:
        path = write_csv(self.tmp_path / f"history-{id(rows)}.csv", rows)
        import_csv(path, self.config, self.store)

    def builder(self) -> StatusBuilder:
        return StatusBuilder(self.config, self.store, config_written=START)

    def at(self, now: datetime = NOW) -> StatusSnapshot:
        return self.builder().snapshot(now)

    def component(self, name: str, now: datetime = NOW) -> ComponentState:
        return next(c for c in self.at(now).components if c.name == name)

    def close(self) -> None:
        self.store.close()
