"""`uptime-sla report --promises`: the month's promise checks and webhook deliveries, from
the store, as JSON, Markdown or HTML (a Jinja2 template: one self-contained page)."""

from __future__ import annotations

from datetime import datetime

from jinja2 import Environment, PackageLoader, StrictUndefined

from monitor.config import Config
from monitor.store import Store
from sla.promises import (
    BOTH_FAMILIES,
    PLAINTEXT_REJECTED,
    PROMISES,
    RETRY_AFTER_ON_429,
    TLS_ONLY,
    PromiseReport,
    ReceiverSpec,
    promise_report,
)
from sla.render import promises as render
from sla.slices import month_bounds
from sla.timestamps import rfc3339
from sla.vocabulary import PROMISE_REPORT_FORMATS

FORMATS = PROMISE_REPORT_FORMATS


def checked(config: Config) -> list[tuple[str, str, str]]:
    """Every (promise, target, family) the config asks to check, in config order."""
    found: list[tuple[str, str, str]] = []
    for target in config.targets:
        settings = target.promises
        if settings is None:
            continue
        enabled = {
            TLS_ONLY: settings.tls_only is not None,
            PLAINTEXT_REJECTED: settings.plaintext_rejected,
            RETRY_AFTER_ON_429: settings.retry_after_on_429,
            BOTH_FAMILIES: settings.both_families,
        }
        found += [
            (promise, target.name, family)
            for family in target.families
            for promise in PROMISES
            if enabled[promise]
        ]
    return found


def month_promises(
    config: Config, store: Store, year: int, month: int, now: datetime
) -> PromiseReport:
    start, end = month_bounds(year, month, config.sla.timezone)
    return promise_report(
        year=year,
        month=month,
        timezone=config.sla.timezone,
        start=start,
        end=end,
        now=now,
        checked=checked(config),
        runs=store.promises.promise_runs(start, end),
        receivers=[
            ReceiverSpec(
                r.name, r.promise.within, r.promise.first_attempt_percent, r.promise.retries
            )
            for r in config.webhook_receivers
        ],
        deliveries=store.promises.webhook_deliveries(start, end),
    )


def render_html(report: PromiseReport) -> str:
    environment = Environment(
        loader=PackageLoader("monitor.promises", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return environment.get_template("report.html").render(
        report=report,
        title=render.title(report),
        scope=render.scope(report),
        summary=render.summary(report),
        broken=render.anything_broken(report),
        issued=rfc3339(report.issued_at),
        sections=[(heading, table(report)) for heading, table in render.SECTIONS],
        footnote=render.FOOTNOTE,
    )


def render_report(report: PromiseReport, fmt: str) -> bytes:
    """The report in one of FORMATS, as the bytes of its file."""
    if fmt == "json":
        return render.render_promises_json(report).encode()
    if fmt == "md":
        return render.render_promises_md(report).encode()
    return render_html(report).encode()
