"""Monthly statements: `reports.delay` after a month ends, written once and announced once.

One monitor does it: the first to take the month's lease writes the files (into a hidden
folder renamed into place, so `YYYY-MM/` appears whole) and records the summary and the
customers' emails as events; the summary event's key marks the month done, so a restart
or a second monitor finds it and does nothing. A month whose statements were due longer
than `give_up_after` ago (one before the first `run`) is marked done, not delivered.

Statements hold fees and credits: files get `reports.file_mode` (0640) and folders
`reports.dir_mode` (0750) whatever the umask, never access for other users. A hidden
folder left by an interrupted write is removed at the next start, under the month's
lease (so never while another monitor is still writing into it).
"""

from __future__ import annotations

import base64
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from monitor.config import Config
from monitor.notify.outbox import Event, Outbox
from monitor.reports.inputs import EngineInputs
from monitor.reports.monthly import last_ended_month, month_report, render
from monitor.store import Store
from sla.engine import CustomerTotal, MonthReport
from sla.render.formatting import number
from sla.slices import month_bounds
from sla.vocabulary import (
    CUSTOMER_EMAIL_CHANNEL,
    REPORT_MEDIA_TYPES,
    ChannelKind,
    EventKind,
    channel_name,
)

log = logging.getLogger(__name__)

LEASE_SECONDS = 600.0
_PARTIAL = re.compile(r"^\.(\d{4}-\d{2})\.")  # `.YYYY-MM.<random>`: a write under way or cut


def customers_of(config: Config) -> dict[str, tuple[str, ...]]:
    """Every customer of the config, in order, with its contacts (all its contracts')."""
    contacts: dict[str, list[str]] = {}
    for contract in config.contracts:
        known = contacts.setdefault(contract.customer, [])
        known += [c for c in contract.contacts if c not in known]
    return {customer: tuple(found) for customer, found in contacts.items()}


