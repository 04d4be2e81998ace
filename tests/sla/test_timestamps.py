"""Durations as people write them: the status page's incidents and day bars."""

from __future__ import annotations

import pytest

from sla.timestamps import duration_text


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
