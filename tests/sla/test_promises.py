"""The promise report's rules: which first attempts fail on purpose, percentiles, and a
month's figures from stored check runs and deliveries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from sla.promises import (
    DUPLICATE,
    FIRST,
    RETRY,
    CheckRun,
    Delivery,
    ReceiverSpec,
    chosen_to_fail,
    percentile,
    promise_report,
)
from sla.render.promises import on_schedule, share
from sla.slices import month_bounds

MARCH = month_bounds(2026, 3, "UTC")
AT = datetime(2026, 3, 10, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("percent", "attempts", "failed"),
    [
        (Decimal(0), 100, 0),
        (Decimal(1), 100, 1),
        (Decimal(1), 99, 0),
        (Decimal(50), 10, 5),
        (Decimal(100), 7, 7),
        (Decimal("0.3"), 1000, 3),
        (Decimal("33.3"), 1000, 333),
    ],
)
def test_exactly_the_chosen_share_of_first_attempts_fails(percent, attempts, failed):
    chosen = [n for n in range(1, attempts + 1) if chosen_to_fail(n, percent)]
    assert len(chosen) == failed


def test_the_failed_first_attempts_are_spread_evenly():
    chosen = [n for n in range(1, 11) if chosen_to_fail(n, Decimal(50))]
    assert chosen == [2, 4, 6, 8, 10]


def test_percentiles_are_observed_values_by_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None


def run(promise: str, kept: bool, first: datetime, checks: int, family: str = "ipv4") -> CheckRun:
    return CheckRun(
        promise,
        "api",
        family,
        "lab",
        kept,
        first,
        first + timedelta(hours=checks - 1),
        checks,
        "answered 301" if not kept else "answered 403",
    )


def report(runs=(), deliveries=(), now=datetime(2026, 4, 2, tzinfo=UTC)):
    return promise_report(
        year=2026,
        month=3,
        timezone="UTC",
        start=MARCH[0],
        end=MARCH[1],
        now=now,
        checked=[("plaintext_rejected", "api", "ipv4"), ("retry_after_on_429", "api", "ipv4")],
        runs=runs,
        receivers=[ReceiverSpec("hooks", 5.0, Decimal("99.7"), (60.0, 300.0, 1800.0))],
        deliveries=deliveries,
    )


def test_a_months_checks_add_up_from_the_runs_that_began_in_it():
    result = report(
        runs=[
            run("plaintext_rejected", True, datetime(2026, 2, 28, 20, tzinfo=UTC), 4),  # February
            run("plaintext_rejected", True, datetime(2026, 3, 1, tzinfo=UTC), 200),
            run("plaintext_rejected", False, AT, 3),
            run("plaintext_rejected", True, AT + timedelta(hours=3), 500),
        ]
    )
    plaintext, retry_after = result.promises
    assert (plaintext.checks, plaintext.broken_checks, plaintext.kept) == (703, 3, False)
    (span,) = plaintext.broken
    assert (span.start, span.end, span.checks, span.detail) == (
        AT,
        AT + timedelta(hours=2),
        3,
        "answered 301",
    )
    assert (retry_after.checks, retry_after.kept) == (0, None)  # no 429 seen: no verdict
    assert result.final
    assert result.reference == "PROMISES-2026-03"


def test_a_month_still_running_is_not_final():
    assert not report(now=AT).final


def delivery(kind: str, **fields) -> Delivery:
    return Delivery("hooks", AT, kind, **fields)


def test_a_receivers_first_attempt_share_latency_retries_and_duplicates():
    firsts = [delivery(FIRST, latency_seconds=0.5) for _ in range(997)]
    firsts += [delivery(FIRST, latency_seconds=61.0) for _ in range(3)]  # late: retried?
    retries = [delivery(RETRY, retry=1, delay_seconds=s) for s in (58.0, 60.0, 66.0)]
    retries += [delivery(RETRY, retry=2, delay_seconds=420.0)]
    result = report(deliveries=[*firsts, *retries, delivery(DUPLICATE), delivery(FIRST)])
    (hooks,) = result.receivers
    assert hooks.first_attempts == 1000  # the one without a creation time has no latency
    assert hooks.first_attempts_within == 997
    assert hooks.first_attempt_percent == Fraction(997, 10)
    assert hooks.kept is True  # exactly at the promise keeps it
    assert (hooks.latency_p50_seconds, hooks.latency_p99_seconds) == (0.5, 0.5)
    assert hooks.duplicates == 1
    one, two, three = hooks.retries
    assert (one.observed, one.min_seconds, one.max_seconds, on_schedule(one)) == (
        3,
        58.0,
        66.0,
        True,
    )
    assert (two.observed, two.promised_seconds, on_schedule(two)) == (1, 300.0, False)  # 7 min
    assert (three.observed, on_schedule(three)) == (0, None)


def test_one_late_first_attempt_too_many_breaks_the_promise():
    deliveries = [delivery(FIRST, latency_seconds=1.0) for _ in range(996)]
    deliveries += [delivery(FIRST, latency_seconds=5.001) for _ in range(4)]
    (hooks,) = report(deliveries=deliveries).receivers
    assert hooks.first_attempt_percent == Fraction(996, 10)
    assert hooks.kept is False


def test_shares_are_truncated_never_rounded_up():
    assert share(Fraction(99699999999, 10**9)) == "99.699999 %"
    assert share(Fraction(997, 10)) == "99.7 %"
    assert share(None) == "n/a"
