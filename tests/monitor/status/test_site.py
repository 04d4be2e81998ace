"""The site's files: Statuspage v2 JSON field by field, a feed a real parser reads, badges,
escaping, nothing secret, and a site that is swapped in whole or not at all."""

from __future__ import annotations

import json
import os
import re
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import feedparser
import pytest

from monitor.config import load_config
from monitor.errors import InputError
from monitor.outputs.folders import MARKER
from monitor.probing.results import ProbeResult, Reason
from monitor.status.incidents import open_incident, update_incident
from monitor.status.publish import build_into, publish
from monitor.status.site import SiteRenderer
from monitor.status.state import StatusBuilder, StatusSnapshot
from monitor.store import Store

NOW = datetime(2026, 3, 20, 12, 0, 30, tzinfo=UTC)
SECRET = "sk-sentinel-header-99c1"
XSS = "<script>alert(1)</script>"
# Long enough that no random 12-character incident id contains it (a bare "eu" did, 1 run in 20).
LOCATION = "eu-sentinel-location"
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

# --- Statuspage v2 shapes -------------------------------------------------------------


def text(value: Any) -> bool:
    return isinstance(value, str)


def moment(value: Any) -> bool:
    return isinstance(value, str) and bool(TIME.match(value))


def maybe(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: value is None or check(value)


def one_of(*values: str) -> Callable[[Any], bool]:
    return lambda value: value in values


def boolean(value: Any) -> bool:
    return isinstance(value, bool)


def whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


PAGE = {"id": text, "name": text, "url": text, "time_zone": text, "updated_at": moment}
STATUS = {"indicator": one_of("none", "minor", "major", "critical"), "description": text}
COMPONENT_STATUS = one_of(
    "operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"
)
COMPONENT = {
    "id": text,
    "name": text,
    "status": COMPONENT_STATUS,
    "created_at": moment,
    "updated_at": moment,
    "position": whole,
    "description": maybe(text),
    "showcase": boolean,
    "start_date": maybe(text),
    "group_id": maybe(text),
    "page_id": text,
    "group": boolean,
    "only_show_if_degraded": boolean,
}
GROUP = {**COMPONENT, "components": lambda ids: all(text(i) for i in ids)}
INCIDENT_STATUS = one_of("investigating", "identified", "monitoring", "resolved", "postmortem")
MAINTENANCE_STATUS = one_of("scheduled", "in_progress", "verifying", "completed")
UPDATE = {
    "id": text,
    "status": lambda s: INCIDENT_STATUS(s) or MAINTENANCE_STATUS(s),
    "body": text,
    "incident_id": text,
    "created_at": moment,
    "updated_at": moment,
    "display_at": moment,
    "affected_components": maybe(lambda v: isinstance(v, list)),
    "deliver_notifications": boolean,
    "custom_tweet": maybe(text),
    "tweet_id": maybe(text),
}
INCIDENT = {
    "id": text,
    "name": text,
    "status": INCIDENT_STATUS,
    "created_at": moment,
    "updated_at": moment,
    "monitoring_at": maybe(moment),
    "resolved_at": maybe(moment),
    "impact": one_of("none", "minor", "major", "critical"),
    "shortlink": text,
    "started_at": moment,
    "page_id": text,
    "incident_updates": list,
    "components": list,
}
MAINTENANCE = {
    **INCIDENT,
    "status": MAINTENANCE_STATUS,
    "impact": one_of("none", "minor", "major", "critical", "maintenance"),
    "scheduled_for": moment,
    "scheduled_until": moment,
}


def check(document: dict[str, Any], shape: dict[str, Any], where: str) -> None:
    assert set(document) == set(shape), where
    for key, expected in shape.items():
        value = document[key]
        if expected is list:
            assert isinstance(value, list), f"{where}.{key}"
        else:
            assert expected(value), f"{where}.{key} = {value!r}"


def check_component(component: dict[str, Any], where: str) -> None:
    check(component, GROUP if component["group"] else COMPONENT, where)


def check_incident(incident: dict[str, Any], shape: dict[str, Any], where: str) -> None:
    check(incident, shape, where)
    for n, update in enumerate(incident["incident_updates"]):
        check(update, UPDATE, f"{where}.incident_updates[{n}]")
        assert update["incident_id"] == incident["id"]
    for n, component in enumerate(incident["components"]):
        check_component(component, f"{where}.components[{n}]")


# --- a site -----------------------------------------------------------------------------


@pytest.fixture
def snapshot(tmp_path: Path) -> StatusSnapshot:
    config_path = tmp_path / "uptime-sla.yaml"
    config_path.write_text(
        textwrap.dedent(f"""\
        storage: {{url: "sqlite:///{tmp_path / "db.sqlite"}"}}
        defaults: {{interval: 1m, headers: {{X-Api-Key: "{SECRET}"}}}}
        targets:
          - {{name: api, url: "https://api.internal.example/v1/health", service: api}}
          - {{name: odd, url: "https://odd.internal.example/", service: odd}}
        plans: {{pro: {{objective: 99.9, credits: [{{below: 99.9, percent: 10}}]}}}}
        contracts:
          - {{customer: sentinel-customer, plan: pro, service: api, monthly_fee: "43210.98",
              start: 2026-01-01}}
        maintenance:
          - {{start: 2026-03-01T02:00:00Z, end: 2026-03-01T03:00:00Z, reason: Old work}}
          - {{start: 2026-03-20T11:00:00Z, end: 2026-03-20T13:00:00Z, services: [odd]}}
          - {{start: 2026-03-25T02:00:00Z, end: 2026-03-25T03:00:00Z, targets: [api],
              reason: Network upgrade}}
          - {{start: 2026-03-20T11:00:00Z, end: 2026-03-20T14:00:00Z, targets: [odd],
              reason: hidden-window-reason, public: false}}
        status_page:
          title: Outfame API status
          url: https://status.example.com
          history_days: 30
          components:
            - {{name: Public API, description: REST endpoints, targets: [api], group: API}}
            - {{name: "{XSS}", services: [odd]}}
        """)
    )
    config = load_config(config_path)
    store = Store(config.storage.url)
    try:
        store.write(
            [
                ProbeResult(
                    "api",
                    family,
                    LOCATION,
                    NOW - timedelta(minutes=m),
                    m > 20 or family == "ipv4",
                    None if m > 20 or family == "ipv4" else Reason.CONNECT,
                    200,
                    0.05,
                    address="192.0.2.10",
                )
                for m in range(1, 600)
                for family in ("ipv4", "ipv6")
            ]
        )
        incident = open_incident(
            config, store, title=f"Errors {XSS}", impact="major", components=["Public API"],
            message="Looking into it.", now=NOW - timedelta(hours=3),
        )  # fmt: skip
        update_incident(
            store, incident, status="monitoring", message="Fix deployed.",
            now=NOW - timedelta(hours=2),
        )  # fmt: skip
        update_incident(
            store, incident, status="resolved", message="All good.", now=NOW - timedelta(hours=1)
        )
        open_incident(
            config, store, title="Slow logins", impact="minor", components=[],
            message="Investigating.", now=NOW - timedelta(minutes=5),
        )  # fmt: skip
        return StatusBuilder(config, store).snapshot(NOW)
    finally:
        store.close()


@pytest.fixture
def files(snapshot: StatusSnapshot) -> dict[str, bytes]:
    return SiteRenderer().files(snapshot)


def api(files: dict[str, bytes], name: str) -> dict[str, Any]:
    return json.loads(files[f"api/v2/{name}"])


def test_the_site_has_exactly_the_files_of_the_spec(files, snapshot):
    assert set(files) == {
        "index.html",
        "history.html",
        "history/2026-02.html",  # 30 days back from March 20 touch February
        "history/2026-03.html",
        *(f"incidents/{incident.id}.html" for incident in snapshot.incidents),
        "history.atom",
        "live.json",
        "status.css",
        "status.js",
        "favicon.svg",
        *(
            f"api/v2/{name}.json"
            for name in (
                "summary",
                "status",
                "components",
                "incidents",
                "incidents/unresolved",
                "scheduled-maintenances",
                "scheduled-maintenances/upcoming",
                "scheduled-maintenances/active",
            )
        ),
        "badges/public-api.svg",
        "badges/public-api-uptime-30d.svg",
        "badges/-script-alert-1-script-.svg",
        "badges/-script-alert-1-script--uptime-30d.svg",
    }


def test_every_json_file_has_statuspage_v2_field_names_types_and_enums(files):
    lists = {
        "summary.json": ("components", "incidents", "scheduled_maintenances"),
        "status.json": (),
        "components.json": ("components",),
        "incidents.json": ("incidents",),
        "incidents/unresolved.json": ("incidents",),
        "scheduled-maintenances.json": ("scheduled_maintenances",),
        "scheduled-maintenances/upcoming.json": ("scheduled_maintenances",),
        "scheduled-maintenances/active.json": ("scheduled_maintenances",),
    }
    for name, keys in lists.items():
        document = api(files, name)
        assert set(document) == {"page", *keys} | ({"status"} if "status" in name or
                                                    name == "summary.json" else set())  # fmt: skip
        check(document["page"], PAGE, f"{name}.page")
        if "status" in document:
            check(document["status"], STATUS, f"{name}.status")
        for n, component in enumerate(document.get("components", ())):
            check_component(component, f"{name}.components[{n}]")
        for n, incident in enumerate(document.get("incidents", ())):
            check_incident(incident, INCIDENT, f"{name}.incidents[{n}]")
        for n, window in enumerate(document.get("scheduled_maintenances", ())):
            check_incident(window, MAINTENANCE, f"{name}.scheduled_maintenances[{n}]")


def test_the_json_says_what_the_probes_and_the_operators_said(files):
    summary = api(files, "summary.json")
    assert summary["status"] == {"indicator": "minor", "description": "Minor Service Outage"}
    components = {c["id"]: c for c in summary["components"]}
    assert components["public-api"]["status"] == "partial_outage"
    assert components["public-api"]["group_id"] == "api"
    assert components["api"]["group"] is True
    assert components["api"]["components"] == ["public-api"]
    assert components["-script-alert-1-script-"]["name"] == XSS
    assert components["-script-alert-1-script-"]["status"] == "under_maintenance"
    unresolved = api(files, "incidents/unresolved.json")["incidents"]
    assert {i["name"] for i in unresolved} == {"Slow logins", "Public API: IPv6 requests failing"}
    resolved = next(
        i for i in api(files, "incidents.json")["incidents"] if i["name"].startswith("Errors")
    )
    assert [u["status"] for u in resolved["incident_updates"]] == [
        "resolved",
        "monitoring",
        "investigating",
    ]  # newest first, as Statuspage lists them
    assert resolved["resolved_at"] == "2026-03-20T11:00:30Z"
    assert resolved["monitoring_at"] == "2026-03-20T10:00:30Z"
    assert [c["id"] for c in resolved["components"]] == ["public-api"]
    windows = api(files, "scheduled-maintenances.json")["scheduled_maintenances"]
    assert [(w["name"], w["status"]) for w in windows] == [
        ("Network upgrade", "scheduled"),
        ("Scheduled maintenance", "in_progress"),
        ("Old work", "completed"),
    ]  # public: false is left out
    assert [w["name"] for w in api(files, "scheduled-maintenances/upcoming.json")[
        "scheduled_maintenances"]] == ["Network upgrade"]  # fmt: skip
    assert [w["name"] for w in api(files, "scheduled-maintenances/active.json")[
        "scheduled_maintenances"]] == ["Scheduled maintenance"]  # fmt: skip


def test_a_feed_parser_reads_one_entry_per_incident_update_and_maintenance_step(files, snapshot):
    feed = feedparser.parse(files["history.atom"])
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.feed.title == "Outfame API status"
    updates = sum(len(i.updates) for i in snapshot.incidents)
    # Scheduled, started, completed: a window has an entry for each step it reached.
    steps = {"scheduled": 1, "in_progress": 2, "completed": 3}
    windows = sum(steps[m.status] for m in snapshot.maintenances)
    assert len(feed.entries) == updates + windows == (3 + 1 + 1) + (3 + 2 + 1)
    assert len({e.id for e in feed.entries}) == len(feed.entries)
    titles = [e.title for e in feed.entries]
    assert f"Errors {XSS}: resolved" in titles
    assert "Maintenance: Network upgrade (scheduled)" in titles
    assert "Maintenance: Old work (completed)" in titles
    by_title = {e.title: e for e in feed.entries}
    errors = next(i for i in snapshot.incidents if i.name.startswith("Errors"))
    assert by_title[f"Errors {XSS}: resolved"].link == (
        f"https://status.example.com/incidents/{errors.id}.html"
    )
    assert by_title["Maintenance: Old work (completed)"].link.startswith(
        "https://status.example.com/history/2026-03.html#maintenance-"
    )


def test_control_characters_typed_by_operators_never_break_the_feed(tmp_path: Path):
    config_path = tmp_path / "uptime-sla.yaml"
    config_path.write_text(
        textwrap.dedent(f"""\
        storage: {{url: "sqlite:///{tmp_path / "db.sqlite"}"}}
        targets: [{{name: api, url: "https://api.example/", service: api}}]
        status_page:
          title: "Status\\x1b[2J\\x0cpage"
          components: [{{name: "Public\\x07API", targets: [api]}}]
        """)
    )
    config = load_config(config_path)
    store = Store(config.storage.url)
    try:
        open_incident(
            config, store, title="Errors\x00 on\r\nsearch\x1b[31m", impact="major",
            components=["Public\x07API"], message="Line one\x08.\nLine two\ufffe\x1f.",
            now=NOW - timedelta(minutes=5),
        )  # fmt: skip
        snapshot = StatusBuilder(config, store).snapshot(NOW)
    finally:
        store.close()
    files = SiteRenderer().files(snapshot)
    feed = ElementTree.fromstring(files["history.atom"])
    atom = "{http://www.w3.org/2005/Atom}"
    assert feed.find(f"{atom}title").text == "Status[2J page"
    (entry,) = feed.iter(f"{atom}entry")
    assert entry.find(f"{atom}title").text == "Errors on search[31m: investigating"
    assert entry.find(f"{atom}content").text == "Line one.\nLine two."
    assert not feedparser.parse(files["history.atom"]).bozo
    for name, content in files.items():
        if name.endswith(".svg"):
            ElementTree.fromstring(content)  # every badge is well-formed XML


def test_names_are_escaped_and_nothing_secret_reaches_the_site(files):
    index = files["index.html"].decode()
    assert XSS not in index
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in index
    assert "<script" not in index.replace('<script src="status.js" defer></script>', "")
    for name, content in files.items():
        for sentinel in (SECRET, "sentinel-customer", "43210.98", "internal.example",
                         "192.0.2.10", "hidden-window-reason", LOCATION):  # fmt: skip
            assert sentinel.encode() not in content, (name, sentinel)


def test_badges_are_svg_naming_their_component(files):
    status = ElementTree.fromstring(files["badges/public-api.svg"])
    uptime = ElementTree.fromstring(files["badges/public-api-uptime-30d.svg"])
    svg = "{http://www.w3.org/2000/svg}"
    assert [t.text for t in status.iter(f"{svg}text")] == ["Public API", "partial outage"]
    assert next(t.text for t in uptime.iter(f"{svg}text")) == "Public API uptime 30d"
    assert status.find(f"{svg}title").text == "Public API: partial outage"


def test_status_build_replaces_a_directory_whole_or_leaves_it(files, tmp_path: Path):
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    target = tmp_path / "site"
    target.mkdir()
    (target / "stale.html").write_text("old")
    build_into(files, target)
    assert not (target / "stale.html").exists()
    assert (target / MARKER).is_file()
    assert (target / "api/v2/summary.json").read_bytes() == files["api/v2/summary.json"]
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError, match="not a directory"):
        build_into(files, blocker)
    assert blocker.read_text() == "x"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "site"]


