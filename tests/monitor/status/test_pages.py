"""The site's pages: one per incident, one per month, linked from everywhere a customer
looks; golden files hold every document of a fixed page as it is written."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree

import feedparser
import pytest
from support.status_snapshots import (
    HOSTILE,
    NOW,
    component,
    golden_snapshot,
    incident,
    snapshot_of,
)

from monitor.config import slug
from monitor.status.site import SiteRenderer

GOLDEN = Path(__file__).parent / "golden"
GOLDEN_FILES = (
    "index.html",
    "history.html",
    "history/2026-02.html",
    "history/2026-03.html",
    "incidents/k3v9q0x2m7ab.html",
    "incidents/auto-rest-api-1774007400.html",
    "history.atom",
    "live.json",
    "badges/rest-api.svg",
    "badges/rest-api-uptime-30d.svg",
    "api/v2/summary.json",
)


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    return SiteRenderer().files(golden_snapshot())


def normalised(content: bytes) -> str:
    """The generation time, in each form the site writes it, as a placeholder; JSON
    indented, so that a change reads as a diff of lines."""
    text = content.decode()
    if text.startswith("{"):
        text = json.dumps(json.loads(text), indent=1, ensure_ascii=False) + "\n"
    text = text.replace("2026-03-20T12:00:30Z", "GENERATED-AT")
    return re.sub(
        r"(data-live-time>|\"updated_text\": \")Mar 20, 2026 12:00 UTC", r"\1GENERATED", text
    )


@pytest.mark.parametrize("name", GOLDEN_FILES)
def test_each_document_is_written_as_its_golden_file(files, name: str):
    """UPDATE_GOLDEN=1 writes them again; read the diff before committing it."""
    golden = GOLDEN / name.replace("/", "__")
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(normalised(files[name]))
    assert normalised(files[name]) == golden.read_text()


def links(html: bytes) -> list[str]:
    return re.findall(r'href="([^"]+)"', html.decode())


def test_every_incident_has_a_page_linked_from_the_front_page_history_feed_and_json(files):
    snapshot = golden_snapshot()
    pages = {name for name in files if name.startswith("incidents/")}
    assert pages == {f"incidents/{i.id}.html" for i in snapshot.incidents}
    front = links(files["index.html"])
    assert {f"incidents/{i.id}.html" for i in snapshot.unresolved} <= set(front)
    history = set(links(files["history.html"]))
    assert pages <= history  # all within this month and the two before
    months = set(links(files["history/2026-02.html"])) | set(links(files["history/2026-03.html"]))
    assert {f"../{page}" for page in pages} <= months
    feed = feedparser.parse(files["history.atom"])
    assert {f"https://status.example.com/{page}" for page in pages} <= {
        e.link for e in feed.entries
    }
    summary = json.loads(files["api/v2/incidents.json"])
    for found in summary["incidents"]:
        assert found["shortlink"] == f"https://status.example.com/incidents/{found['id']}.html"


def test_an_incident_page_shows_its_updates_components_families_and_duration(files):
    page = files["incidents/auto-search-1773400000.html"].decode()
    assert "Search disruption" in page
    assert "Lasted 1 minute." in files["history.html"].decode()  # never "1 minutes"
    assert "<dt>Duration</dt><dd>1 minute</dd>" in page
    assert "<dt>Components</dt><dd>Search</dd>" in page
    ipv6 = files["incidents/auto-rest-api-1774007400.html"].decode()
    assert "<dt>Failing</dt><dd>IPv6 requests</dd>" in ipv6
    assert "Ongoing" in ipv6
    operator = files["incidents/k3v9q0x2m7ab.html"].decode()
    assert [m for m in ("Investigating", "Identified", "Resolved") if m in operator] == [
        "Investigating", "Identified", "Resolved"
    ]  # fmt: skip
    assert "Critical impact" in operator
    assert "<script>alert" not in operator
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in operator


def test_history_shows_three_months_and_a_page_for_each_month_the_history_touches():
    snapshot = snapshot_of(
        (component("REST API", 1, history_days=90),),
        (
            incident(
                "a-dec",
                "December",
                datetime(2025, 12, 22, tzinfo=UTC),
                minutes=5,
                components=("rest-api",),
            ),
            incident(
                "a-jan",
                "January",
                datetime(2026, 1, 2, tzinfo=UTC),
                minutes=5,
                components=("rest-api",),
            ),
        ),
        (),
        history_days=90,
    )
    files = SiteRenderer().files(snapshot)
    months = ["2025-12", "2026-01", "2026-02", "2026-03"]  # Dec 21 to Mar 20
    assert sorted(n for n in files if n.startswith("history/")) == [
        f"history/{m}.html" for m in months
    ]
    history = files["history.html"].decode()
    shown = re.findall(r'<section class="month" id="month-([0-9-]+)"', history)
    assert shown == ["2026-03", "2026-02", "2026-01"]  # newest first
    assert "January" in history
    assert "December" not in re.sub(r"<nav class=\"months\".*?</nav>", "", history, flags=re.S)
    nav = re.findall(r'href="history/([0-9-]+)\.html"', history.split('<nav class="months"')[1])
    assert nav == months  # in order
    january = files["history/2026-01.html"].decode()
    assert 'rel="prev" href="../history/2025-12.html"' in january
    assert 'rel="next" href="../history/2026-02.html"' in january
    assert "January" in january
    december = files["history/2025-12.html"].decode()
    assert 'rel="prev"' not in december
    assert "December" in december


def test_an_incident_belongs_to_the_month_of_the_page_time_zone():
    late = datetime(2026, 2, 28, 23, 30, tzinfo=UTC)  # already March 1 in Berlin
    snapshot = snapshot_of(
        (component("REST API", 1),),
        (incident("a-late", "Late one", late, minutes=5, components=("rest-api",)),),
        (),
        timezone="Europe/Berlin",
    )
    files = SiteRenderer().files(snapshot)
    assert "Late one" in files["history/2026-03.html"].decode()
    assert "Late one" not in files["history/2026-02.html"].decode()


def test_the_feed_is_well_formed_xml_whatever_operators_type(files):
    root = ElementTree.fromstring(files["history.atom"])  # strict: fails on \x01
    titles = [e.text for e in root.iter("{http://www.w3.org/2005/Atom}title")]
    assert any(t and t.startswith("Errors <script>alert(1)</script>") for t in titles)
    assert not any("\x01" in (t or "") for t in titles)
    assert not feedparser.parse(files["history.atom"]).bozo
    badge = ElementTree.fromstring(files[f"badges/{slug(HOSTILE)}.svg"])
    assert badge.get("aria-label", "").startswith("<script>alert(1)</script>")


def test_live_json_names_the_pages_that_can_change_with_their_versions(files):
    live = json.loads(files["live.json"])
    snapshot = golden_snapshot()
    assert live["updated_at"] == "2026-03-20T12:00:30Z"
    assert set(live["pages"]) == {
        "index.html", "history.html", "history/2026-03.html",
        *(f"incidents/{i.id}.html" for i in snapshot.unresolved),
    }  # fmt: skip
    for page, version in live["pages"].items():
        assert f'data-version="{version}"' in files[page].decode()


def test_a_page_that_did_not_change_keeps_its_bytes_and_version_as_time_moves(files):
    later = SiteRenderer().files(
        snapshot_of(
            *_parts(golden_snapshot()),
            indicator=golden_snapshot().indicator,
            now=NOW + timedelta(seconds=20),
        )
    )
    for name in ("history.html", "history/2026-03.html", "incidents/k3v9q0x2m7ab.html"):
        assert later[name] == files[name]
    assert json.loads(later["live.json"])["pages"] == json.loads(files["live.json"])["pages"]
    assert later["index.html"] != files["index.html"]  # its Updated time


def _parts(snapshot):
    return snapshot.components, snapshot.incidents, snapshot.maintenances
