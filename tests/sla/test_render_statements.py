"""Human formats of incomplete months, statements and ranges (docs/report-schema.md).

An incomplete report must never read as a clean month: its first line says so, in every
human format. Times people read are in `sla.timezone` with the zone named.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import UTC, datetime

from support import report_factory as factory

from sla.model import MaintenanceWindow, TargetSpec
from sla.ranges import combine_months
from sla.render.data import render_csv, render_json
from sla.render.html import render_html
from sla.render.md import render_md

ACME = "Acme <Corp> & Co."


def incomplete():
    """The sample month with its usual 99 % threshold: status-page has no data at all."""
    return factory.sample_report(min_coverage=99)


def squeezed(text: str) -> str:
    """Markdown with the padding of its tables squeezed to single spaces."""
    return "\n".join(" ".join(line.split()) for line in text.splitlines())


def first_text_of_main(page: str) -> str:
    return page.split("<main>", 1)[1].split("</p>", 1)[0].strip()


def test_an_incomplete_month_says_so_first_in_markdown_html_and_csv() -> None:
    report = incomplete()
    assert not report.complete
    line = (
        "INCOMPLETE REPORT: probe data covers less than 99 % of 2026-02 for status-page (0 %); "
        "the figures below are not final."
    )
    assert render_md(report).splitlines()[0] == f"**{line}**"
    assert first_text_of_main(render_html(report)) == f'<p class="incomplete" role="alert">{line}'
    rows = list(csv.DictReader(io.StringIO(render_csv(report))))
    assert {(row["complete"], row["final"]) for row in rows} == {("false", "true")}
    assert json.loads(render_json(report))["complete"] is False


def test_a_complete_month_has_no_such_line() -> None:
    report = factory.sample_report()
    assert report.complete
    for text in (render_md(report), render_html(report), render_csv(report)):
        assert "INCOMPLETE" not in text
    assert render_csv(report).startswith("month,reference,complete,final,")


def test_a_month_without_data_never_reads_as_owing_nothing(month_probes, make_contract) -> None:
    report = month_probes().evaluate(contracts=[make_contract()])
    for text in (render_md(report), render_html(report)):
        assert "credits owed: none" not in text.lower()
        assert (
            "Not final, probe data is missing: in the data there is, 0 of 1 contracts are "
            "below their objective; credits: not final: no credit "
            "in the data there is." in text
        )
    assert "0 of 1 contracts breached their objective" not in render_md(report)


def test_human_formats_show_local_times_with_the_zone_and_json_stays_utc(month_probes) -> None:
    case = month_probes(tz="Europe/Berlin").steady().fail(60, 80)  # 01:00 local = 00:00 UTC
    window = MaintenanceWindow(
        datetime(2026, 2, 10, 2, tzinfo=UTC), datetime(2026, 2, 10, 3, tzinfo=UTC), reason="db"
    )
    report = case.evaluate(maintenance=[window])
    text = squeezed(render_md(report))
    assert "| 1 | 2026-02-01 01:00 CET | 2026-02-01 01:20 CET | 20 min | api |" in text
    assert "2026-02-10 03:00 CET" in text  # the window, in local time
    assert "Whole month: 2026-02-01 00:00 CET to 2026-03-01 00:00 CET (Europe/Berlin)." in text
    assert "Times, dates and days are in Europe/Berlin." in text
    assert "2026-02-01 01:00 CET" in render_html(report)
    data = json.loads(render_json(report))
    assert data["incidents"][0]["start"] == "2026-02-01T00:00:00Z"
    assert data["maintenance"][0]["start"] == "2026-02-10T02:00:00Z"


def statement():
    report = factory.sample_report(customer="acme")
    return replace(report, contracts=tuple(replace(c, display_name=ACME) for c in report.contracts))


def test_a_statement_shows_the_display_name_escaped_and_no_other_customer() -> None:
    report = statement()
    md, page, rows = render_md(report), render_html(report), render_csv(report)
    assert md.startswith(r"# SLA statement for Acme \<Corp\> & Co. (acme) — February 2026 (UTC)")
    assert "<h1>SLA statement for Acme &lt;Corp&gt; &amp; Co. (acme) — February 2026" in page
    assert ACME not in page  # escaped everywhere, charts included
    (row,) = csv.DictReader(rows.splitlines())
    assert (row["customer"], row["display_name"]) == ("acme", ACME)
    for text in (md, page, rows):
        for other in ("globex", "initech", "umbrella", "Smith", "500.00", "22500"):
            assert other not in text, other


def test_a_statement_lists_its_contracts_in_full() -> None:
    md = squeezed(render_md(statement()))
    contracts = md.split("\n## Contracts\n", 1)[1].split("\n## ", 1)[0]
    assert (
        r"| Acme \<Corp\> & Co. (acme) | enterprise | public-api | whole month | 99.950322 % "
        in contracts
    )
    assert "| 20 min | overspent by 15.974 min | 1,200.00 USD | yes | 100 % |" in contracts
    assert (
        r"- Acme \<Corp\> & Co. (acme), enterprise on public-api, whole month: 99.950322 % is "
        "below 99.99 %: 10 % of 12,000.00 USD = 1,200.00 USD" in md
    )
    assert "| database upgrade | api-health | 60 slices (1 h) |" in md


def test_a_range_opens_with_its_own_figures_then_each_month(month_probes) -> None:
    jan = month_probes(month=1).steady().fail(0, 30).evaluate()
    feb = month_probes(month=2).steady().evaluate()
    report = combine_months((jan, feb))
    md = render_md(report)
    assert md.startswith("# SLA report — January 2026 to February 2026 (UTC)\n")
    assert "Reference SLA-2026-01..2026-02 · issued 2100-01-01 00:00 UTC" in md
    assert md.index("## Availability per target over the range") < md.index("## January 2026")
    assert md.index("## January 2026") < md.index("## February 2026")
    assert "### Incidents" in md
    page = render_html(report)
    assert '<h2 class="month">February 2026</h2>' in page
    data = json.loads(render_json(report))
    assert [m["month"] for m in data["months"]] == ["2026-01", "2026-02"]
    assert (data["from"], data["to"]) == ("2026-01", "2026-02")


def test_an_incomplete_month_makes_its_range_say_so_first(month_probes) -> None:
    other = TargetSpec("api", "public-api", 30.0, ("ipv4",))
    jan = month_probes(month=1, targets=[other]).evaluate()  # no probe in January
    feb = month_probes(month=2, targets=[other]).steady().evaluate()
    report = combine_months((jan, feb))
    assert not report.complete
    assert render_md(report).startswith(
        "**INCOMPLETE REPORT: probe data covers less than 99 % of 2026-01 for api (0 %);"
    )
    assert render_csv(report).splitlines()[0].startswith("month,reference,complete,final,")
