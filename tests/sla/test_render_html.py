"""The HTML report: one self-contained page with the Markdown report's tables and SVG charts.

The month is report_factory's (see test_render_md): four targets, one of them named
`<script>alert(1)</script>`, six contracts of which three breach.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from html import escape
from pathlib import Path
from xml.etree import ElementTree

import pytest
from support import report_factory as factory
from support.commands import COMMAND_PATIENCE

from sla.engine import MonthReport
from sla.render.html import (
    BUDGET_LEFT_COLOUR,
    BUDGET_SPENT_COLOUR,
    FAMILY_COLOURS,
    render_html,
)

SCRIPT, SMITH = factory.SCRIPT, factory.SMITH

CHROMIUM = Path("/usr/bin/chromium")
# Anything that would make the browser fetch from elsewhere.
EXTERNAL = re.compile(
    r"""(?:src|href|xlink:href)\s*=\s*["']?\s*(?:https?:)?//|@import|url\(\s*["']?\s*(?:https?:)?//""",
    re.IGNORECASE,
)
SVG = re.compile(r"<svg\b.*?</svg>", re.DOTALL)


@pytest.fixture(scope="module")
def report() -> MonthReport:
    return factory.sample_report()


@pytest.fixture(scope="module")
def page(report: MonthReport) -> str:
    return render_html(report)


def charts(page: str, kind: str) -> list[ElementTree.Element]:
    """The page's SVG charts of one kind, parsed (so each must be well-formed XML)."""
    parsed = [ElementTree.fromstring(svg) for svg in SVG.findall(page)]
    return [svg for svg in parsed if svg.get("class") == f"chart {kind}"]


def test_the_page_is_a_complete_html_document(page: str) -> None:
    assert page.startswith('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">')
    assert "<title>SLA report — February 2026 (UTC)</title>" in page
    assert page.rstrip().endswith("</html>")


def test_the_page_needs_nothing_from_elsewhere(page: str) -> None:
    assert EXTERNAL.findall(page) == []
    for tag in ("<script", "<link", "<img", "<iframe", "<object", "@font-face"):
        assert tag not in page.lower()


def test_the_external_reference_check_would_catch_one() -> None:
    for reference in (
        '<img src="https://x/a.png">',
        "<link href='//cdn/x.css'>",
        "@import 'x.css'",
        "background: url(http://x/y.png)",
    ):
        assert EXTERNAL.search(reference), reference


def test_the_page_has_the_tables_of_the_markdown_report(page: str) -> None:
    for text in (
        "Summary by plan",
        "99.950322 %",
        "10 % of 12,000.00 USD = 1,200.00 USD",
        "22,500 JPY",
        "2026-02-12 14:00 UTC",
        "Data coverage",
        "60 slices (1 h)",
    ):
        assert text in page


def test_a_running_month_has_a_month_to_date_banner() -> None:
    page = render_html(factory.sample_report(factory.MID_MONTH))
    assert '<p class="banner">Month to date (until 2026-02-20 12:00 UTC)' in page


def test_every_target_has_a_daily_chart_with_one_series_per_family(
    page: str, report: MonthReport
) -> None:
    availability = charts(page, "availability")
    assert [svg.get("data-target") for svg in availability] == [t.name for t in report.targets]
    for svg, target in zip(availability, report.targets, strict=True):
        series = [g for g in svg.iter("g") if g.get("class") == "series"]
        assert [g.get("data-family") for g in series] == [f.family for f in target.families]
        assert [g.get("stroke") for g in series] == [
            FAMILY_COLOURS[f.family] for f in target.families
        ]
        probed = target.figures.eligible > 0
        assert all(bool(g.findall("polyline")) == probed for g in series), target.name


def test_a_dip_is_marked_on_the_family_that_had_it(page: str) -> None:
    api = charts(page, "availability")[0]
    (ipv4, ipv6) = (g for g in api.iter("g") if g.get("class") == "series")
    assert ipv4.findall("circle") == []
    (dip,) = ipv6.findall("circle")
    assert dip.findtext("title") == "api-health IPv6, 2026-02-12: 98.611111 %, 20 min down"


def test_the_contracted_objectives_are_drawn_on_the_targets_charts(page: str) -> None:
    texts = [[text.text for text in svg.iter("text")] for svg in charts(page, "availability")]
    assert {"99.99 %", "99.9 %"} <= set(texts[0])
    assert {"99.95 %", "99.9 %", "99.5 %"} <= set(texts[1])
    # The plans are named in the caption above the chart, where long names wrap.
    assert "Objectives: 99.99 % (enterprise), 99.9 % (pro)" in page
    assert "Objectives: 99.95 % (turbo), 99.9 % (pro), 99.5 % (basic)" in page


def test_every_contract_has_a_burn_chart_with_a_bar_per_day_of_its_period(
    page: str, report: MonthReport
) -> None:
    burn = charts(page, "burn")
    assert [svg.get("data-customer") for svg in burn] == [c.customer for c in report.contracts]
    for svg, contract in zip(burn, report.contracts, strict=True):
        bars = [rect for rect in svg.iter("rect") if rect.get("fill") in BAR_COLOURS]
        assert len(bars) == len(contract.burn), contract.customer


