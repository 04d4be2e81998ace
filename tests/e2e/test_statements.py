"""`uptime-sla report` as a provider sends it: statements, ranges, completeness, PDF.

One quarter of probe history (Europe/Berlin, three services, three customers) is
imported once through the command line; every test reads it through `report`.
"""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
import subprocess
import textwrap
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from pypdf import PdfReader
from support import history
from support.commands import COMMAND_PATIENCE
from support.history import Outage, utc

from monitor.cli import main

NOW = datetime(2026, 4, 20, tzinfo=UTC)  # the last month ended in Berlin: March 2026
TARGETS = ("api-health", "search", "billing")
Q1 = (utc(2025, 12, 31, 23), utc(2026, 3, 31, 22))  # [Jan 1, Apr 1) in Berlin
OUTAGES = (
    # Across the Berlin month boundary (Jan 31 23:00 UTC): 40 minutes in each month.
    Outage("api-health", "ipv6", utc(2026, 1, 31, 22, 20), utc(2026, 1, 31, 23, 40)),
    Outage("search", "ipv4", utc(2026, 3, 10, 10), utc(2026, 3, 10, 10, 45), "status"),
    Outage("billing", "ipv4", utc(2026, 2, 14, 9), utc(2026, 2, 14, 12), "connect"),
    Outage("api-health", "ipv4", utc(2026, 3, 20, 8), utc(2026, 3, 20, 8, 30), "tls"),
)
WINDOW = (utc(2026, 3, 5, 2), utc(2026, 3, 5, 3))  # public-api's maintenance
OTHERS = {
    # What acme's statement must never show: the other customers' names, fees and plans'
    # contracts (their credits are checked from the whole report's JSON).
    "globex": ("globex", "Globex Industries", "777.77", "EUR", "billing"),
    "initech": ("initech", "Initech LLC", "4321.09", "GBP", "billing"),
}


def config_text(database: Path) -> str:
    return textwrap.dedent(f"""\
        location: eu-west
        storage: {{url: "sqlite:///{database}"}}
        defaults: {{interval: 300s}}
        targets:
          - {{name: api-health, url: "https://api.outfame.example/v1/health", service: public-api}}
          - {{name: search, url: "https://api.outfame.example/v1/search", service: search}}
          - {{name: billing, url: "https://billing.outfame.example/v1", service: billing}}
        sla: {{timezone: Europe/Berlin}}
        plans:
          pro: {{objective: 99.9, credits: [{{below: 99.9, percent: 10}}]}}
          turbo: {{objective: 99.95, credits: [{{below: 99.95, percent: 25}}]}}
          enterprise: {{objective: 99.99}}
        contracts:
          - customer: acme
            display_name: "Acme <Corp> & Co."
            plan: enterprise
            service: public-api
            monthly_fee: "12000.00"
            currency: USD
            start: 2025-06-01
            credits: [{{below: 99.99, percent: 10}}, {{below: 99.9, percent: 25}}]
          - {{customer: acme, plan: turbo, service: search, monthly_fee: "3000.00",
              currency: USD, start: 2025-06-01}}
          - {{customer: globex, display_name: Globex Industries, plan: pro, service: billing,
              monthly_fee: "777.77", currency: EUR, start: 2025-06-01}}
          - {{customer: initech, display_name: Initech LLC, plan: turbo, service: billing,
              monthly_fee: "4321.09", currency: GBP, start: 2025-06-01}}
          - {{customer: newco, plan: pro, service: search, monthly_fee: "100.00", currency: USD,
              start: 2026-03-10}}
          - {{customer: oldco, plan: turbo, service: billing, monthly_fee: "200.00",
              currency: EUR, start: 2025-07-01, end: 2026-02-20}}
        maintenance:
          - {{start: "2026-03-05T02:00:00Z", end: "2026-03-05T03:00:00Z",
              services: [public-api], reason: database upgrade}}
        """)


@pytest.fixture(scope="module")
def quarter(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[history.Row]]:
    """The config of a database holding Q1 2026 (and a day either side), imported once."""
    folder = tmp_path_factory.mktemp("quarter")
    config = folder / "uptime-sla.yaml"
    config.write_text(config_text(folder / "sla.db"))
    rows = history.probes(TARGETS, utc(2025, 12, 30), utc(2026, 4, 2), OUTAGES)
    path = history.write_csv(folder / "q1.csv", rows)
    assert main(["-c", str(config), "import", str(path)]) == 0
    return config, rows


