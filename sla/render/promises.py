"""The monthly promise report as JSON, and as tables for the Markdown and HTML renderings.

Shares are truncated, never rounded up, in the human formats: 99.6999 % of first attempts
against a 99.7 % promise never reads as 99.7 %. The JSON rounds half-even to 6 places like
the SLA report and carries each verdict, so no reader has to compare numbers itself.
"""

from __future__ import annotations

import calendar
import json
import math
from datetime import datetime
from fractions import Fraction
from typing import Any

from sla.promises import (
    RETRY_AFTER_ON_429,
    PromiseReport,
    PromiseResult,
    ReceiverResult,
    RetryResult,
)
from sla.render.formatting import PLACES, duration, number
from sla.render.md import md_table, md_text
from sla.render.tables import DASH, Table
from sla.slices import zone
from sla.timestamps import local_time, rfc3339
from sla.vocabulary import FAMILY_NAMES

# A retry is on schedule when it came within this share of its promised delay.
SCHEDULE_TOLERANCE = Fraction(1, 10)


def on_schedule(retry: RetryResult) -> bool | None:
    """Whether every observed delay of retry N lies within 10 % of the promised one (None
    when none was observed, or the schedule promises no such retry)."""
    if retry.promised_seconds is None or retry.min_seconds is None or retry.max_seconds is None:
        return None
    low = retry.promised_seconds * float(1 - SCHEDULE_TOLERANCE)
    high = retry.promised_seconds * float(1 + SCHEDULE_TOLERANCE)
    return low <= retry.min_seconds and retry.max_seconds <= high


def family_name(family: str) -> str:
    """ "IPv6" for ipv6: the family as people write it."""
    return next((text for word, text in FAMILY_NAMES.items() if word == family), family)


def seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _promise(result: PromiseResult) -> dict[str, Any]:
    return {
        "promise": result.promise,
        "target": result.target,
        "ip_family": result.family,
        "checks": result.checks,
        "broken_checks": result.broken_checks,
        "kept": result.kept,
        "broken": [
            {
                "start": rfc3339(span.start),
                "end": rfc3339(span.end),
                "checks": span.checks,
                "location": span.location,
                "detail": span.detail,
            }
            for span in result.broken
        ],
    }


def _receiver(result: ReceiverResult) -> dict[str, Any]:
    return {
        "receiver": result.receiver,
        "within_seconds": result.within_seconds,
        "promise_percent": number(result.promise_percent),
        "first_attempts": result.first_attempts,
        "first_attempts_within": result.first_attempts_within,
        "first_attempt_percent": number(result.first_attempt_percent),
        "kept": result.kept,
        "latency_seconds": {
            "p50": seconds(result.latency_p50_seconds),
            "p99": seconds(result.latency_p99_seconds),
        },
        "retries": [
            {
                "retry": retry.retry,
                "promised_seconds": retry.promised_seconds,
                "observed": retry.observed,
                "p50_seconds": seconds(retry.p50_seconds),
                "p99_seconds": seconds(retry.p99_seconds),
                "min_seconds": seconds(retry.min_seconds),
                "max_seconds": seconds(retry.max_seconds),
                "on_schedule": on_schedule(retry),
            }
            for retry in result.retries
        ],
        "duplicates": result.duplicates,
    }


def promise_json(report: PromiseReport) -> dict[str, Any]:
    return {
        "month": f"{report.year:04d}-{report.month:02d}",
        "timezone": report.timezone,
        "period_start": rfc3339(report.start),
        "period_end": rfc3339(report.end),
        "final": report.final,
        "issued_at": rfc3339(report.issued_at),
        "reference": report.reference,
        "promises": [_promise(p) for p in report.promises],
        "webhook_receivers": [_receiver(r) for r in report.receivers],
    }


def render_promises_json(report: PromiseReport) -> str:
    return json.dumps(promise_json(report), indent=2, ensure_ascii=False) + "\n"


# --- for people --------------------------------------------------------------------------------


def share(value: Fraction | None) -> str:
    """A percentage truncated to 6 places (never rounded up), e.g. "99.699999 %"."""
    if value is None:
        return "n/a"
    scaled = math.floor(value * 10**PLACES)
    whole, part = divmod(scaled, 10**PLACES)
    text = f"{whole}.{part:0{PLACES}d}".rstrip("0").rstrip(".")
    return f"{text} %"


def verdict(kept: bool | None, nothing: str) -> str:
    return nothing if kept is None else ("kept" if kept else "broken")


def delay(value: float | None) -> str:
    if value is None:
        return DASH
    if value < 60:
        return f"{value:.1f}".rstrip("0").rstrip(".") + " s"
    return duration(value)


def title(report: PromiseReport) -> str:
    return f"Promise report — {calendar.month_name[report.month]} {report.year} ({report.timezone})"


