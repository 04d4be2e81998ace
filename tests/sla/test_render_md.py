"""The Markdown report: what a person reads about a month's SLAs in Slack or an email.

The month is report_factory's: acme (enterprise) breaches with 99.95032290 %, read
truncated as 99.950322 %, and is owed 1,200.00 USD; `Smith & Sons <ltd>` (turbo) is owed
22,500 JPY, initech breaches pro from the 15th (40.00 USD), globex and umbrella stay
within their objectives.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from support import report_factory as factory

from sla.render.md import render_md

MID_MONTH, quiet_report, sample_report = (
    factory.MID_MONTH,
    factory.quiet_report,
    factory.sample_report,
)

PIPE = re.compile(r"(?<!\\)\|")  # a table pipe, not an escaped one inside a name


@pytest.fixture(scope="module")
def month() -> str:
    return render_md(sample_report())


@pytest.fixture(scope="module")
def month_to_date() -> str:
    return render_md(sample_report(MID_MONTH))


def section(text: str, title: str) -> str:
    """The lines under `## title`, up to the next heading."""
    return text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def rows(text: str) -> list[list[str]]:
    """The body rows of the (first) table in `text`, as stripped cells."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in PIPE.split(line)[1:-1]] for line in lines[2:]]


def row_of(text: str, first_cell: str) -> list[str]:
    (row,) = (row for row in rows(text) if row[0] == first_cell)
    return row


def test_the_title_names_the_month_and_its_time_zone_then_the_reference(month: str) -> None:
    assert month.startswith(
        "# SLA report — February 2026 (UTC)\n\nReference SLA-2026-02 · issued 2026-03-02 00:00 UTC\n"
    )


def test_a_finished_month_says_it_covers_the_whole_month(month: str) -> None:
    assert "Whole month: 2026-02-01 00:00 UTC to 2026-03-01 00:00 UTC (UTC)." in month
    assert "month to date" not in month.lower()


def test_a_running_month_says_month_to_date_and_until_when(month_to_date: str) -> None:
    assert "**Month to date (until 2026-02-20 12:00 UTC)" in month_to_date
    assert month_to_date.startswith("**INCOMPLETE REPORT: 2026-02 has not ended")
    assert (
        "Not final, the month has not ended: in the data there is, 3 of 6 contracts are "
        "below their objective (3 of them for certain)" in month_to_date
    )


def test_the_headline_counts_breaches_and_sums_credits_per_currency(month: str) -> None:
    assert (
        "3 of 6 contracts breached their objective; credits owed: 1,240.00 USD, 22,500 JPY."
        in month
    )


def test_the_summary_has_contracts_breaches_and_credits_per_plan_tier(month: str) -> None:
    assert rows(section(month, "Summary by plan")) == [
        ["enterprise", "1", "1", "1,200.00 USD"],
        ["pro", "3", "1", "40.00 USD"],
        ["turbo", "1", "1", "22,500 JPY"],
        ["basic", "1", "0", "none"],
    ]


def test_a_breached_contract_has_a_breach_line_with_its_figures_and_credit(month: str) -> None:
    assert row_of(section(month, "Breaches"), "acme") == [
        "acme",
        "enterprise",
        "public-api",
        "whole month",
        "99.950322 %",
        "99.99 %",
        "20 min",
        "overspent by 15.974 min",
        "1,200.00 USD",
    ]


def test_a_contract_for_part_of_the_month_shows_its_period(month: str) -> None:
    initech = row_of(section(month, "Breaches"), "initech")
    assert initech[1:4] == ["pro", "search", "from 2026-02-15"]
    assert initech[-1] == "40.00 USD"
    derivations = section(month, "How each credit is computed")
    assert (
        "- initech, pro on search, from 2026-02-15: 99.85119 % is below 99.9 %: "
        "10 % of 400.00 USD (800.00 USD x 14 of 28 days) = 40.00 USD" in derivations
    )


