"""Golden files of the golden month (tests/support/golden_month.py) in every format.

Each golden file under tests/sla/golden/ was checked by hand once, figure by figure,
against the computation below (done with pen and a fraction calculator, not with the
engine), and read as a customer, an auditor and an attacker would: nothing reads clean
that is not final, every credit can be recomputed from what the document shows, and
no name runs as markup or as a spreadsheet formula. `UPDATE_GOLDEN=1 pytest ...` rewrites
them; a rewritten file must be checked by hand again before it is committed.

March 2026 in UTC: 31 days, 44,640 one-minute slices; two probes a minute per family.

- api: maintenance 2nd 00:00 to 5th 05:21 = 3 x 1,440 + 321 = 4,641 slices, so 39,999
  eligible; IPv4 times out 03:00-03:04 on the 18th: 4 bad slices, 8 failed probes.
  100 x 39,995 / 39,999 = 99.98999975 %: JSON 99.99, people read 99.989999 %, below
  acme's 99.99. Budget 0.0001 x 39,999 - 4 = -0.0001: "overspent by 0.0001 min".
  acme's own schedule: below 99.99 10 %: 10 % of 12,000.00 = 1,200.00 USD.
- search: IPv4 status 12th 10:00-11:30 (90 slices, 180 probes), IPv6 connect 25th
  09:00-09:45 (45 slices, 90 probes). Month: 100 x 44,505 / 44,640 = 99.697580 %.
  globex (gold): below 99.9 a fixed 500.00 EUR, capped at 50 % of 400.00 = 200.00 EUR;
  budget 44.64 - 135 = -90.36.
  initech basic, 1st-16th (15 days, 21,600 slices, 90 bad): 99.583333 %, above 99.5: no
  breach, budget 108 - 90 = 18. initech pro, 16th on (16 days, 23,040 slices, 45 bad):
  99.8046875 % (JSON 99.804688, read 99.804687 %), below 99.9: 10 % of 800.00 x 16/31 =
  412.90 (412.903225806...) = 41.29 USD; budget 23.04 - 45 = -21.96.
- edge: no IPv6 probe 5th-15th: 14,400 - 1 (the first carries the last probe) = 14,399
  slices without IPv6 data: IPv6 coverage 100 x 30,241 / 44,640 = 67.744176 %, the
  target's too. hooli's contract is incomplete: nothing bad in the data there is, so its
  breach and credit are "not final", its downtime "0 min in the data there is".
- ledger: DNS fails on both families 8th 02:00-05:00 (180 slices, 720 probes) and both
  time out from 31st 23:30 (30 slices and 120 probes in March; the incident continues
  into April). 100 x 44,430 / 44,640 = 99.529569 % (JSON 99.52957). umbrella (kw): below
  99.95 100 % of 1,234.567 KWD, capped at 30 % = 370.3701, 370.370 KWD to the fils;
  budget 22.32 - 210 = -187.68.
- portal (IPv4): times out 5th 08:00-08:30 (30 slices, 60 probes) and 22nd 14:00-15:00
  (60 slices, 120 probes); no probe 24th 00:00-06:00: 359 slices without data. Month:
  coverage 100 x 44,281 / 44,640 = 99.195789 % (complete), availability 100 x 44,191 /
  44,281 = 99.796752 %. wayne, from the 20th (12 days, 17,280 slices): coverage 100 x
  16,921 / 17,280 = 97.922454 %, short; 60 bad: 100 x 16,861 / 16,921 = 99.645411 %,
  budget 16.921 - 60 = -43.079. 60 bad slices exceed 0.1 % of the whole period (17.28):
  the breach is certain. At best (every missing slice good) 100 x 17,220 / 17,280 =
  99.652777 %, still the 10 % entry: at least 10 % of 1,000.00 x 12/31 = 387.10
  (387.096774...) = 38.71 EUR. Wayne's statement leaves out the incident of the 5th.

The running month is the same probes seen on the 20th at 12:00 (19.5 days, 28,080
slices): nothing is final, every contract reads "not final" or "at least". The empty
month is February 2026 with no probe at all: every coverage 0 %, soylent's contract
(ended on the 15th) is in it and initech's pro plan and wayne are not.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import pytest
from support import golden_month as golden

from sla.engine import MonthReport
from sla.render.data import render_csv, render_json
from sla.render.html import render_html
from sla.render.md import render_md

GOLDEN = Path(__file__).parent / "golden"
RENDERERS: dict[str, Callable[[MonthReport], str]] = {
    "json": render_json,
    "csv": render_csv,
    "md": render_md,
    "html": render_html,
}
DOCUMENTS: dict[str, Callable[[], MonthReport]] = {
    "march-report": golden.golden_report,
    "march-wayne": lambda: golden.golden_report(customer="wayne"),
    "march-umbrella": lambda: golden.golden_report(customer="umbrella"),
    "running-report": lambda: golden.golden_report(now=golden.RUNNING),
    "empty-report": lambda: golden.golden_report(month=2),
}
FILES = [
    (document, fmt)
    for document in DOCUMENTS
    for fmt in RENDERERS
    if fmt in ("json", "csv", "md") or document.startswith("march")
]


@pytest.fixture(scope="module")
def reports() -> dict[str, MonthReport]:
    return {name: build() for name, build in DOCUMENTS.items()}


def check_golden(path: Path, text: str) -> None:
    """The text equals the golden file (rewritten instead with UPDATE_GOLDEN=1)."""
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(text.encode())  # as is: CSV lines end in CRLF
    assert text == path.read_bytes().decode(), f"{path.name} changed"


@pytest.mark.parametrize(("document", "fmt"), FILES, ids=[f"{d}.{f}" for d, f in FILES])
def test_each_document_equals_its_hand_checked_golden_file(reports, document, fmt):
    check_golden(GOLDEN / f"{document}.{fmt}", RENDERERS[fmt](reports[document]))


def pct(numerator: int, denominator: int) -> float:
    """The JSON's percentage: half-even to 6 places."""
    return float(round(Fraction(100 * numerator, denominator), 6))