def report(config: Path, capfd: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capfd.readouterr()
    code = main(["-c", str(config), "report", *args], clock=lambda: NOW)
    out, err = capfd.readouterr()
    return code, out, err


def as_json(config: Path, capfd: pytest.CaptureFixture[str], *args: str) -> dict:
    code, out, _ = report(config, capfd, *args)
    assert code == 0
    return json.loads(out)


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


# --- ranges --------------------------------------------------------------------------------


def test_a_quarter_equals_a_slice_by_slice_evaluation_of_its_three_months(quarter, capfd):
    config, rows = quarter
    data = as_json(config, capfd, "--quarter", "2026-Q1")
    assert (data["from"], data["to"]) == ("2026-01", "2026-03")
    assert [month["month"] for month in data["months"]] == ["2026-01", "2026-02", "2026-03"]
    for target in data["targets"]:
        windows = [WINDOW] if target["name"] == "api-health" else []
        eligible, bad = history.reference(rows, target["name"], *Q1, windows)
        assert (target["eligible_slices"], target["bad_slices"]) == (eligible, bad)
        exact = Fraction(100 * (eligible - bad), eligible)
        assert target["availability_percent"] == float(round(exact, 6))
    # Pooled, not averaged: the months weigh by their slices (Berlin's March lost an hour).
    api = data["targets"][0]
    monthly = [month["targets"][0]["availability_percent"] for month in data["months"]]
    assert api["availability_percent"] != round(sum(monthly) / 3, 6)
    assert sum(m["targets"][0]["eligible_slices"] for m in data["months"]) == api["eligible_slices"]
    assert data["complete"] is True


def test_months_and_year_name_the_same_kind_of_range(quarter, capfd):
    config, _ = quarter
    months = as_json(config, capfd, "--months", "2026-01..2026-03")
    assert months == as_json(config, capfd, "--quarter", "2026-Q1")
    year = as_json(config, capfd, "--year", "2026")
    assert len(year["months"]) == 12
    assert year["complete"] is False  # April to December have no data


@pytest.mark.parametrize(
    ("customer", "contracts", "credits"),
    [
        # Joins on 10 March, midnight in Berlin: 22 days less the hour DST takes, 527 of
        # March's 743 hours (31,620 slices). Search's 45 minutes on the 10th fall in it:
        # 100 x 31,575 / 31,620 = 99.857685 %, below pro's 99.9: 10 % of 100.00 x 527 /
        # 743 = 7.0928... = 7.09 USD.
        ("newco", [0, 0, 1], "7.09"),
        # Leaves on 20 February: billing's 3 hours on the 14th, 100 x 27,180 / 27,360 =
        # 99.342105 %, breach turbo: 25 % of 200.00 x 19 / 28 days = 33.928... = 33.93 EUR;
        # January had no outage on billing.
        ("oldco", [1, 1, 0], "33.93"),
    ],
)
def test_a_customer_who_joins_or_leaves_inside_a_quarter_has_its_statement(
    quarter, capfd, customer, contracts, credits
):
    config, _ = quarter
    data = as_json(config, capfd, "--quarter", "2026-Q1", "--customer", customer)
    assert [len(month["contracts"]) for month in data["months"]] == contracts
    assert [month["final"] for month in data["months"]] == [True, True, True]
    assert data["reference"] == f"SLA-2026-01..2026-03-{customer}"
    ((total),) = data["customers"]
    assert (total["credit_total"], total["final"], total["provisional"]) == (
        credits,
        credits,
        "0.00",
    )
    if customer == "newco":  # the proration in the unit that states it exactly
        code, md, _ = report(
            config, capfd, "--month", "2026-03", "--customer", customer, "--format", "md"
        )
        assert code == 0
        assert "10 % of 70.93 USD (100.00 USD x 527 of 743 hours) = 7.09 USD" in md


def test_a_range_with_a_running_month_splits_final_and_provisional_and_strict_exits_3(
    quarter, capfd
):
    config, _ = quarter
    code, out, err = report(config, capfd, "--months", "2026-03..2026-04", "--strict")
    data = json.loads(out)
    assert code == 3
    assert "2026-04 has not ended (figures until 2026-04-20 02:00 CEST)" in err
    assert [(m["final"], m["complete"]) for m in data["months"]] == [(True, True), (False, False)]
    assert (data["final"], data["complete"]) == (False, False)
    acme = next(c for c in data["customers"] if c["customer"] == "acme")
    assert acme["final"] == acme["credit_total"]  # April has had no outage so far
    assert acme["provisional"] == "0.00"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--months", "2026-03..2026-01"], "--months: '2026-03..2026-01' ends before it starts"),
        (["--months", "2026-01"], "--months: '2026-01' is not YYYY-MM..YYYY-MM"),
        (["--quarter", "2026-Q5"], "--quarter: '2026-Q5' is not YYYY-Qn"),
        (["--year", "26"], "--year: '26' is not YYYY"),
        (["--month", "2026-01", "--year", "2026"], "not --month and --year"),
    ],
)
def test_a_bad_range_is_one_line_and_exit_2(quarter, capfd, args, message):
    config, _ = quarter
    code, out, err = report(config, capfd, *args)
    assert (code, out) == (2, "")
    assert message in err
    assert err.count("\n") == 1


