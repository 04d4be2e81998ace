"""Statements as a customer receives them: the golden month (tests/support/golden_month.py)
printed to PDF by WeasyPrint and shown in Chromium at 1280 and 375 px.

- The PDF's text equals its golden file (tests/sla/golden/*.pdf.txt, whitespace
  collapsed, one paragraph per page), checked by hand once against the same
  computation as the other formats (tests/sla/test_golden_statements.py).
- No word of the PDF overlaps another, no heading is the last line of a page, the PDF
  never says "hover"; each check is first shown to catch a page made to fail it.
- In the browser no text is cut or runs out of its box, and on a 375 px phone every
  column of every table is on screen (the tables reflow into cards).
- Incomplete contracts never read clean in md, html or pdf.

Every PDF page (pdftoppm) and both screenshots are kept in test-artifacts/statements/.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import textwrap
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pdfplumber
import pytest
from playwright.sync_api import sync_playwright
from pypdf import PdfReader
from support import golden_month as golden
from support.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
from support.commands import COMMAND_PATIENCE

from monitor.reports.pdf import render_pdf
from sla.engine import MonthReport
from sla.render.html import render_html
from sla.render.md import render_md
from sla.render.tables import SECTIONS, STATEMENT_SECTIONS

GOLDEN = Path(__file__).resolve().parents[1] / "sla" / "golden"
SHOTS = ARTIFACTS / "statements"
DOCUMENTS = {
    "march-report": {},
    "march-wayne": {"customer": "wayne"},
    "march-umbrella": {"customer": "umbrella"},
    "march-hooli": {"customer": "hooli"},
    "running-report": {"now": golden.RUNNING},
    "empty-report": {"month": 2},
}
# Whose every contract is short of data or in a month not ended: nothing may read clean.
INCOMPLETE = ("march-wayne", "march-hooli", "running-report", "empty-report")
HEADINGS = {title for title, _ in (*SECTIONS, *STATEMENT_SECTIONS)} | {
    "Error budget burn per contract",
    "Daily availability per target",
}


@pytest.fixture(scope="module")
def reports() -> dict[str, MonthReport]:
    return {name: golden.golden_report(**options) for name, options in DOCUMENTS.items()}


@pytest.fixture(scope="module")
def pdfs(reports: dict[str, MonthReport], tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Each document's PDF file, its pages also kept as images for a person to look at."""
    folder = tmp_path_factory.mktemp("pdf")
    SHOTS.mkdir(parents=True, exist_ok=True)
    found = {}
    for name, report in reports.items():
        path = folder / f"{name}.pdf"
        path.write_bytes(render_pdf(render_html(report)))
        found[name] = path
        # Pages drawn beside the PDF, then copied for people: another worker running this
        # module's fixture at the same time may be rewriting the shared copies.
        subprocess.run(
            ["pdftoppm", "-png", "-r", "70", str(path), str(folder / f"{name}-page")],
            check=True,
            timeout=COMMAND_PATIENCE,
        )
        for image in folder.glob(f"{name}-page-*.png"):
            shutil.copyfile(image, SHOTS / image.name)
    return found


def pdf_pages(path: Path) -> list[str]:
    with pdfplumber.open(path) as pdf:
        return [page.extract_text() or "" for page in pdf.pages]


@pytest.fixture(scope="module")
def pdf_texts(pdfs: dict[str, Path]) -> dict[str, list[str]]:
    """Each PDF's text, page by page, read once."""
    return {name: pdf_pages(path) for name, path in pdfs.items()}


@pytest.mark.parametrize("name", ["march-report", "march-wayne"])
def test_the_pdf_text_equals_its_hand_checked_golden_file(pdfs, name):
    # Checked by hand once: the figures are the other formats' (tests/sla/golden), each
    # page starts and ends where a reader expects (no heading left at a foot). The text
    # in drawing order (pypdf), whitespace collapsed, a paragraph per page wrapped at 100.
    pages = [page.extract_text() for page in PdfReader(pdfs[name]).pages]
    text = "\n\n".join(textwrap.fill(" ".join(page.split()), 100) for page in pages) + "\n"
    path = GOLDEN / f"{name}.pdf.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


# --- overlaps and headings in the PDF -----------------------------------------------------


