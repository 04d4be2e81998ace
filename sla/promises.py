"""Promises beyond uptime: their words, and the monthly promise report from what was stored.

Pure: stored check runs and webhook deliveries in, a frozen report out (docs/promises.md).
None of this is downtime; each promise is kept or broken on its own.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from sla.vocabulary import (
    CheckResult,
    DeliveryKind,
    DeliveryResult,
    Promise,
)

# The words (promise names, results, delivery kinds) are the vocabulary's, named here
# for the code that speaks of promises.
TLS_ONLY = Promise.TLS_ONLY
PLAINTEXT_REJECTED = Promise.PLAINTEXT_REJECTED
RETRY_AFTER_ON_429 = Promise.RETRY_AFTER_ON_429
BOTH_FAMILIES = Promise.BOTH_FAMILIES
PROMISES: tuple[Promise, ...] = tuple(Promise)
KEPT, BROKEN = CheckResult.KEPT, CheckResult.BROKEN
ACCEPTED, REJECTED = DeliveryResult.ACCEPTED, DeliveryResult.REJECTED
BAD_SIGNATURE = DeliveryResult.BAD_SIGNATURE
DELIVERY_RESULTS: tuple[DeliveryResult, ...] = tuple(DeliveryResult)
FIRST, RETRY, DUPLICATE = DeliveryKind.FIRST, DeliveryKind.RETRY, DeliveryKind.DUPLICATE


def chosen_to_fail(first_attempt_number: int, percent: Decimal) -> bool:
    """Whether the Nth first attempt (from 1) is one of `percent` % answered 503: exactly
    that share of every run of first attempts, spread evenly (50 % fails every second one)."""
    if first_attempt_number < 1 or percent <= 0:
        return False
    share = Fraction(percent) / 100
    return math.floor(first_attempt_number * share) > math.floor((first_attempt_number - 1) * share)


def percentile(values: Sequence[float], rank: int) -> float | None:
    """The nearest-rank percentile (p50, p99) of `values`, a value that was observed."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(rank / 100 * len(ordered)), 1) - 1]


# --- what the store hands over ----------------------------------------------------------------