def test_without_a_month_the_report_is_of_the_last_month_ended_in_the_zone(quarter, capfd):
    config, _ = quarter
    assert as_json(config, capfd)["month"] == "2026-03"
    # 30 minutes into April in Berlin, March has ended there but not in UTC.
    capfd.readouterr()
    assert main(["-c", str(config), "report"], clock=lambda: utc(2026, 3, 31, 22, 30)) == 0
    assert json.loads(capfd.readouterr().out)["month"] == "2026-03"
    assert main(["-c", str(config), "report"], clock=lambda: utc(2026, 3, 31, 21, 30)) == 0
    assert json.loads(capfd.readouterr().out)["month"] == "2026-02"


# --- statements ----------------------------------------------------------------------------


def test_a_statement_shows_nothing_of_the_other_two_customers_in_any_format(
    quarter, capfd, tmp_path
):
    config, _ = quarter
    whole = as_json(config, capfd, "--month", "2026-02")
    others = {
        name: {
            *OTHERS[name],
            *(c["credit_amount"] for c in whole["contracts"] if c["customer"] == name),
        }
        for name in OTHERS
    }
    assert {"77.78", "1080.27"} <= others["globex"] | others["initech"]  # billing breached
    texts = {}
    for fmt in ("json", "csv", "md", "html"):
        code, out, _ = report(
            config, capfd, "--month", "2026-02", "--customer", "acme", "--format", fmt
        )
        assert code == 0
        texts[fmt] = out
    pdf = tmp_path / "acme.pdf"
    code, _, _ = report(
        config, capfd, "--month", "2026-02", "--customer", "acme", "--format", "pdf", "-o", str(pdf)
    )
    assert code == 0
    texts["pdf"] = pdf_text(pdf)
    for fmt, text in texts.items():
        assert "acme" in text, fmt
        for name, secrets in others.items():
            for secret in secrets:
                assert secret not in text, f"{fmt} shows {name}'s {secret!r}"
    statement = json.loads(texts["json"])
    assert [c["display_name"] for c in statement["contracts"]] == ["Acme <Corp> & Co.", None]
    assert [t["name"] for t in statement["targets"]] == ["api-health", "search"]
    assert [c["customer"] for c in statement["customers"]] == ["acme"]


def test_an_unknown_customer_is_exit_2_and_one_without_a_contract_an_empty_statement(
    quarter, capfd, tmp_path
):
    config, _ = quarter
    code, out, err = report(config, capfd, "--month", "2026-02", "--customer", "hooli")
    assert (code, out) == (2, "")
    assert "hooli" in err
    later = tmp_path / "later.yaml"
    later.write_text(config.read_text().replace("start: 2025-06-01", "start: 2026-05-01"))
    data = as_json(later, capfd, "--month", "2026-02", "--customer", "acme")
    assert (data["contracts"], data["customers"], data["targets"], data["incidents"]) == (
        [],
        [],
        [],
        [],
    )


