"""The status site as people with a keyboard, a screen reader or low vision meet it.

axe-core (tests/js, pinned by its package-lock.json; scripts/setup.sh installs it) runs
in Debian's Chromium on the front page, the history and an incident's page, in each state
(operational, partial, major, maintenance), light and dark, 1280 and 375 px wide: no
WCAG 2.1 A or AA violation. A keyboard passes a component's day bars with one Tab. The
live update replaces only what changed, without a reload, keeping focus and scroll.

Screenshots of every page checked go to the test's folder under test-artifacts/; with
UPDATE_DOCS_IMAGES=1 the front page of each state also goes to docs/images/ (what
docs/status-page.md shows).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from support.browser import (
    AXE,
    CHROMIUM,
    CHROMIUM_ARGS,
    VIEWS,
    StaticServer,
    axe_violations,
)
from support.processes import wait_for
from support.status_site import NOW, STATES, BuiltState, build_state, write_site

from monitor.status.publish import publish
from monitor.status.site import SiteRenderer

playwright = pytest.importorskip("playwright.sync_api")

ROOT = Path(__file__).resolve().parents[2]
DOCS_IMAGES = ROOT / "docs/images"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, BuiltState]:
    work = tmp_path_factory.mktemp("states")
    base = work / "history.db"  # the 90 days every state shares, written once
    return {state: build_state(work / state, state, base) for state in STATES}


@pytest.fixture(scope="module")
def served(built: dict[str, BuiltState], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    sites = tmp_path_factory.mktemp("sites")
    for state, site in built.items():
        write_site(site.files, sites / state)
    server = StaticServer(sites)
    yield server.base
    server.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def test_axe_finds_no_wcag_violation_on_any_page_state_scheme_or_width(
    built: dict[str, BuiltState], served: str, browser, artifacts: Path
):
    assert AXE.is_file(), "axe-core missing: run scripts/setup.sh (npm ci in tests/js)"
    found: dict[str, list[str]] = {}
    errors: list[str] = []
    # bypass_csp: the page's CSP rightly refuses axe's injected script.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    for state, site in built.items():
        incident = site.snapshot.incidents[0].id
        for name, path in (
            ("index", "index.html"),
            ("history", "history.html"),
            ("incident", f"incidents/{incident}.html"),
        ):
            response = page.goto(f"{served}/{state}/{path}")
            assert response is not None, path
            assert response.ok, path
            page.add_script_tag(path=str(AXE))  # once a page: each view below reuses it
            for scheme, width in VIEWS:
                page.emulate_media(color_scheme=scheme)
                page.set_viewport_size({"width": width, "height": 900})
                shot = artifacts / f"{state}-{name}-{scheme}-{width}.png"
                page.screenshot(path=shot, full_page=True)
                if name == "index" and scheme == "light" and os.environ.get("UPDATE_DOCS_IMAGES"):
                    kind = "desktop" if width > 600 else "phone"
                    page.screenshot(path=DOCS_IMAGES / f"status-{state}-{kind}.png", full_page=True)
                if violations := axe_violations(page):
                    found[f"{state} {name} {scheme} {width}px"] = violations
                if width == 375:
                    assert page.evaluate("document.documentElement.scrollWidth") <= 375, path
    context.close()
    assert found == {}, json.dumps(found, indent=1)
    assert errors == []


def test_the_banner_says_each_state_in_words(built: dict[str, BuiltState]):
    """Impact never by colour alone: the banner and each component say it in text."""
    banners = {
        state: site.files["index.html"].decode().split('<h1 id="banner-h">')[1].split("</h1>")[0]
        for state, site in built.items()
    }
    assert banners["operational"].endswith("All Systems Operational")
    assert banners["partial"].endswith("Minor Service Outage")
    assert banners["major"].endswith("Partial System Outage")
    partial = built["partial"].files["index.html"].decode()
    assert "Partial outage: IPv6 down" in partial


def test_a_keyboard_passes_each_components_bars_with_one_tab(served: str, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{served}/major/index.html")
    stops: list[str] = []
    for _ in range(60):
        page.keyboard.press("Tab")
        stop = page.evaluate(
            """() => { const e = document.activeElement;
                       const c = e.closest('.component');
                       return (e.classList.contains('bar') ? 'bar ' : e.tagName + ' ')
                              + (c ? c.id : e.textContent.trim().slice(0, 40)); }"""
        )
        stops.append(stop)
        if "Atom feed" in stop:  # the footer's last link: the end of the page
            break
    bars = [s for s in stops if s.startswith("bar ")]
    assert bars == ["bar component-rest-api", "bar component-search", "bar component-webhooks"]
    assert stops[0] == "A Skip to content"
    assert len(stops) < 25, stops  # was 275 presses for three components of 90 days

    # In the bars, the arrow keys move between days and say each one.
    page.locator("#component-rest-api .bar[tabindex='0']").focus()
    today = page.evaluate("document.activeElement.textContent")
    page.keyboard.press("ArrowLeft")
    yesterday = page.evaluate("document.activeElement.textContent")
    assert today.startswith("Mar 20, 2026")
    assert yesterday.startswith("Mar 19, 2026")
    assert page.locator(".tip").inner_text() == yesterday
    page.keyboard.press("Home")
    assert page.evaluate("document.activeElement.textContent").startswith("Dec 21, 2025")
    page.keyboard.press("Tab")  # one more Tab leaves the component's bars for the next's
    assert page.evaluate("document.activeElement.closest('.component').id") == "component-search"
    context.close()


def test_the_live_update_swaps_only_what_changed_and_keeps_focus_and_scroll(
    built: dict[str, BuiltState], browser, tmp_path: Path, artifacts: Path
):
    output = tmp_path / "status"
    renderer = SiteRenderer()  # one renderer, as `run` keeps
    first = built["operational"].snapshot
    published = publish(renderer.files(first), output, NOW)
    server = StaticServer(output)
    context = browser.new_context(viewport={"width": 1280, "height": 700})
    page = context.new_page()
    pages_fetched: list[str] = []
    navigations: list[str] = []
    page.on("request", lambda r: pages_fetched.append(r.url) if r.url.endswith(".html") else None)
    page.on("framenavigated", lambda f: navigations.append(f.url))
    try:
        page.clock.install()
        page.goto(f"{server.base}/current/index.html")
        page.evaluate("window.stillThisDocument = true")
        bar = "#component-rest-api .bar[tabindex='0']"
        page.locator(bar).focus()
        page.keyboard.press("ArrowLeft")  # a day before today: a place only a reader knows
        page.evaluate("window.scrollTo(0, 420)")
        focused = page.evaluate("document.activeElement.textContent")
        top = page.evaluate(
            "document.querySelector('#component-rest-api').getBoundingClientRect().top"
        )
        loaded = (len(pages_fetched), len(navigations))

        def refresh(snapshot) -> None:
            nonlocal published
            published = publish(renderer.files(snapshot), output, snapshot.generated_at, published)
            done = page.evaluate("window.statusPage.checks")
            page.clock.run_for(30_000)  # the page's own timer: one check
            # Polled from here: the page's clock is fake, and its CSP forbids eval.
            wait_for(
                lambda: page.evaluate(
                    f"window.statusPage.checks > {done} && window.statusPage.idle"
                )
            )

        # A refresh where only the time moved: live.json alone is read.
        later = dataclasses.replace(first, generated_at=NOW + timedelta(minutes=1))
        refresh(later)
        assert page.locator("[data-live-time]").inner_text() == "Mar 20, 2026 12:01 UTC"
        assert (len(pages_fetched), len(navigations)) == loaded  # the page was not fetched
        assert page.evaluate("window.statusPage.swaps") == 0
        assert page.evaluate("document.activeElement.textContent") == focused

        # A refresh that changes the REST API's status: its region is swapped in place.
        changed = dataclasses.replace(
            built["partial"].snapshot, generated_at=NOW + timedelta(minutes=2)
        )
        untouched = page.evaluate_handle("document.querySelector('#component-webhooks')")
        refresh(changed)
        assert page.evaluate("window.stillThisDocument") is True  # no reload, no navigation
        assert len(navigations) == loaded[1]
        assert len(pages_fetched) == loaded[0] + 1  # index.html once, after live.json
        assert "Minor Service Outage" in page.locator(".banner").inner_text()
        assert "Partial outage: IPv6 down" in page.locator("#component-rest-api").inner_text()
        assert page.evaluate("e => e === document.querySelector('#component-webhooks')", untouched)
        assert page.evaluate("document.activeElement.textContent") == focused
        assert page.evaluate("document.activeElement.closest('#component-rest-api') !== null")
        now_top = page.evaluate(
            "document.querySelector('#component-rest-api').getBoundingClientRect().top"
        )
        assert abs(now_top - top) <= 1  # the active incident above did not push it away
        assert page.evaluate("window.scrollY") > 420
        page.screenshot(path=artifacts / "live-update-after-change.png")
    finally:
        context.close()
        server.close()
