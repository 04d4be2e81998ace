"""Probe history for the worked example of docs/concepts.md (February 2026, one location).

One probe a minute per target and family, 7 s past the minute, all up except:
- api-health over IPv6 times out from 09:00 to 09:35 UTC on 17 February (35 probes);
- api-search answers 503 over both families from 14:00 to 14:25 on 20 February (25 probes);
- api-search has no probes at all from 10:00 to 10:30 on 5 February (the monitor was down);
- api-search answers 429 (rate limited, counts as up) at 12:00 on 3 February.

Usage: python3 docs/examples/make_history.py > history.csv
"""

from __future__ import annotations

import csv
import sys
from datetime import UTC, datetime, timedelta

START = datetime(2026, 2, 1, tzinfo=UTC)
END = datetime(2026, 3, 1, tzinfo=UTC)


def between(when: datetime, day: int, start: str, end: str) -> bool:
    first = datetime.fromisoformat(f"2026-02-{day:02d}T{start}:00+00:00")
    last = datetime.fromisoformat(f"2026-02-{day:02d}T{end}:00+00:00")
    return first <= when < last


def outcome(target: str, family: str, minute: datetime) -> list[str] | None:
    """success, status_code, latency_ms, reason; None when no probe ran."""
    if target == "api-health" and family == "ipv6" and between(minute, 17, "09:00", "09:35"):
        return ["false", "", "", "timeout"]
    if target == "api-search":
        if between(minute, 5, "10:00", "10:30"):
            return None
        if between(minute, 20, "14:00", "14:25"):
            return ["false", "503", "38.0", "status"]
        if minute == datetime(2026, 2, 3, 12, 0, tzinfo=UTC):
            return ["true", "429", "12.0", "rate_limited"]
    return ["true", "200", "42.0", ""]


def main() -> None:
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(
        ["time", "target", "family", "location", "success", "status_code", "latency_ms", "reason"]
    )
    minute = START
    while minute < END:
        when = (minute + timedelta(seconds=7)).isoformat().replace("+00:00", "Z")
        for target in ("api-health", "api-search"):
            for family in ("ipv4", "ipv6"):
                result = outcome(target, family, minute)
                if result is not None:
                    out.writerow([when, target, family, "eu-central", *result])
        minute += timedelta(minutes=1)


if __name__ == "__main__":
    main()
