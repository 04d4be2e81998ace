"""Monthly statements with an injected clock: one file set, one summary, one email per
customer with only its own statement, and nothing again after a restart."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.notifying import step

from monitor.notify.service import Notifier


@pytest.fixture
def start_monitor(notifier, tmp_path: Path):
    extra = f"""\
reports:
  dir: {tmp_path / "reports"}
  formats: [html, json]
  delay: 6h
  slack: [finance]
  email_customers: true
"""

    def start(location: str = "lab", reports: str = "") -> Notifier:
        """A notifier; `reports` adds keys to the reports section ("  key: value\n")."""
        return notifier(extra + reports, location=location)

    return start


def test_each_month_is_written_and_delivered_once_even_after_a_restart_on_the_first(
    start_monitor, clock, tmp_path: Path, slack_receiver, smtp_server
) -> None:
    reports = tmp_path / "reports"
    clock.now = datetime(2026, 3, 31, 23, 0, tzinfo=UTC)
    first, second = start_monitor("lab"), start_monitor("eu-west")
    step(first, second)
    assert not (reports / "2026-02").exists()  # due a month ago: no backfill
    clock.now = datetime(2026, 4, 1, 5, 59, tzinfo=UTC)
    step(first, second)
    assert not (reports / "2026-03").exists()  # reports.delay not over yet

    clock.now = datetime(2026, 4, 1, 6, 1, tzinfo=UTC)
    step(first, second)
    step(first, second)
    files = sorted(str(p.relative_to(reports)) for p in reports.rglob("*") if p.is_file())
    assert files == [
        "2026-03/customers/acme.html",
        "2026-03/customers/acme.json",
        "2026-03/customers/globex.html",
        "2026-03/customers/globex.json",
        "2026-03/report.html",
        "2026-03/report.json",
    ]
    assert [p.name for p in reports.iterdir()] == ["2026-03"]  # no partial folder left
    report = json.loads((reports / "2026-03/report.json").read_text())
    assert report["month"] == "2026-03"
    acme = json.loads((reports / "2026-03/customers/acme.json").read_text())
    assert [c["customer"] for c in acme["contracts"]] == ["acme"]

    summaries = [p for p in slack_receiver.posts if p.path == "/finance"]
    assert len(summaries) == 1
    # Nothing was probed in March: the summary says the report is incomplete.
    assert summaries[0].title == "SLA report 2026-03: 0 of 2 contracts breached (incomplete)"
    assert "INCOMPLETE" in summaries[0].text
    assert "Credits owed so far (not final): none." in summaries[0].text
    assert slack_receiver.posts == summaries  # the status channel hears nothing of it

    mails = {m["X-Envelope-To"]: m for m in smtp_server.messages}
    assert sorted(mails) == ["ap@globex.example", "billing@acme.example", "cfo@globex.example"]
    assert len(smtp_server.messages) == 3  # one per contact
    acme_mail = mails["billing@acme.example"]
    assert acme_mail["Subject"] == "Your SLA statement for 2026-03"
    names = [part.get_filename() for part in acme_mail.iter_attachments()]
    assert names == ["sla-statement-acme-2026-03.html", "sla-statement-acme-2026-03.json"]
    attached = b"".join(
        part.get_content().encode() if isinstance(part.get_content(), str) else part.get_content()
        for part in acme_mail.iter_attachments()
    )
    assert b"acme" in attached
    assert b"globex" not in attached
    acme_text = acme_mail.get_body(("plain",)).get_content()
    assert "Acme Corp." in acme_text
    assert "incomplete, so the figures are not final" in acme_text  # never reads as clean
    assert "No service credit is due this month" not in acme_text

    written = (reports / "2026-03/report.json").stat().st_mtime_ns
    clock.now = datetime(2026, 4, 1, 6, 30, tzinfo=UTC)
    first.stop()
    restarted = start_monitor("lab")  # a restart on the 1st
    step(restarted, second)
    assert (reports / "2026-03/report.json").stat().st_mtime_ns == written
    assert len(slack_receiver.posts) == 1
    assert len(smtp_server.messages) == 3

    clock.now = datetime(2026, 5, 1, 6, 1, tzinfo=UTC)  # the next month: its own one set
    step(restarted, second)
    step(restarted, second)
    assert sorted(p.name for p in reports.iterdir()) == ["2026-03", "2026-04"]
    assert [p.title.split(":")[0] for p in slack_receiver.posts] == [
        "SLA report 2026-03",
        "SLA report 2026-04",
    ]
    assert len(smtp_server.messages) == 6


@pytest.fixture
def umask_0():
    """No umask at all: the modes written are the project's own, not the umask's."""
    previous = os.umask(0)
    yield
    os.umask(previous)


def modes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): oct(p.stat().st_mode & 0o777) for p in folder.rglob("*")}


@pytest.mark.usefixtures("umask_0")
@pytest.mark.parametrize(
    ("options", "file_mode", "dir_mode"),
    [("", "0o640", "0o750"), ("  file_mode: 0600\n  dir_mode: '0700'\n", "0o600", "0o700")],
)
def test_statements_are_never_readable_by_other_users(
    start_monitor, clock, tmp_path: Path, options: str, file_mode: str, dir_mode: str
) -> None:
    monitor = start_monitor(reports=options)
    clock.now = datetime(2026, 4, 1, 6, 1, tzinfo=UTC)
    step(monitor)
    reports = tmp_path / "reports"
    assert oct(reports.stat().st_mode & 0o777) == dir_mode  # made by the monitor: its mode too
    found = modes(reports)
    assert found == {
        "2026-03": dir_mode,
        "2026-03/customers": dir_mode,
        "2026-03/report.html": file_mode,
        "2026-03/report.json": file_mode,
        "2026-03/customers/acme.html": file_mode,
        "2026-03/customers/acme.json": file_mode,
        "2026-03/customers/globex.html": file_mode,
        "2026-03/customers/globex.json": file_mode,
    }


def test_a_folder_left_by_an_interrupted_write_is_removed_at_the_next_start(
    start_monitor, clock, tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    for name in (".2026-01.k2j4x9", ".2026-02.a8b7c6"):
        (reports / name / "customers").mkdir(parents=True)
        (reports / name / "customers" / "acme.json").write_text("{}")
    (reports / ".notes").write_text("an operator's file: not ours")
    (reports / "2025-12").mkdir()  # a finished month: not ours to touch either
    writing = start_monitor("eu-west")  # another monitor is still writing February's
    assert writing.outbox.acquire("statements:2026-02", "eu-west", 600)
    step(start_monitor("lab"))
    assert sorted(p.name for p in reports.iterdir()) == [".2026-02.a8b7c6", ".notes", "2025-12"]
    writing.outbox.release("statements:2026-02", "eu-west")
    step(start_monitor("lab"))  # the next start
    assert sorted(p.name for p in reports.iterdir()) == [".notes", "2025-12"]