BAR_COLOURS = {BUDGET_LEFT_COLOUR, BUDGET_SPENT_COLOUR}


def test_a_spent_budget_is_drawn_red_from_the_day_it_ran_out(page: str) -> None:
    acme = charts(page, "burn")[0]
    fills = [rect.get("fill") for rect in acme.iter("rect") if rect.get("fill") in BAR_COLOURS]
    assert fills == [BUDGET_LEFT_COLOUR] * 11 + [BUDGET_SPENT_COLOUR] * 17


def test_a_running_month_draws_no_bars_for_days_not_evaluated_yet() -> None:
    page = render_html(factory.sample_report(factory.MID_MONTH))
    acme = charts(page, "burn")[0]
    bars = [rect for rect in acme.iter("rect") if rect.get("fill") in BAR_COLOURS]
    assert len(bars) == 20  # the 1st to the 20th, which is under way


def test_a_target_named_like_a_script_is_text_never_markup(page: str) -> None:
    assert SCRIPT not in page
    assert escape(SCRIPT) in page
    (svg,) = [svg for svg in SVG.findall(page) if escape(SCRIPT) in svg and "availability" in svg]
    assert f"<title>Daily availability of {escape(SCRIPT)}</title>" in svg
    assert re.search(rf'data-target="{re.escape(escape(SCRIPT))}"', svg)
    assert f'<span class="chart-title">{escape(SCRIPT)}</span>' in page


def test_customer_names_are_escaped_in_tables_and_charts(page: str) -> None:
    assert SMITH not in page
    assert f'<td data-label="Customer">{escape(SMITH)}</td>' in page
    assert f'<span class="chart-title">{escape(SMITH)}</span>' in page
    assert f"<title>Error budget of {escape(SMITH)}</title>" in page


def test_a_quiet_month_still_renders_every_section() -> None:
    page = render_html(factory.quiet_report())
    assert "No incidents." in page
    assert "No contract was active this month." in page
    assert len(charts(page, "availability")) == 1
    assert charts(page, "burn") == []


# --- in a real browser -------------------------------------------------------------------


def png_pixels(data: bytes) -> tuple[int, int, list[tuple[int, int, int]]]:
    """Width, height and RGB pixels of an 8-bit RGB(A) PNG, decoded with the stdlib alone."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, compressed, header = 8, [], b""
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            compressed.append(body)
        position += 12 + length
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert (depth, interlace) == (8, 0)
    assert colour_type in {2, 6}
    channels = 3 if colour_type == 2 else 4
    raw = zlib.decompress(b"".join(compressed))
    stride = width * channels
    pixels: list[tuple[int, int, int]] = []
    above = bytearray(stride)
    for row in range(height):
        start = row * (stride + 1)
        line = unfilter(raw[start], bytearray(raw[start + 1 : start + 1 + stride]), above, channels)
        pixels += zip(line[0::channels], line[1::channels], line[2::channels], strict=True)
        above = line
    return width, height, pixels


def unfilter(kind: int, line: bytearray, above: bytearray, step: int) -> bytearray:
    """Undo one PNG row filter (None, Sub, Up, Average, Paeth) in place."""
    if kind == 2:
        return bytearray((a + b) & 255 for a, b in zip(line, above, strict=True))
    for i in range(len(line)):
        left = line[i - step] if i >= step else 0
        if kind == 1:
            line[i] = (line[i] + left) & 255
        elif kind == 3:
            line[i] = (line[i] + ((left + above[i]) >> 1)) & 255
        elif kind == 4:
            corner = above[i - step] if i >= step else 0
            guess = left + above[i] - corner
            near = min((abs(guess - left), 0, left), (abs(guess - above[i]), 1, above[i]))
            near = min(near, (abs(guess - corner), 2, corner))
            line[i] = (line[i] + near[2]) & 255
        else:
            break
    return line


def close(pixel: tuple[int, int, int], colour: str, tolerance: int = 24) -> bool:
    target = bytes.fromhex(colour.lstrip("#"))
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, target, strict=True))


@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs headless Chromium at /usr/bin/chromium (apt: chromium)"
)
def test_the_page_renders_in_headless_chromium_with_coloured_charts(
    page: str, tmp_path: Path
) -> None:
    html, png = tmp_path / "report.html", tmp_path / "report.png"
    html.write_text(page, encoding="utf-8")
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--screenshot={png}",
        "--window-size=1200,1600",
        html.as_uri(),
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=COMMAND_PATIENCE, check=False
    )
    shutil.rmtree(tmp_path / "profile", ignore_errors=True)
    assert png.exists(), f"no screenshot; chromium said:\n{done.stderr[-2000:]}"
    width, height, pixels = png_pixels(png.read_bytes())
    assert (width, height) == (1200, 1600)
    colours = Counter(pixels)
    assert len(colours) > 200, "the page looks blank"
    assert colours.most_common(1)[0][1] < 0.9 * len(pixels), "one colour fills the page"
    # The first burn charts are in view: budget bars in green, spent budget in red.
    for colour in (BUDGET_LEFT_COLOUR, BUDGET_SPENT_COLOUR):
        drawn = sum(count for pixel, count in colours.items() if close(pixel, colour))
        assert drawn > 2000, f"hardly any chart pixels of {colour}"
