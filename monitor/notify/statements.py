"""Monthly statements: `reports.delay` after a month ends, written once and announced once.

One monitor does it: the first to take the month's lease writes the files (into a hidden
folder renamed into place, so `YYYY-MM/` appears whole) and records the summary and the
customers' emails as events; the summary event's key marks the month done, so a restart
or a second monitor finds it and does nothing. A month whose statements were due longer
than `give_up_after` ago (one before the first `run`) is marked done, not delivered.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from monitor.config import Config
from monitor.notify.outbox import Event, Outbox
from monitor.reports.monthly import last_ended_month
from sla import month_bounds
from sla.vocabulary import (
    CUSTOMER_EMAIL_CHANNEL,
    REPORT_MEDIA_TYPES,
    ChannelKind,
    EventKind,
    channel_name,
)

log = logging.getLogger(__name__)

LEASE_SECONDS = 600.0

# (year, month, format, customer or None for the whole report, now) -> the file's content
Render = Callable[[int, int, str, str | None, datetime], str | bytes]


def customers_of(config: Config) -> dict[str, tuple[str, ...]]:
    """Every customer of the config, in order, with its contacts (all its contracts')."""
    contacts: dict[str, list[str]] = {}
    for contract in config.contracts:
        known = contacts.setdefault(contract.customer, [])
        known += [c for c in contract.contacts if c not in known]
    return {customer: tuple(found) for customer, found in contacts.items()}


class StatementJob:
    def __init__(
        self,
        config: Config,
        outbox: Outbox,
        render: Render,
        *,
        holder: str,
    ) -> None:
        self._config = config
        self._outbox = outbox
        self._render = render
        self._holder = holder

    def run(self, now: datetime) -> str | None:
        """Deliver the last ended month if it is due and not done; its key when recorded."""
        reports = self._config.reports
        if reports.dir is None:
            return None
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
            if not folder.exists():  # else: written before a crash, not yet recorded
                self._write(folder, year, month, now)
            events = self._events(key, name, due, folder, now)
            self._outbox.record(events)
        finally:
            self._outbox.release(lease, self._holder)
        log.info("statements of %s written to %s", name, folder)
        return key

    def _write(self, folder: Path, year: int, month: int, now: datetime) -> None:
        formats = self._config.reports.formats
        folder.parent.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        try:
            (partial / "customers").mkdir()
            for fmt in formats:
                _write_file(partial / f"report.{fmt}", self._render(year, month, fmt, None, now))
                for customer in customers_of(self._config):
                    content = self._render(year, month, fmt, customer, now)
                    _write_file(partial / "customers" / f"{customer}.{fmt}", content)
            partial.chmod(0o755)
            os.rename(partial, folder)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise

    def _events(
        self, key: str, name: str, due: datetime, folder: Path, now: datetime
    ) -> list[Event]:
        year, month = int(name[:4]), int(name[5:])
        report = json.loads(self._render(year, month, "json", None, now))
        summary = _summary(name, report, self._config.reports.min_coverage_percent)
        slack = tuple(channel_name(ChannelKind.SLACK, n) for n in self._config.reports.slack)
        events = [Event(key, EventKind.STATEMENT_READY, due, summary, slack)]
        if not self._config.reports.email_customers:
            return events
        display = {c.customer: c.display_name for c in self._config.contracts}
        for customer, contacts in customers_of(self._config).items():
            if not contacts:
                continue
            statement = json.loads(self._render(year, month, "json", customer, now))
            formats = self._config.reports.formats
            files = [(f, folder / "customers" / f"{customer}.{f}") for f in formats]
            payload = {
                "month": name,
                "customer": customer,
                "display_name": display.get(customer),
                "credits": _credits(statement),
                "complete": bool(statement.get("complete", True)),
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


def _write_file(path: Path, content: str | bytes) -> None:
    data = content.encode("utf-8") if isinstance(content, str) else content
    with path.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    path.chmod(0o644)


def _credits(report: dict[str, Any] | None) -> dict[str, str]:
    """Credits owed per currency, summed over the report's customers."""
    totals: dict[str, Decimal] = {}
    for entry in (report or {}).get("customers", ()):
        amount = Decimal(entry["credit_total"])
        if amount:
            totals[entry["currency"]] = totals.get(entry["currency"], Decimal(0)) + amount
    return {currency: str(amount) for currency, amount in totals.items()}


def _summary(name: str, report: dict[str, Any], minimum: Decimal) -> dict[str, Any]:
    """What the finance channel reads: breaches, credits per currency, completeness."""
    contracts = report.get("contracts", [])
    short = [
        f"{t['name']} {'no' if t['coverage_percent'] is None else t['coverage_percent']}%"
        for t in report.get("targets", [])
        if "coverage_percent" in t
        and (t["coverage_percent"] is None or Decimal(str(t["coverage_percent"])) < minimum)
    ]
    return {
        "month": name,
        "contracts": len(contracts),
        "breached": [c["customer"] for c in contracts if c.get("breach")],
        "credits": _credits(report),
        "complete": bool(report.get("complete", not short)),
        "short": short,
    }