def test_publish_swaps_current_to_a_new_folder_and_removes_the_old_ones(files, tmp_path: Path):
    tmp_path = tmp_path / "out"
    first = publish(files, tmp_path, NOW).folder
    second = publish(files, tmp_path, NOW + timedelta(minutes=1)).folder
    assert os.readlink(tmp_path / "current") == second.name
    assert not first.exists()
    shared = os.readlink(second / "incidents")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["current", second.name, os.path.basename(shared), MARKER]
    )
    assert (second / MARKER).is_file()  # each site is marked, and the folder holding them


def test_incident_pages_stay_in_one_folder_while_they_do_not_change(files, tmp_path: Path):
    """Thousands of pages no refresh touches are not linked into every new folder: each
    site's `incidents` points at a folder kept while its pages stay the same, and a change
    is written into the other folder, which no published site points at."""
    tmp_path = tmp_path / "out"
    first = publish(files, tmp_path, NOW)
    second = publish(dict(files), tmp_path, NOW + timedelta(minutes=1), first)
    assert second.shared == first.shared
    page, other = sorted(name for name in files if name.startswith("incidents/"))[:2]
    assert (tmp_path / "current" / page).read_bytes() == files[page]
    changed = {**files, page: b"<p>an update</p>"}
    third = publish(changed, tmp_path, NOW + timedelta(minutes=2), second)
    assert third.shared != second.shared
    assert third.spare == second.shared  # kept, untouched, for the next change
    assert (tmp_path / "current" / page).read_bytes() == b"<p>an update</p>"
    assert second.shared is not None
    assert (second.shared / page.removeprefix("incidents/")).read_bytes() == files[page]
    kept = (tmp_path / "current" / other).stat().st_ino
    again = {**changed, page: b"<p>resolved</p>"}
    del again[other]  # an incident that left the history
    fourth = publish(again, tmp_path, NOW + timedelta(minutes=3), third)
    assert fourth.shared == second.shared  # the two folders take turns
    assert (tmp_path / "current" / page).read_bytes() == b"<p>resolved</p>"
    assert not (tmp_path / "current" / other).exists()
    assert third.shared is not None
    assert (third.shared / other.removeprefix("incidents/")).stat().st_ino == kept
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["current", fourth.folder.name, second.shared.name, third.shared.name, MARKER]
    )
    current = tmp_path / "current"
    site = {
        str((Path(folder) / name).relative_to(current)): (Path(folder) / name).read_bytes()
        for folder, _, names in os.walk(current, followlinks=True)
        for name in names
        if name != MARKER
    }
    assert site == again  # the site as a web server reads it: file for file