def figures_people_read(statement: dict) -> list[str]:
    """Every figure of the JSON statement, written as the human formats write it: an
    availability truncated (from its exact slice counts), money with thousands grouped."""

    def truncated(eligible: int, bad: int) -> str:
        whole, part = divmod(math.floor(Fraction(100 * (eligible - bad), eligible) * 10**6), 10**6)
        return f"{whole}.{part:06d}".rstrip("0").rstrip(".") + " %"

    def rounded(value: float) -> str:
        return f"{value:.6f}".rstrip("0").rstrip(".") + " %"

    def money(amount: str, currency: str) -> str:
        return f"{Decimal(amount):,f} {currency}"

    found = []
    for target in statement["targets"]:
        found += [
            truncated(target["eligible_slices"], target["bad_slices"]),
            rounded(target["coverage_percent"]),
        ]
        for key in ("eligible_slices", "bad_slices", "no_data_slices", "excluded_slices"):
            found.append(f"{target[key]:,} slice")
    for contract in statement["contracts"]:
        budget = contract["budget_remaining_slices"]
        minutes = f"{abs(budget):,.3f}".rstrip("0").rstrip(".") + " min"
        found += [
            truncated(contract["eligible_slices"], contract["bad_slices"]),
            rounded(contract["objective_percent"]),
            f"overspent by {minutes}" if budget < 0 else f"{minutes} left",
            money(contract["credit_amount"], contract["currency"]),
            rounded(contract["coverage_percent"]),
        ]
    found += [money(c["credit_total"], c["currency"]) for c in statement["customers"]]
    for incident in statement["incidents"]:
        found.append(f"{incident['slices']} min")
    for window in statement["maintenance"]:
        found += [window["reason"], f"{window['excluded_slices']} slices"]
    return found


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs pdftoppm (apt: poppler-utils)")
def test_the_pdf_of_a_31_day_month_holds_every_figure_of_the_json_statement(
    quarter, capfd, tmp_path, artifacts
):
    config, _ = quarter
    statement = as_json(config, capfd, "--month", "2026-03", "--customer", "acme")
    assert [c["plan"] for c in statement["contracts"]] == ["enterprise", "turbo"]
    assert statement["contracts"][0]["breach"] is True
    pdf = tmp_path / "acme-2026-03.pdf"
    code, _, err = report(
        config, capfd, "--month", "2026-03", "--customer", "acme", "--format", "pdf", "-o", str(pdf)
    )
    assert (code, err) == (0, "")
    assert pdf.read_bytes().startswith(b"%PDF-")
    text = " ".join(pdf_text(pdf).split())
    for figure in figures_people_read(statement):
        assert figure in text, figure
    # Every chart is there, its own text included: two burn charts, two availability charts.
    assert text.count("Error budget burn per contract") == 1
    assert text.count("budget for the period:") == 2
    assert text.count(" this month ") == 2  # "service public-api · this month 99.932615 %"
    assert "Objectives: 99.99 % (enterprise)" in text
    assert "Objectives: 99.95 % (turbo)" in text
    assert "hover" not in text  # a page cannot be hovered
    # The title may wrap after "Europe/", as a slash allows.
    title = "SLA statement for Acme <Corp> & Co. (acme) — March 2026 (Europe/Berlin)"
    assert title in text.replace("Europe/ ", "Europe/")
    assert "Page 1 of" in text
    # Times people read are Berlin's: the maintenance window 02:00 UTC is 03:00 CET.
    assert "2026-03-05 03:00 CET" in text
    page = tmp_path / "page"
    subprocess.run(
        ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(page)],
        check=True,
        timeout=COMMAND_PATIENCE,
    )
    png = page.with_suffix(".png")
    assert png.stat().st_size > 20_000  # a page with tables and charts, not a blank one
    shutil.copy(png, artifacts / "statement-page-1.png")  # for a person to look at


# --- completeness --------------------------------------------------------------------------


