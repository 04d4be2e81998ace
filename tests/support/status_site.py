"""Status sites in each state a customer can find the page in, built as `status build` does.

Three components over three targets, 90 days of probes every 5 minutes with a few past
outages, an operator incident in the history and a completed maintenance; then, at NOW:

- `operational`: everything answering;
- `partial`: the REST API's IPv6 requests failing for the last 20 minutes;
- `major`: the REST API failing on both families, and an open operator incident;
- `maintenance`: a public window in progress over Webhooks.

`build_state` writes the store once per folder (a copy of a shared base store) and returns
the site's files from a real StatusBuilder and SiteRenderer: the accessibility, live-update
and screenshot tests judge what the monitor would publish.
"""

from __future__ import annotations

import shutil
import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.config import Config, load_config
from monitor.probing.results import ProbeResult, Reason
from monitor.status.incidents import open_incident, update_incident
from monitor.status.site import SiteRenderer
from monitor.status.state import StatusBuilder, StatusSnapshot
from monitor.store import Store

NOW = datetime(2026, 3, 20, 12, 0, 30, tzinfo=UTC)
STATES = ("operational", "partial", "major", "maintenance")
TARGETS = ("api", "search", "hooks")
STEP = timedelta(minutes=5)
DAYS = 90
RECENT = NOW - timedelta(hours=1)  # the shared history ends here; each state writes the rest
HOSTILE = '<script>alert(1)</script> & "quotes"\nsecond line'

# (target, families, start, minutes): past outages, each an automatic incident.
PAST = (
    ("api", ("ipv6",), NOW - timedelta(days=5, hours=3), 25),
    ("search", ("ipv4", "ipv6"), NOW - timedelta(days=21, hours=7), 15),
    ("hooks", ("ipv4", "ipv6"), NOW - timedelta(days=47, hours=2), 40),
    ("api", ("ipv4", "ipv6"), NOW - timedelta(days=70, hours=9), 10),
)
# What each state adds in its last minutes: (target, families, minutes before NOW).
NOW_FAILING = {
    "operational": (),
    "partial": (("api", ("ipv6",), 20),),
    "major": (("api", ("ipv4", "ipv6"), 20),),
    "maintenance": (),
}


def config_text(db: Path, state: str) -> str:
    past = (NOW - timedelta(days=30, hours=2)).isoformat()
    past_end = (NOW - timedelta(days=30)).isoformat()
    window = ""
    if state == "maintenance":
        window = (
            f'  - {{start: "{(NOW - timedelta(minutes=30)).isoformat()}", '
            f'end: "{(NOW + timedelta(hours=1)).isoformat()}", services: [hooks], '
            "reason: Webhook queue migration}\n"
        )
    return (
        textwrap.dedent(f"""\
        storage: {{url: "sqlite:///{db}"}}
        defaults: {{interval: 5m}}
        targets:
          - {{name: api, url: "https://api.internal.example/v1/health", service: rest}}
          - {{name: search, url: "https://search.internal.example/q", service: search}}
          - {{name: hooks, url: "https://hooks.internal.example/ping", service: hooks}}
        maintenance:
          - {{start: "{past}", end: "{past_end}", services: [search],
              reason: Search index rebuild}}
        """)
        + window
        + textwrap.dedent("""\
        status_page:
          title: Outfame API status
          url: https://status.example.com
          history_days: 90
          components:
            - {name: REST API, description: Public REST endpoints, services: [rest], group: API}
            - {name: Search, description: Full-text search, services: [search], group: API}
            - {name: Webhooks, description: Event deliveries to your endpoints, services: [hooks]}
        """)
    )


def _probes(
    outages: list[tuple[str, tuple[str, ...], datetime, datetime]], start: datetime, end: datetime
) -> list[ProbeResult]:
    """Every series probed every 5 minutes (at :07 s) in [start, end), down in `outages`."""
    found = []
    when = start + timedelta(seconds=7)
    while when < end:
        for target in TARGETS:
            for family in ("ipv4", "ipv6"):
                down = any(
                    t == target and family in fs and start <= when < end
                    for t, fs, start, end in outages
                )
                found.append(
                    ProbeResult(
                        target,
                        family,
                        "eu-west",
                        when,
                        not down,
                        Reason.TIMEOUT if down else None,
                        None if down else 200,
                        0.0 if down else 0.042,
                    )
                )
        when += STEP
    return found


@dataclass(frozen=True)
class BuiltState:
    state: str
    config: Config
    snapshot: StatusSnapshot
    files: dict[str, bytes]


def build_state(folder: Path, state: str, base: Path | None = None) -> BuiltState:
    """The site of `state` at NOW; `base`, when given, is a store of the shared history to
    copy instead of writing it again."""
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "uptime-sla.db"
    config_path = folder / "uptime-sla.yaml"
    config_path.write_text(config_text(db, state))
    config = load_config(config_path)
    if base is not None and base.exists():
        shutil.copyfile(base, db)
    store = Store(config.storage.url)
    try:
        if base is None or not base.exists() or db.stat().st_size == 0:
            history = [(t, fs, s, s + timedelta(minutes=m)) for t, fs, s, m in PAST]
            store.write(_probes(history, NOW - timedelta(days=DAYS + 1), RECENT))
            _past_incident(config, store)
            if base is not None:
                store.close()
                shutil.copyfile(db, base)
                store = Store(config.storage.url)
        now_failing = [(t, fs, NOW - timedelta(minutes=m), NOW) for t, fs, m in NOW_FAILING[state]]
        store.write(_probes(now_failing, RECENT, NOW))
        if state == "major":
            incident = open_incident(
                config, store, title="REST API unavailable", impact="major",
                components=["REST API"], message=f"We are investigating. {HOSTILE}",
                now=NOW - timedelta(minutes=15),
            )  # fmt: skip
            update_incident(
                store, incident, status="identified",
                message="A failed database node; traffic is moving to its replica.",
                now=NOW - timedelta(minutes=5),
            )  # fmt: skip
        snapshot = StatusBuilder(config, store).snapshot(NOW)
    finally:
        store.close()
    return BuiltState(state, config, snapshot, SiteRenderer().files(snapshot))


def _past_incident(config: Config, store: Store) -> None:
    opened = NOW - timedelta(days=12, hours=4)
    incident = open_incident(
        config, store, title="Delayed webhook deliveries", impact="minor",
        components=["Webhooks"], message="Some webhooks arrive up to 10 minutes late.",
        now=opened,
    )  # fmt: skip
    update_incident(
        store, incident, status="monitoring", message="A queue worker was restarted.",
        now=opened + timedelta(minutes=40),
    )  # fmt: skip
    update_incident(
        store, incident, status="resolved", message="Deliveries are on time again.",
        now=opened + timedelta(hours=1, minutes=10),
    )  # fmt: skip


def write_site(files: dict[str, bytes], folder: Path) -> Path:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return folder
