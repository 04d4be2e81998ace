"""Durations as people write them: the status page's incidents and day bars."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sla.timestamps import duration_text, page_day, page_time


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (1, "1 second"),
        (30, "30 seconds"),
        (59.4, "59 seconds"),
        (60, "1 minute"),
        (89, "1 minute"),
        (120, "2 minutes"),
        (3600, "1 hour"),
        (3660, "1 hour 1 minute"),
        (2 * 3600 + 5 * 60, "2 hours 5 minutes"),
        (86400, "1 day"),
        (86400 + 3600 + 60, "1 day 1 hour"),
        (3 * 86400 + 4 * 3600, "3 days 4 hours"),
    ],
)
def test_a_duration_reads_as_english(seconds: float, text: str):
    assert duration_text(seconds) == text


def test_page_days_read_as_strftime_writes_them_in_the_c_locale() -> None:
    for day in (
        date(1, 1, 1),
        date(9999, 12, 31),
        *(date(2024, 1, 1) + timedelta(n) for n in range(400)),
    ):
        assert page_day(day) == day.strftime("%b %d, %Y")


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/St_Johns", "Asia/Kolkata"])
def test_page_times_are_local_with_the_zones_abbreviation(zone: str) -> None:
    where = ZoneInfo(zone)
    for step in range(0, 366 * 24 * 4, 7):  # every 105 minutes through a year, both DST changes
        moment = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=15 * step + 7)
        local = moment.astimezone(where)
        assert page_time(moment, where) == f"{local:%b %d, %Y %H:%M} {local.tzname()}"