def test_the_golden_json_holds_the_hand_computed_figures() -> None:
    """The figures of the docstring, computed here from slice counts alone, are the ones
    the golden JSON holds: a golden file rewritten wrong cannot pass."""
    data = json.loads((GOLDEN / "march-report.json").read_text())
    targets = {t["name"]: t for t in data["targets"]}
    assert (targets["api"]["eligible_slices"], targets["api"]["bad_slices"]) == (39_999, 4)
    assert targets["api"]["availability_percent"] == pct(39_995, 39_999) == 99.99
    assert targets["search"]["availability_percent"] == pct(44_505, 44_640)
    assert targets["edge"]["families"]["ipv6"]["coverage_percent"] == pct(30_241, 44_640)
    assert targets["edge"]["coverage_percent"] == pct(30_241, 44_640)
    assert targets["ledger"]["availability_percent"] == pct(44_430, 44_640)
    assert targets["portal"]["coverage_percent"] == pct(44_281, 44_640)
    assert targets["portal"]["availability_percent"] == pct(44_191, 44_281)
    contracts = {(c["customer"], c["plan"]): c for c in data["contracts"]}
    expected = {
        ("acme", "enterprise"): ("1200.00", "1200.00", False, -0.0001, True),
        ("globex", "gold"): ("200.00", "500.00", True, -90.36, True),
        ("initech", "basic"): ("0.00", "0.00", False, 18.0, True),
        ("initech", "pro"): ("41.29", "41.29", False, -21.96, True),
        ("hooli", "pro"): ("0", "0", False, 44.64, False),
        ("umbrella", "kw"): ("370.370", "1234.567", True, -187.68, True),
        ("wayne", "pro"): ("38.71", "38.71", False, -43.079, False),
    }
    found = {
        key: (
            c["credit_amount"],
            c["uncapped_amount"],
            c["credit_capped"],
            c["budget_remaining_slices"],
            c["complete"],
        )
        for key, c in contracts.items()
    }
    assert found == expected
    assert contracts[("initech", "pro")]["availability_percent"] == pct(22_995, 23_040)
    assert Fraction(contracts[("initech", "pro")]["prorated_fee"]) - Fraction(800 * 16, 31) < (
        Fraction(1, 10**50)
    )
    assert contracts[("wayne", "pro")]["coverage_percent"] == pct(16_921, 17_280)
    assert contracts[("wayne", "pro")]["availability_percent"] == pct(16_861, 16_921)
    incidents = [
        (i["start"][5:16], i["slices"], i["targets"], i["families"], i["reasons"], i["ongoing"])
        for i in data["incidents"]
    ]
    assert incidents == [
        ("03-05T08:00", 30, ["portal"], ["ipv4"], {"timeout": 60}, False),
        ("03-08T02:00", 180, ["ledger"], ["ipv4", "ipv6"], {"dns": 720}, False),
        ("03-12T10:00", 90, ["search"], ["ipv4"], {"status": 180}, False),
        ("03-18T03:00", 4, ["api"], ["ipv4"], {"timeout": 8}, False),
        ("03-22T14:00", 60, ["portal"], ["ipv4"], {"timeout": 120}, False),
        ("03-25T09:00", 45, ["search"], ["ipv6"], {"connect": 90}, False),
        ("03-31T23:30", 30, ["ledger"], ["ipv4", "ipv6"], {"timeout": 120}, True),
    ]
    assert (data["complete"], data["final"], data["reference"]) == (False, True, "SLA-2026-03")


def test_the_golden_statement_reads_at_least_for_a_certain_breach() -> None:
    text = (GOLDEN / "march-wayne.md").read_text()
    assert "at least 38.71 EUR" in text
    assert "10 % of 387.10 EUR (1,000.00 EUR x 12 of 31 days) = 38.71 EUR" in text
    assert "2026-03-05" not in text.split("## Incidents", 1)[1].split("##", 1)[0]