def test_contracts_within_their_objective_are_not_in_the_breaches(month: str) -> None:
    breached = [row[:2] for row in rows(section(month, "Breaches"))]
    assert breached == [
        ["acme", "enterprise"],
        [r"Smith & Sons \<ltd\>", "turbo"],
        ["initech", "pro"],
    ]


def test_credits_owed_are_listed_per_customer_in_their_currency(month: str) -> None:
    assert rows(section(month, "Credits owed per customer")) == [
        ["acme", "1,200.00 USD"],
        [r"Smith & Sons \<ltd\>", "22,500 JPY"],
        ["initech", "40.00 USD"],
    ]


def test_incidents_have_start_end_duration_and_targets(month: str) -> None:
    assert rows(section(month, "Incidents")) == [
        [
            "1",
            "2026-02-03 09:00 UTC",
            "2026-02-03 10:30 UTC",
            "1 h 30 min",
            r"\<script\>alert(1)\</script\>",
            "IPv4",
            "—",  # report_factory gives no failed probes: no reasons to count
        ],
        ["2", "2026-02-12 14:00 UTC", "2026-02-12 14:20 UTC", "20 min", "api-health", "IPv6", "—"],
        [
            "3",
            "2026-02-20 10:00 UTC",
            "2026-02-20 10:30 UTC",
            "30 min",
            r"\<script\>alert(1)\</script\>",
            "IPv6",
            "—",
        ],
    ]


def test_each_target_shows_its_ipv4_and_ipv6_availability(month: str) -> None:
    table = section(month, "Availability per target (IPv4 and IPv6)")
    assert row_of(table, "api-health") == [
        "api-health",
        "public-api",
        "99.950322 %",
        "100 %",
        "99.950322 %",
        "20 min",
    ]
    # billing-api is probed over IPv4 only; status-page has never been probed.
    assert row_of(table, "billing-api")[3:5] == ["100 %", "—"]
    assert row_of(table, "status-page")[2:5] == ["n/a", "—", "n/a"]


def test_data_coverage_shows_no_data_and_excluded_slices_per_target(month: str) -> None:
    table = section(month, "Data coverage")
    assert row_of(table, "api-health")[1:] == [
        "100 %",
        "100 %",
        "100 %",
        "40,260 slices (27 d 23 h)",
        "20 slices (20 min)",
        "0 slices",
        "60 slices (1 h)",
    ]
    assert row_of(table, r"\<script\>alert(1)\</script\>")[6] == "119 slices (1 h 59 min)"
    assert row_of(table, "status-page")[1:7] == [
        "0 %",
        "—",
        "0 %",
        "0 slices",
        "0 slices",
        "40,320 slices (28 d)",
    ]


def test_names_from_the_config_are_text_never_markup(month: str) -> None:
    assert "<script>" not in month
    assert "<ltd>" not in month
    assert r"\<script\>alert(1)\</script\>" in month


def test_a_pipe_in_a_name_does_not_break_a_table() -> None:
    report = sample_report()
    report = replace(report, targets=(replace(report.targets[0], name="api|health"),))
    table = section(render_md(report), "Data coverage")
    assert rows(table) == [
        [
            "api\\|health",
            "100 %",
            "100 %",
            "100 %",
            "40,260 slices (27 d 23 h)",
            "20 slices (20 min)",
            "0 slices",
            "60 slices (1 h)",
        ]
    ]


def test_tables_line_up_when_read_raw(month: str) -> None:
    for title in ("Summary by plan", "Breaches", "Incidents", "Data coverage"):
        widths = {len(line) for line in section(month, title).splitlines() if line.startswith("|")}
        assert len(widths) == 1, title


def test_a_quiet_month_says_there_is_nothing_to_report() -> None:
    text = render_md(quiet_report())
    assert "No contract was active this month." in text
    assert "_No contract breached its objective._" in text
    assert "_No credits are owed._" in text
    assert "_No incidents._" in text
    assert row_of(section(text, "Availability per target (IPv4 and IPv6)"), "quiet")[2:5] == [
        "100 %",
        "100 %",
        "—",
    ]
