"""A real browser for page tests: Playwright driving Debian's Chromium, and a static server.

Playwright's own browser download is not reachable here; it drives /usr/bin/chromium
through `executable_path`. `StaticServer` serves a directory over HTTP on 127.0.0.1 (the
status site under test), like the web server in front of it would.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Git-ignored. Tests write into their own folder of it (the `artifacts` fixture), never here.
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# axe-core, pinned by tests/js/package-lock.json (scripts/setup.sh runs npm ci there).
AXE = Path(__file__).resolve().parents[2] / "tests/js/node_modules/axe-core/axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# Each page is checked in both schemes at a desktop's and a phone's width.
VIEWS = [("light", 1280), ("dark", 1280), ("light", 375), ("dark", 375)]


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class StaticServer:
    """`directory` over HTTP on 127.0.0.1 (an ephemeral port) until close()."""

    def __init__(self, directory: Path) -> None:
        handler = functools.partial(_QuietHandler, directory=str(directory))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium under Playwright (headless) until the block ends."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def axe_violations(page: Any) -> list[str]:
    """axe-core's WCAG 2.1 A/AA findings on the page as shown now, one line each (axe is
    added to the page first if it is not there; the context must bypass the page's CSP)."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG
    )
    assert len(result["passes"]) > 10  # the rules did run
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + "; ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        for v in result["violations"]
    ]