class StatementJob:
    def __init__(self, config: Config, outbox: Outbox, store: Store, *, holder: str) -> None:
        self._config = config
        self._inputs = EngineInputs.of(config)
        self._outbox = outbox
        self._store = store
        self._holder = holder
        self._swept = False

    def run(self, now: datetime) -> str | None:
        """Deliver the last ended month if it is due and not done; its key when recorded."""
        reports = self._config.reports
        if reports.dir is None:
            return None
        if not self._swept:
            self._sweep(Path(reports.dir))
            self._swept = True
        year, month = last_ended_month(self._config, now)
        name = f"{year:04d}-{month:02d}"
        key = f"statement/{name}"
        due = month_bounds(year, month, self._config.sla.timezone)[1] + timedelta(
            seconds=reports.delay
        )
        if now < due or self._outbox.recorded([key]):
            return None
        give_up = timedelta(seconds=self._config.notifications.give_up_after)
        if now - due > give_up:  # no backfill: a month before the first run
            self._outbox.record([Event(key, EventKind.STATEMENT_READY, due, {"month": name})])
            log.info("statements of %s were due before this monitor ran: not delivered", name)
            return key
        lease = f"statements:{name}"
        if not self._outbox.acquire(lease, self._holder, LEASE_SECONDS):
            return None  # another monitor is writing them
        try:
            folder = Path(reports.dir) / name
            statements = self._statements(year, month, now)
            if not folder.exists():  # else: written before a crash, not yet recorded
                self._write(folder, statements)
            self._outbox.record(self._events(key, name, due, folder, statements))
        finally:
            self._outbox.release(lease, self._holder)
        log.info("statements of %s written to %s", name, folder)
        return key

    def _statements(self, year: int, month: int, now: datetime) -> dict[str | None, MonthReport]:
        """The month's report (under None), then each customer's statement: evaluated once
        each, for every file and every message."""
        return {
            customer: month_report(self._inputs, self._store, year, month, now, customer=customer)
            for customer in (None, *customers_of(self._config))
        }

    def _sweep(self, reports: Path) -> None:
        """Remove the hidden folders that interrupted writes left, each under its month's
        lease (a monitor writing one holds it)."""
        try:
            leftovers = [
                (path, match.group(1))
                for path in reports.iterdir()
                if (match := _PARTIAL.match(path.name)) and path.is_dir()
            ]
        except OSError:  # no folder yet: nothing was ever written
            return
        for leftover, month in leftovers:
            lease = f"statements:{month}"
            if not self._outbox.acquire(lease, self._holder, LEASE_SECONDS):
                continue
            try:
                shutil.rmtree(leftover)
                log.warning("removed %s, left by an interrupted write of statements", leftover)
            except OSError as exc:
                log.warning("cannot remove %s: %s", leftover, exc.strerror)
            finally:
                self._outbox.release(lease, self._holder)

    def _write(self, folder: Path, statements: dict[str | None, MonthReport]) -> None:
        reports = self._config.reports
        _make_folders(folder.parent, reports.dir_mode)
        partial = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        try:
            (partial / "customers").mkdir()
            (partial / "customers").chmod(reports.dir_mode)
            for fmt in reports.formats:
                for customer, report in statements.items():
                    file = "report" if customer is None else f"customers/{customer}"
                    _write_file(partial / f"{file}.{fmt}", render(report, fmt), reports.file_mode)
            partial.chmod(reports.dir_mode)
            os.rename(partial, folder)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise

    def _events(
        self,
        key: str,
        name: str,
        due: datetime,
        folder: Path,
        statements: dict[str | None, MonthReport],
    ) -> list[Event]:
        summary = _summary(name, statements[None])
        slack = tuple(channel_name(ChannelKind.SLACK, n) for n in self._config.reports.slack)
        events = [Event(key, EventKind.STATEMENT_READY, due, summary, slack)]
        if not self._config.reports.email_customers:
            return events
        display = {c.customer: c.display_name for c in self._config.contracts}
        for customer, contacts in customers_of(self._config).items():
            if not contacts:
                continue
            statement = statements[customer]
            formats = self._config.reports.formats
            files = [(f, folder / "customers" / f"{customer}.{f}") for f in formats]
            payload = {
                "month": name,
                "customer": customer,
                "display_name": display.get(customer),
                "credits": _credits(statement.customers),
                "complete": statement.complete,
                "attachments": [
                    {
                        "filename": f"sla-statement-{customer}-{name}{path.suffix}",
                        "content": base64.b64encode(path.read_bytes()).decode(),
                        "mime": REPORT_MEDIA_TYPES[fmt],
                    }
                    for fmt, path in files
                ],
            }
            # One message per contact: each gets its own, and sees no other address.
            events += [
                Event(
                    f"{key}/customer/{customer}/{contact}",
                    EventKind.STATEMENT,
                    due,
                    {**payload, "to": [contact]},
                    (CUSTOMER_EMAIL_CHANNEL,),
                )
                for contact in contacts
            ]
        return events


def _make_folders(folder: Path, mode: int) -> None:
    """`folder` and the parents it lacks, each made with `mode` whatever the umask."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    for path in reversed(missing):
        path.mkdir(exist_ok=True)
        path.chmod(mode)


def _write_file(path: Path, content: str | bytes, mode: int) -> None:
    """A new file with `mode` from its first byte (never readable by others, even briefly)."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode & 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fchmod(handle.fileno(), mode)
        os.fsync(handle.fileno())


def _credits(totals: Iterable[CustomerTotal]) -> dict[str, str]:
    """Credits owed per currency, summed over the report's customers."""
    owed: dict[str, Decimal] = {}
    for total in totals:
        if total.credit_total:
            owed[total.currency] = owed.get(total.currency, Decimal(0)) + total.credit_total
    return {currency: str(amount) for currency, amount in owed.items()}


def _summary(name: str, report: MonthReport) -> dict[str, Any]:
    """What the finance channel reads: breaches, credits per currency, completeness."""

    def share(coverage: Fraction | None) -> str:
        return f"{'no' if coverage is None else number(coverage)}%"

    short = [f"{t.name} {share(t.coverage)}" for t in report.short_targets]
    short += [f"{c.customer} {c.plan} {share(c.coverage)}" for c in report.short_contracts]
    return {
        "month": name,
        "contracts": len(report.contracts),
        "breached": [c.customer for c in report.contracts if c.breach],
        "credits": _credits(report.customers),
        "complete": report.complete,
        "short": short,
    }