@pytest.fixture
def partly_probed(tmp_path: Path) -> Path:
    """A config whose database holds February 2026 whole for one target, 10 days for one."""
    config = tmp_path / "uptime-sla.yaml"
    config.write_text(config_text(tmp_path / "sla.db").replace("Europe/Berlin", "UTC"))
    rows = history.probes(("api-health",), utc(2026, 1, 31), utc(2026, 3, 2))
    rows += history.probes(("search",), utc(2026, 2, 1), utc(2026, 2, 11))
    rows += history.probes(("billing",), utc(2026, 1, 31), utc(2026, 3, 2))
    assert (
        main(["-c", str(config), "import", str(history.write_csv(tmp_path / "p.csv", rows))]) == 0
    )
    return config


def test_a_partly_empty_month_is_incomplete_first_in_every_format_and_exit_3_strict(
    partly_probed, capfd, tmp_path
):
    code, out, err = report(partly_probed, capfd, "--month", "2026-02")
    data = json.loads(out)
    assert (code, data["complete"]) == (0, False)
    search = next(t for t in data["targets"] if t["name"] == "search")
    # Ten days of probes, the last one carried 6 minutes into the 11th (stale after 10).
    assert search["coverage_percent"] == round(100 * (10 * 1440 + 6) / (28 * 1440), 6)
    line = err.strip()
    assert line.startswith("INCOMPLETE REPORT:")
    assert "search (35.729167 %)" in line
    assert "contract acme turbo on search, whole month (35.729167 %)" in line
    assert "api-health" not in line
    firsts = {}
    for fmt in ("md", "html", "csv"):
        _, out, _ = report(partly_probed, capfd, "--month", "2026-02", "--format", fmt)
        firsts[fmt] = out
    assert firsts["md"].splitlines()[0] == f"**{line}**"
    assert {row["complete"] for row in csv.DictReader(io.StringIO(firsts["csv"]))} == {"false"}
    assert (
        firsts["html"]
        .split("<main>", 1)[1]
        .lstrip()
        .startswith(f'<p class="incomplete" role="alert">{line}')
    )
    assert "credits owed: none" not in firsts["md"].lower() + firsts["html"].lower()
    pdf = tmp_path / "r.pdf"
    assert (
        report(partly_probed, capfd, "--month", "2026-02", "--format", "pdf", "-o", str(pdf))[0]
        == 0
    )
    assert pdf_text(pdf).split("\n", 1)[0] == line[: len(pdf_text(pdf).split("\n", 1)[0])]
    assert " ".join(pdf_text(pdf).split()).startswith(line)
    code, out, err = report(partly_probed, capfd, "--month", "2026-02", "--strict")
    assert (code, json.loads(out)["complete"], err.strip()) == (3, False, line)


def test_an_empty_month_is_incomplete_and_a_full_one_complete(partly_probed, capfd):
    code, out, err = report(partly_probed, capfd, "--month", "2025-11", "--strict")
    data = json.loads(out)
    assert (code, data["complete"]) == (3, False)
    assert [t["coverage_percent"] for t in data["targets"]] == [0.0, 0.0, 0.0]
    assert "api-health (0 %), search (0 %), billing (0 %)" in err
    statement = as_json(partly_probed, capfd, "--month", "2026-02", "--customer", "globex")
    assert statement["complete"] is True  # billing only: judged on its own targets
    code, out, err = report(
        partly_probed,
        capfd,
        "--month",
        "2026-02",
        "--customer",
        "globex",
        "--strict",
        "--format",
        "csv",
    )
    assert (code, err) == (0, "")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["customer"], r["display_name"], r["coverage_percent"]) for r in rows] == [
        ("globex", "Globex Industries", "100.0")
    ]


def test_a_full_month_is_complete_with_no_incomplete_line_anywhere(quarter, capfd, tmp_path):
    config, _ = quarter
    code, out, err = report(config, capfd, "--month", "2026-03", "--strict")
    assert (code, err, json.loads(out)["complete"]) == (0, "", True)
    for fmt in ("md", "html", "csv"):
        code, out, err = report(config, capfd, "--month", "2026-03", "--format", fmt, "--strict")
        assert (code, err) == (0, "")
        assert "INCOMPLETE" not in out
    pdf = tmp_path / "march.pdf"
    code, _, err = report(config, capfd, "--month", "2026-03", "--format", "pdf", "-o", str(pdf))
    assert (code, err) == (0, "")
    assert "INCOMPLETE" not in pdf_text(pdf)
    assert pdf_text(pdf).startswith("SLA report — March 2026 (Europe/")