@dataclass(frozen=True)
class CheckRun:
    """Consecutive checks of one (promise, target, family, location) with the same result."""

    promise: str
    target: str
    family: str
    location: str
    kept: bool
    first: datetime
    last: datetime
    checks: int
    detail: str  # why, as the last check of the run said it


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery with a valid signature, as the receiver classified it."""

    receiver: str
    received: datetime
    kind: str  # FIRST, RETRY or DUPLICATE
    retry: int | None = None  # N of "retry N"
    latency_seconds: float | None = None  # first attempts: event creation to receipt
    delay_seconds: float | None = None  # retries: since the previous attempt


@dataclass(frozen=True)
class ReceiverSpec:
    name: str
    within_seconds: float
    first_attempt_percent: Decimal
    retries: tuple[float, ...]


# --- the report -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BrokenSpan:
    """From the first to the last check of a run of broken checks (at one location)."""

    start: datetime
    end: datetime
    checks: int
    location: str
    detail: str


@dataclass(frozen=True)
class PromiseResult:
    promise: str
    target: str
    family: str
    checks: int
    broken_checks: int
    broken: tuple[BrokenSpan, ...]

    @property
    def kept(self) -> bool | None:
        """None when nothing was checked (no 429 seen, say): no verdict without data."""
        return None if not self.checks else self.broken_checks == 0


@dataclass(frozen=True)
class RetryResult:
    retry: int  # N of "retry N"
    promised_seconds: float | None  # the schedule's delay, None past its end
    observed: int
    p50_seconds: float | None
    p99_seconds: float | None
    min_seconds: float | None
    max_seconds: float | None


@dataclass(frozen=True)
class ReceiverResult:
    receiver: str
    within_seconds: float
    promise_percent: Decimal
    first_attempts: int  # with a creation time, so their latency is known
    first_attempts_within: int
    latency_p50_seconds: float | None
    latency_p99_seconds: float | None
    retries: tuple[RetryResult, ...]
    duplicates: int

    @property
    def first_attempt_percent(self) -> Fraction | None:
        if not self.first_attempts:
            return None
        return Fraction(100 * self.first_attempts_within, self.first_attempts)

    @property
    def kept(self) -> bool | None:
        share = self.first_attempt_percent
        return None if share is None else share >= Fraction(self.promise_percent)


@dataclass(frozen=True)
class PromiseReport:
    year: int
    month: int
    timezone: str
    start: datetime
    end: datetime
    final: bool  # the month has ended
    issued_at: datetime
    promises: tuple[PromiseResult, ...]
    receivers: tuple[ReceiverResult, ...]

    @property
    def reference(self) -> str:
        return f"PROMISES-{self.year:04d}-{self.month:02d}"


def promise_report(
    *,
    year: int,
    month: int,
    timezone: str,
    start: datetime,
    end: datetime,
    now: datetime,
    checked: Iterable[tuple[str, str, str]],
    runs: Iterable[CheckRun],
    receivers: Sequence[ReceiverSpec],
    deliveries: Iterable[Delivery],
) -> PromiseReport:
    """The month [start, end): every (promise, target, family) in `checked` (config order),
    and every receiver, from the runs and deliveries that began in the month."""
    by_key: dict[tuple[str, str, str], list[CheckRun]] = defaultdict(list)
    for run in runs:
        if start <= run.first < end:
            by_key[(run.promise, run.target, run.family)].append(run)
    promises = []
    for key in checked:
        found = sorted(by_key.get(key, ()), key=lambda r: (r.first, r.location))
        broken = [r for r in found if not r.kept]
        promises.append(
            PromiseResult(
                *key,
                checks=sum(r.checks for r in found),
                broken_checks=sum(r.checks for r in broken),
                broken=tuple(
                    BrokenSpan(r.first, r.last, r.checks, r.location, r.detail) for r in broken
                ),
            )
        )
    by_receiver: dict[str, list[Delivery]] = defaultdict(list)
    for delivery in deliveries:
        if start <= delivery.received < end:
            by_receiver[delivery.receiver].append(delivery)
    return PromiseReport(
        year=year,
        month=month,
        timezone=timezone,
        start=start,
        end=end,
        final=now >= end,
        issued_at=now,
        promises=tuple(promises),
        receivers=tuple(_receiver(spec, by_receiver.get(spec.name, [])) for spec in receivers),
    )


def _receiver(spec: ReceiverSpec, deliveries: list[Delivery]) -> ReceiverResult:
    latencies = [
        d.latency_seconds for d in deliveries if d.kind == FIRST and d.latency_seconds is not None
    ]
    delays: dict[int, list[float]] = defaultdict(list)
    for d in deliveries:
        if d.kind == RETRY and d.retry is not None and d.delay_seconds is not None:
            delays[d.retry].append(d.delay_seconds)
    numbers = range(1, max([len(spec.retries), *delays]) + 1)
    return ReceiverResult(
        receiver=spec.name,
        within_seconds=spec.within_seconds,
        promise_percent=spec.first_attempt_percent,
        first_attempts=len(latencies),
        first_attempts_within=sum(1 for s in latencies if s <= spec.within_seconds),
        latency_p50_seconds=percentile(latencies, 50),
        latency_p99_seconds=percentile(latencies, 99),
        retries=tuple(
            RetryResult(
                retry=n,
                promised_seconds=spec.retries[n - 1] if n <= len(spec.retries) else None,
                observed=len(delays.get(n, ())),
                p50_seconds=percentile(delays.get(n, []), 50),
                p99_seconds=percentile(delays.get(n, []), 99),
                min_seconds=min(delays[n]) if delays.get(n) else None,
                max_seconds=max(delays[n]) if delays.get(n) else None,
            )
            for n in numbers
        ),
        duplicates=sum(1 for d in deliveries if d.kind == DUPLICATE),
    )