def test_a_republished_site_links_unchanged_files_and_writes_changed_ones(files, tmp_path: Path):
    first = publish(files, tmp_path, NOW)
    changed = {**files, "index.html": b"<p>new</p>"}
    second = publish(changed, tmp_path, NOW + timedelta(minutes=1), first)
    assert not first.folder.exists()
    current = tmp_path / "current"
    assert {
        name: (current / name).read_bytes() for name in files
    } == changed  # the links outlive the removed folder
    assert (current / "index.html").stat().st_nlink == 1
    assert (current / "status.css").stat().st_nlink == 1  # its first copy is gone
    assert second.files is changed
    inode = (second.folder / "api/v2/summary.json").stat().st_ino
    third = publish(changed, tmp_path, NOW + timedelta(minutes=2), second)
    assert (third.folder / "api/v2/summary.json").stat().st_ino == inode  # linked, not written
    assert oct((third.folder / "history.atom").stat().st_mode & 0o777) == "0o644"


def test_a_site_written_under_a_strict_umask_is_readable_by_the_web_server(files, tmp_path: Path):
    previous = os.umask(0o077)
    try:
        folder = publish(files, tmp_path, NOW).folder
    finally:
        os.umask(previous)
    for path in (folder, *folder.rglob("*")):
        assert oct(path.stat().st_mode & 0o777) == ("0o755" if path.is_dir() else "0o644"), path
