"""Times as the project writes them, each form defined once.

Machines read RFC 3339 in UTC with a `Z` (the JSON report, the status page's JSON and
feed, CSV export, Alertmanager, notification payloads); people read local times with the
zone named, in the report's or the page's time zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from typing import Literal

TimeSpec = Literal["auto", "seconds", "milliseconds"]


def rfc3339(moment: datetime, timespec: TimeSpec = "auto") -> str:
    """RFC 3339 in UTC with a Z: "2026-02-01T00:00:00Z".

    `timespec` as `datetime.isoformat`'s: "auto" shows microseconds when there are any
    (export reads back exactly what was stored), "seconds" cuts them (the status page),
    "milliseconds" is what Alertmanager keeps.
    """
    return moment.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def local_time(moment: datetime, zone: tzinfo, *, seconds: bool = True) -> str:
    """ "2026-02-17 10:00 CET": the moment in `zone`, with the zone's abbreviation.

    The seconds are shown when they are not zero (reports: a slice edge is a whole
    minute, `now` is not), never with `seconds=False` (notifications).
    """
    local = moment.astimezone(zone)
    tail = f":{local.second:02d}" if seconds and local.second else ""
    return f"{local:%Y-%m-%d %H:%M}{tail} {local.tzname() or zone}"


def page_time(moment: datetime, zone: tzinfo) -> str:
    """ "Feb 17, 2026 10:00 CET": a time as the status page writes it."""
    local = moment.astimezone(zone)
    return f"{page_day(local)} {local.hour:02d}:{local.minute:02d} {local.tzname() or zone}"


def page_day(day: date) -> str:
    """ "Feb 17, 2026": a day as the status page writes it (its day bars).

    strftime's "%b %d, %Y" in the C locale, without strftime: a large page writes a
    few hundred thousand of these, and strftime costs six times as much."""
    return f"{_MONTHS[day.month - 1]} {day.day:02d}, {day.year}"


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def duration_text(seconds: float) -> str:
    """ "1 minute", "2 hours 5 minutes", "3 days 4 hours": a span as people write it.

    Whole minutes (seconds only below one minute), at most two units, singular for one.
    """
    if seconds < 59.5:
        return _count(max(round(seconds), 0), "second")
    minutes = round(seconds / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        parts = [_count(days, "day"), _count(hours, "hour") if hours else ""]
    else:
        parts = [
            _count(hours, "hour") if hours else "",
            _count(minutes, "minute") if minutes else "",
        ]
    return " ".join(part for part in parts if part)


def _count(number: int, unit: str) -> str:
    return f"{number} {unit}" if number == 1 else f"{number} {unit}s"