def overlapping_words(path: Path) -> list[tuple[int, str, str]]:
    """Pairs of words on the same page whose boxes overlap (by more than rounding)."""
    found = []
    with pdfplumber.open(path) as pdf:
        for number, page in enumerate(pdf.pages, 1):
            words = sorted(page.extract_words(use_text_flow=True), key=lambda w: w["x0"])
            for i, word in enumerate(words):
                for other in words[i + 1 :]:
                    if other["x0"] >= word["x1"] - 0.5:
                        break  # sorted by left edge: no later word reaches back
                    vertical = min(word["bottom"], other["bottom"]) - max(word["top"], other["top"])
                    if vertical > 0.5:
                        found.append((number, word["text"], other["text"]))
    return found


def heading_at_a_foot(pages: list[str], headings: set[str]) -> list[tuple[int, str]]:
    """Pages whose last line of content (the running footer left out) is a heading."""
    found = []
    for number, text in enumerate(pages, 1):
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        content = [line for line in lines if not re.search(r"Page \d+ of \d+$", line)]
        if content and content[-1] in headings:
            found.append((number, content[-1]))
    return found


@pytest.mark.parametrize("name", list(DOCUMENTS))
def test_no_word_of_the_pdf_overlaps_another(pdfs, name):
    assert overlapping_words(pdfs[name]) == []


@pytest.mark.parametrize("name", list(DOCUMENTS))
def test_no_heading_is_the_last_line_of_a_pdf_page(pdf_texts, name):
    assert heading_at_a_foot(pdf_texts[name], HEADINGS) == []


def test_the_pdf_never_says_hover(pdf_texts):
    for name, pages in pdf_texts.items():
        assert "hover" not in " ".join(pages).lower(), name


def test_the_pdf_checks_catch_a_page_that_fails_them(tmp_path):
    """Two words drawn on top of each other, and a heading pushed to a page's foot."""
    page = (
        "<html><body style='margin:0'>"
        "<p style='position:absolute;top:40px;left:40px'>Overlapping</p>"
        "<p style='position:absolute;top:42px;left:60px'>words</p>"
        "<div style='height:247mm'></div><h2 style='margin:0'>Incidents</h2>"
        "<p style='break-before:page'>next page</p></body></html>"
    )
    path = tmp_path / "bad.pdf"
    path.write_bytes(render_pdf(page))
    assert overlapping_words(path) == [(1, "Overlapping", "words")]
    assert heading_at_a_foot(pdf_pages(path), {"Incidents"}) == [(1, "Incidents")]


# --- the HTML in a browser ----------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


CUT_TEXT = """() => [...document.querySelectorAll('h1, h2, h3, p, li, th, td, figcaption, address')]
  .filter(e => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === 'visible')
  .map(e => e.textContent.slice(0, 60))"""
OFF_SCREEN = """(width) => [...document.querySelectorAll('td, h1, h2, h3, p, li, figcaption')]
  .filter(e => e.getClientRects().length)
  .filter(e => { const r = e.getBoundingClientRect(); return r.left < -1 || r.right > width + 1; })
  .map(e => (e.dataset.label || e.tagName) + ': ' + e.textContent.slice(0, 40))"""
SVG_OVERLAPS = """() => {
  const found = [];
  for (const svg of document.querySelectorAll('svg.chart')) {
    const boxes = [...svg.querySelectorAll('text')].map(t => [t.textContent, t.getBBox()]);
    boxes.forEach(([a, p], i) => boxes.slice(i + 1).forEach(([b, q]) => {
      if (p.x < q.x + q.width && q.x < p.x + p.width && p.y < q.y + q.height && q.y < p.y + p.height)
        found.push(a + ' / ' + b);
    }));
  }
  return found;
}"""


@pytest.mark.parametrize("name", ["march-report", "march-wayne", "empty-report"])
@pytest.mark.parametrize("width", [1280, 375])
def test_the_html_statement_shows_every_text_whole_at_1280_and_375_px(
    reports, browser, tmp_path, name, width
):
    path = tmp_path / f"{name}.html"
    path.write_text(render_html(reports[name]), encoding="utf-8")
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        page.goto(path.as_uri())
        assert page.evaluate(CUT_TEXT) == []
        assert page.evaluate(OFF_SCREEN, width) == []  # every column on screen
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert page.evaluate(SVG_OVERLAPS) == []
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}-{width}px.png"), full_page=True)
    finally:
        page.close()


def test_the_browser_checks_catch_a_page_that_fails_them(browser, tmp_path):
    path = tmp_path / "bad.html"
    path.write_text(
        "<table style='width:700px'><tr><td style='width:300px'>wide</td><td>Credit</td></tr>"
        "</table>"
        "<p style='width:50px;white-space:nowrap'>a text that runs out of its box</p>"
        "<svg class='chart' width='200' height='50'><text x='10' y='20'>breached</text>"
        "<text x='20' y='22'>Wayne Enterprises</text></svg>",
        encoding="utf-8",
    )
    page = browser.new_page(viewport={"width": 375, "height": 600})
    try:
        page.goto(path.as_uri())
        assert page.evaluate(CUT_TEXT) == ["a text that runs out of its box"]
        assert page.evaluate(OFF_SCREEN, 375) == ["TD: Credit"]
        assert page.evaluate(SVG_OVERLAPS) == ["breached / Wayne Enterprises"]
    finally:
        page.close()


