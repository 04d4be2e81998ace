"""The status page of a running `uptime-sla run`, in a real browser (Chromium via Playwright).

Real HTTPS targets on 127.0.0.1 and [::1]; the monitor rewrites the site every second
and swaps `current`; a local HTTP server serves the output directory. Screenshots of each
state go to the test's folder under test-artifacts/ (the `artifacts` fixture).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.browser import StaticServer
from support.commands import uptime_sla
from support.https import Route
from support.lab import lab_config, target_yaml
from support.processes import SCRAPE_TIMEOUT, Monitor, wait_for

from monitor.outputs.folders import MARKER

playwright = pytest.importorskip("playwright.sync_api")

SECRET = "sk-status-sentinel-4f1e"
CUSTOMER = "sentinel-customer-corp"
FEE = "98765.43"
XSS = "<script>alert(1)</script>"


def write_config(tmp_path: Path, api, search, output: Path) -> Path:
    now = datetime.now(UTC)
    window = (now - timedelta(minutes=5), now + timedelta(hours=1))
    hidden = (now - timedelta(minutes=5), now + timedelta(hours=2))
    return lab_config(
        tmp_path,
        [
            target_yaml("api-health", api.url("/health"), service="public-api"),
            target_yaml("search", search.url("/search"), service="search"),
            target_yaml("odd", search.url("/odd"), service="odd"),
        ],
        ca_file=api.ca_file,
        metrics="sla_refresh: 1h",
        timeout="1s",
        defaults=['headers: {Authorization: "Bearer ${OUTFAME_API_KEY}"}'],
        extra=f"""\
        plans: {{pro: {{objective: 99.9, credits: [{{below: 99.9, percent: 10}}]}}}}
        contracts:
          - {{customer: {CUSTOMER}, plan: pro, service: public-api, monthly_fee: "{FEE}",
              start: 2026-01-01}}
        maintenance:
          - {{start: "{window[0].isoformat()}", end: "{window[1].isoformat()}",
              services: [odd], reason: Storage migration}}
          - {{start: "{hidden[0].isoformat()}", end: "{hidden[1].isoformat()}",
              targets: [search], reason: Secret internal work, public: false}}
        status_page:
          title: Outfame API status
          url: https://status.example.com
          output_dir: {output}
          refresh: 1s
          history_days: 3
          incident_after: 3s
          incident_merge: 3s
          components:
            - {{name: Public API, description: REST endpoints, targets: [api-health], group: API}}
            - {{name: Search, services: [search], group: API}}
            - {{name: "{XSS}", services: [odd]}}
        """,
    ).config


def status_of(page, component: str) -> str:
    status = page.locator(f"#component-{component} .component-status")
    return status.inner_text() if status.count() else ""


def test_the_page_follows_the_probes_incidents_and_maintenance(
    https_server, tmp_path: Path, browser, artifacts: Path
):
    api = https_server(routes={"/health": Route()})
    search = https_server(routes={"/search": Route(), "/odd": Route()})
    output = tmp_path / "status"
    config = write_config(tmp_path, api, search, output)
    monitor = Monitor(config, env={"OUTFAME_API_KEY": SECRET})
    site = StaticServer(output)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(SCRAPE_TIMEOUT * 1000)  # ms; Chromium shares a busy machine
    errors: list[str] = []
    outside: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: errors.append(f"dialog: {d.message}"))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on(
        "request",
        lambda r: None if r.url.startswith(f"{site.base}/current/") else outside.append(r.url),
    )
    index = f"{site.base}/current/index.html"

    def shows(component: str, text: str) -> bool:
        response = page.goto(index)
        return response is not None and response.ok and text in status_of(page, component)

    def run(*args: str) -> str:
        finished = uptime_sla("-c", str(config), *args, env={"OUTFAME_API_KEY": SECRET})
        assert finished.returncode == 0, finished.stderr
        return finished.stdout.strip()

    try:
        wait_for((output / "current" / "index.html").exists)
        wait_for(lambda: shows("public-api", "Operational") and shows("search", "Operational"))
        assert shows("-script-alert-1-script-", "Under maintenance")
        assert page.locator("#component--script-alert-1-script- h3").inner_text() == XSS
        maintenance = page.locator("article.maintenance")
        assert maintenance.count() == 1  # the public: false window is not shown
        assert "Storage migration" in maintenance.inner_text()
        assert "In progress" in maintenance.inner_text()
        page.screenshot(path=artifacts / "operational-1280.png", full_page=True)

        api.stop_family("ipv6")
        wait_for(lambda: shows("public-api", "Partial outage: IPv6 down"))
        assert "IPv4: operational" in page.locator("#component-public-api").inner_text()
        page.screenshot(path=artifacts / "ipv6-down-1280.png", full_page=True)

        api.stop_family("ipv4")
        wait_for(lambda: shows("public-api", "Major outage"))
        assert "Partial System Outage" in page.locator(".banner").inner_text()
        summary = json.loads((output / "current/api/v2/summary.json").read_text())
        assert summary["status"]["indicator"] == "major"
        assert any(i["id"].startswith("auto-public-api-") for i in summary["incidents"])
        page.screenshot(path=artifacts / "major-outage-1280.png", full_page=True)

        incident = run(
            "incident", "open", "--title", "Slow searches", "--impact", "minor",
            "--component", "Search", "--message", "We are looking into slow searches.",
        )  # fmt: skip
        run("incident", "update", incident, "--status", "identified", "--message", "Found it.")
        card = page.locator(f"#incident-{incident}")
        wait_for(
            lambda: page.goto(index) and card.count() == 1 and "Found it." in card.inner_text()
        )
        text = card.inner_text()
        assert "Slow searches" in text
        assert "We are looking into slow searches." in text
        assert "Found it." in text
        page.screenshot(path=artifacts / "incident-1280.png", full_page=True)

        run("incident", "update", incident, "--status", "resolved", "--message", "All good.")
        wait_for(lambda: page.goto(index) and card.count() == 0)
        page.goto(f"{site.base}/current/history.html")
        assert "All good." in page.locator(f"#incident-{incident}").inner_text()
        page.screenshot(path=artifacts / "history-1280.png", full_page=True)

        phone = browser.new_context(viewport={"width": 375, "height": 800}, color_scheme="dark")
        small = phone.new_page()
        small.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        small.goto(index)
        assert small.evaluate("document.documentElement.scrollWidth") <= 375
        assert small.locator("#component-public-api .bar:visible").count() == 3  # history_days
        small.screenshot(path=artifacts / "phone-375-dark.png", full_page=True)
        phone.close()
    finally:
        context.close()
        site.close()
        exit_code = monitor.stop()
    assert exit_code == 0, monitor.output()
    assert errors == [], errors
    assert outside == []
    assert (output / MARKER).is_file()  # a site `run` wrote: `status build` may replace it
    folders = sorted(p.name for p in output.iterdir() if p.name != MARKER)
    # `current`, its folder, and the incident pages' folder with its spare (they take
    # turns): older ones removed.
    kinds = [name.split("-")[0] for name in folders]
    assert kinds in (["current", "incidents", "site"], ["current", *["incidents"] * 2, "site"])
    pages = []
    for folder, _, names in os.walk(output / "current", followlinks=True):
        for name in names:
            content = (Path(folder) / name).read_bytes()
            pages.append(f"{Path(folder).name}/{name}")
            for sentinel in (SECRET, CUSTOMER, FEE, "Secret internal work", "127.0.0.1"):
                assert sentinel.encode() not in content, (folder, name, sentinel)
    assert f"incidents/{incident}.html" in pages  # the walk went into the shared folder
