"""PDF statements: the HTML report printed by WeasyPrint (the optional `[pdf]` extra).

The PDF is the html format's page laid out by its own print CSS (A4, page numbers, one
chart per row so none is clipped), so both formats always say the same thing. WeasyPrint
and its Pango libraries are heavy, so they are imported only when a PDF is asked for.

Nothing is ever fetched while printing: the page is self-contained, and a URL that would
reach it anyway (an image, a stylesheet, a font, an `@import`, `file:` or `data:`) is
refused by the fetcher given to WeasyPrint, which then prints the page without it.
WeasyPrint 68 made the fetcher a class (`weasyprint.urls.URLFetcher`, whose `fetch` is
overridden here) and 70 no longer takes a plain function; before 68 a function is all it
takes. Both forms are tested (63.1 to 70.0, the versions pyproject.toml allows).
"""

from __future__ import annotations

import logging
from typing import Any

from monitor.errors import InputError


class FetchRefused(ValueError):
    """What the blocker raises for every URL (WeasyPrint logs it and goes on without)."""


def render_pdf(html: str) -> bytes:
    """The PDF of a self-contained HTML page (no resource outside it is fetched)."""
    # Its progress steps (some logged while it is imported), a warning for every
    # screen-only CSS property and one for each refused URL are noise here.
    for name in ("weasyprint", "weasyprint.progress", "fontTools"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        from weasyprint import HTML  # noqa: PLC0415 (optional extra, 0.5 s to import)
    except ImportError:
        raise InputError(
            "--format pdf needs WeasyPrint: pip install '.[pdf]' in a checkout of uptime-sla"
        ) from None
    except OSError as exc:  # the Python package is there, its Pango libraries are not
        raise InputError(f"--format pdf: WeasyPrint cannot load its libraries: {exc}") from None
    return HTML(string=html, url_fetcher=fetch_blocker()).write_pdf()


def fetch_blocker() -> Any:
    """A URL fetcher that fetches nothing, in the form the installed WeasyPrint takes."""
    try:
        from weasyprint.urls import URLFetcher  # noqa: PLC0415 (WeasyPrint 68 and later)
    except ImportError:
        return _refuse

    class Blocker(URLFetcher):  # type: ignore[misc]  # (untyped library class)
        def fetch(self, url: str, headers: object = None) -> Any:
            _refuse(url)

        def open(self, url: object, data: object = None, timeout: object = None) -> Any:
            _refuse(str(getattr(url, "full_url", url)))  # a redirect, had one been followed

    return Blocker(allowed_protocols=(), allow_redirects=False)


def _refuse(url: str, *args: object, **kwargs: object) -> Any:
    raise FetchRefused(f"statements load nothing from outside: {url[:100]}")