# --- an incomplete contract never reads clean ---------------------------------------------

# Phrases that read as a settled, clean month: never in a document whose contracts are
# all incomplete, unless "in the data there is" qualifies them in the same sentence.
CLEAN = ("within objective", "none owed", "credits owed: none", "no credits are owed")


class _Cells(HTMLParser):
    """The text of each table cell, list item and paragraph of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[str] = []
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in ("td", "th", "li", "p", "span", "figcaption"):
            self.cells.append("")
            self._open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1] == tag:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if self._open:
            self.cells[-1] += data


def md_cells(text: str) -> list[str]:
    return [cell for line in text.splitlines() for cell in line.split("|")]


def html_cells(page: str) -> list[str]:
    parser = _Cells()
    parser.feed(page)
    return [html.unescape(cell) for cell in parser.cells]


def sentences(cells: list[str]) -> list[str]:
    return [part.lower() for cell in cells for part in re.split(r"(?<=[.;])\s", cell)]


def unqualified(parts: list[str]) -> list[str]:
    """Sentences that read clean: a clean phrase, or "no incidents", without the qualifier."""
    return [
        part
        for part in parts
        if (any(phrase in part for phrase in CLEAN) or "no incidents" in part)
        and "in the data there is" not in part
    ]


@pytest.mark.parametrize("name", INCOMPLETE)
def test_an_incomplete_contract_never_reads_clean_in_md_html_or_pdf(reports, pdf_texts, name):
    report = reports[name]
    assert all(not contract.complete for contract in report.contracts)
    md, page = render_md(report), render_html(report)
    pdf = " ".join(" ".join(pdf_texts[name]).split())
    assert unqualified(sentences(md_cells(md))) == []
    assert unqualified(sentences(html_cells(page))) == []
    assert unqualified(sentences([pdf])) == []
    for phrase in CLEAN:
        assert phrase not in pdf.lower()
    # Each contract's own cells (the rows of the Contracts and Breaches tables): breach,
    # downtime and credit carry their qualifier.
    rows = [
        row for row in re.findall(r"<tr>(.*?)</tr>", page) if 'data-label="Error budget"' in row
    ]
    assert rows or name == "empty-report"  # nothing was bad in the empty month
    for row in rows:
        cells = dict(re.findall(r'<td data-label="([^"]+)"[^>]*>([^<]*)</td>', row))
        assert re.search(r" in the data there is$", cells["Downtime"]), cells
        assert re.fullmatch(r"not final|at least .+, not final", html.unescape(cells["Credit"]))
        assert cells.get("Breach", "yes") in ("yes", "not final"), cells
    assert md.startswith("**INCOMPLETE REPORT:")


def test_the_incomplete_check_would_catch_a_clean_reading():
    assert unqualified(sentences(["No incidents.", "within objective · 4 min left"])) == [
        "no incidents.",
        "within objective · 4 min left",
    ]
    assert unqualified(sentences(["No incidents in the data there is."])) == []


def test_a_capped_credit_never_reads_as_its_uncapped_percent(reports, pdf_texts):
    """Umbrella's entry gives 100 % of the fee, capped at 30 %: no "100 %" beside money."""
    report = reports["march-umbrella"]
    texts = [
        render_md(report),
        html.unescape(render_html(report)),
        " ".join(pdf_texts["march-umbrella"]),
    ]
    for text in texts:
        flat = " ".join(text.split())
        assert "30 % of 1,234.567 KWD = 370.370 KWD, capped at 30 % of the fee" in flat
        assert not re.search(r"100 % (=|of)", flat)


def test_the_artifacts_hold_every_pdf_page(pdfs, pdf_texts):
    for name, texts in pdf_texts.items():
        pages = len(texts)
        images = sorted(pdfs[name].parent.glob(f"{name}-page-*.png"))
        assert len(images) == pages, name
        assert all(image.stat().st_size > 5_000 for image in images)


@pytest.fixture(scope="module", autouse=True)
def _tools() -> None:
    """What these tests need is there: a missing tool fails them, it never skips."""
    assert shutil.which("pdftoppm"), "pdftoppm (poppler-utils) is missing"
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing"
