"""PDF statements: the HTML report printed by WeasyPrint (the optional `[pdf]` extra).

The PDF is the html format's page laid out by its own print CSS (A4, page numbers, one
chart per row so none is clipped), so both formats always say the same thing. WeasyPrint
and its Pango libraries are heavy, so they are imported only when a PDF is asked for.
"""

from __future__ import annotations

import logging

from monitor.errors import InputError


def render_pdf(html: str) -> bytes:
    """The PDF of a self-contained HTML page (no resource outside it is fetched)."""
    # Its progress steps (some logged while it is imported), and a warning for every
    # screen-only CSS property, are noise here.
    for name in ("weasyprint", "weasyprint.progress", "fontTools"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        from weasyprint import HTML  # noqa: PLC0415 (optional extra, 0.5 s to import)
    except ImportError:
        raise InputError("--format pdf needs WeasyPrint: pip install 'uptime-sla[pdf]'") from None
    except OSError as exc:  # the Python package is there, its Pango libraries are not
        raise InputError(f"--format pdf: WeasyPrint cannot load its libraries: {exc}") from None
    return HTML(string=html, url_fetcher=_no_fetch).write_pdf()


def _no_fetch(url: str, *args: object, **kwargs: object) -> dict[str, object]:
    """The page is self-contained: nothing outside it is ever fetched while printing."""
    raise ValueError(f"statements load nothing from outside: {url}")