def scope(report: PromiseReport) -> str:
    start = local_time(report.start, zone(report.timezone))
    end = local_time(report.end, zone(report.timezone))
    if report.final:
        return f"Whole month: {start} to {end}."
    return (
        f"Month to date (not final): from {start}; checks and deliveries until "
        f"{local_time(report.issued_at, zone(report.timezone))} are counted, so these figures will "
        "still change."
    )


def anything_broken(report: PromiseReport) -> bool:
    return any(p.kept is False for p in report.promises) or any(
        r.kept is False for r in report.receivers
    )


def summary(report: PromiseReport) -> str:
    """One sentence a reader can stop after."""
    broken = sorted({p.promise for p in report.promises if p.kept is False})
    late = [r.receiver for r in report.receivers if r.kept is False]
    if not report.promises and not report.receivers:
        return "No promise checks or webhook receivers are configured."
    parts = []
    if broken:
        parts.append("broken this month: " + ", ".join(broken))
    if late:
        parts.append("webhook first-attempt share below the promise: " + ", ".join(late))
    if not parts:
        return "Every promise checked this month was kept."
    return "Promises " + "; ".join(parts) + "."


def promise_table(report: PromiseReport) -> Table:
    return Table(
        headers=("Promise", "Target", "Family", "Checks", "Broken checks", "Verdict"),
        rows=tuple(
            (
                p.promise,
                p.target,
                family_name(p.family),
                str(p.checks),
                str(p.broken_checks),
                verdict(
                    p.kept, "no 429 seen" if p.promise == RETRY_AFTER_ON_429 else "not checked"
                ),
            )
            for p in report.promises
        ),
        numeric=(False, False, False, True, True, False),
        empty="No target has promise checks.",
    )


def _when(moment: datetime, report: PromiseReport) -> str:
    return local_time(moment, zone(report.timezone))


def broken_table(report: PromiseReport) -> Table:
    return Table(
        headers=("Promise", "Target", "Family", "From", "To", "Checks", "Location", "Why"),
        rows=tuple(
            (
                p.promise,
                p.target,
                family_name(p.family),
                _when(span.start, report),
                _when(span.end, report),
                str(span.checks),
                span.location,
                span.detail,
            )
            for p in report.promises
            for span in p.broken
        ),
        numeric=(False, False, False, False, False, True, False, False),
        empty="No check was broken.",
    )


def receiver_table(report: PromiseReport) -> Table:
    return Table(
        headers=(
            "Receiver",
            "First attempts",
            "Within",
            "Share",
            "Promise",
            "Verdict",
            "Latency p50",
            "Latency p99",
            "Duplicates",
        ),
        rows=tuple(
            (
                r.receiver,
                str(r.first_attempts),
                f"{r.first_attempts_within} within {delay(r.within_seconds)}",
                share(r.first_attempt_percent),
                share(Fraction(r.promise_percent)),
                verdict(r.kept, "no first attempt"),
                delay(r.latency_p50_seconds),
                delay(r.latency_p99_seconds),
                str(r.duplicates),
            )
            for r in report.receivers
        ),
        numeric=(False, True, False, True, True, False, True, True, True),
        empty="No webhook receiver is configured.",
    )


def retry_table(report: PromiseReport) -> Table:
    def schedule(retry: RetryResult) -> str:
        found = on_schedule(retry)
        if retry.promised_seconds is None:
            return "beyond the promised retries"
        return "none observed" if found is None else ("yes" if found else "no")

    return Table(
        headers=(
            "Receiver",
            "Retry",
            "Promised",
            "Observed",
            "Min",
            "p50",
            "p99",
            "Max",
            "On schedule",
        ),
        rows=tuple(
            (
                r.receiver,
                str(retry.retry),
                delay(retry.promised_seconds),
                str(retry.observed),
                delay(retry.min_seconds),
                delay(retry.p50_seconds),
                delay(retry.p99_seconds),
                delay(retry.max_seconds),
                schedule(retry),
            )
            for r in report.receivers
            for retry in r.retries
        ),
        numeric=(False, True, True, True, True, True, True, True, False),
        empty="No retry is promised or observed.",
    )


SECTIONS = (
    ("Promises per target and family", promise_table),
    ("Times broken", broken_table),
    ("Webhook deliveries", receiver_table),
    ("Webhook retries against the promised schedule", retry_table),
)

FOOTNOTE = (
    "None of these is downtime: each promise is checked on its own. A "
    "broken span runs from its first to its last broken check at one location; a share of "
    "first attempts counts those received within the promised time of the event's creation; "
    "a retry is on schedule when its delay is within 10 % of the promised one."
)


def render_promises_md(report: PromiseReport) -> str:
    lines = [
        f"# {md_text(title(report))}",
        "",
        f"Reference {report.reference}, issued {rfc3339(report.issued_at)}.",
        "",
        scope(report),
        "",
        f"**{md_text(summary(report))}**",
    ]
    for heading, table in SECTIONS:
        lines += ["", f"## {heading}", "", *md_table(table(report))]
    lines += ["", FOOTNOTE]
    return "\n".join(lines) + "\n"
