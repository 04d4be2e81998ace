"""Raw probes in, the store's per-slice rollups out: the builder the SLA tests share.

Tests describe probes in minutes from the month start (negative: before it) and let
`MonthProbes` roll them up into SeriesSlices the way the store does, so that every
expectation is computed from probes a reader can picture.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np

from sla.engine import MonthReport, evaluate_month
from sla.model import (
    Contract,
    CreditStep,
    FailedProbes,
    LastState,
    MaintenanceWindow,
    Plan,
    Policy,
    SeriesBlock,
    SeriesSlices,
    TargetSpec,
)
from sla.slices import load_window, month_bounds

US = 1_000_000
OK, RATE_LIMITED, FAILED = LastState.OK, LastState.RATE_LIMITED, LastState.FAILED
API = TargetSpec("api", "public-api", 30.0, ("ipv4",))
LATER = datetime(2100, 1, 1, tzinfo=UTC)  # a `now` after every month under test

PLANS = {
    "basic": Plan("basic", Decimal("99.5")),
    "pro": Plan("pro", Decimal("99.9"), (CreditStep(Decimal("99.9"), percent=Decimal(10)),)),
    "turbo": Plan("turbo", Decimal("99.95"), (CreditStep(Decimal("99.95"), percent=Decimal(25)),)),
    "enterprise": Plan("enterprise", Decimal("99.99")),
}


class MonthProbes:
    """The probes of a few series around one month, and the month evaluated from them."""

    def __init__(
        self,
        year: int = 2026,
        month: int = 2,
        tz: str = "UTC",
        policy: Policy | None = None,
        targets: Sequence[TargetSpec] = (API,),
    ) -> None:
        self.year, self.month, self.tz = year, month, tz
        self.policy = policy or Policy()
        self.targets = list(targets)
        self.start = month_bounds(year, month, tz)[0]
        self.first_slice, self.end_slice = load_window(year, month, tz, self.policy, targets)
        self.probes: dict[tuple[str, str, str], tuple[np.ndarray, np.ndarray]] = {}
        # Why probes failed: (series, first us, end us, reason); "timeout" where none says.
        self.reasons: list[tuple[tuple[str, str, str], int, int, str]] = []

    # --- times ---

    def us_at(self, minute: float) -> int:
        """Epoch microseconds of a time given in minutes from the month start."""
        moment = self.start + timedelta(minutes=minute)
        return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)

    @property
    def window_minutes(self) -> tuple[float, float]:
        """The loaded window, in minutes from the month start."""
        slice_minutes = self.policy.slice_seconds / 60
        offset = self.us_at(0) / US / 60
        return (
            self.first_slice * slice_minutes - offset,
            self.end_slice * slice_minutes - offset,
        )

    # --- probes ---

    def steady(
        self,
        state: LastState = OK,
        *,
        target: str = "api",
        family: str = "ipv4",
        location: str = "here",
        every: float = 30,
        start: float | None = None,
        end: float | None = None,
    ) -> MonthProbes:
        """A probe every `every` seconds in [start, end) minutes (default: the whole window)."""
        low, high = self.window_minutes
        first_us = self.us_at(low if start is None else start)
        end_us = self.us_at(high if end is None else end)
        times = np.arange(first_us, end_us, round(every * US), dtype=np.int64)
        self._merge((target, family, location), times, np.full(len(times), state, np.uint8))
        return self

    def probe(
        self,
        minute: float,
        state: LastState = OK,
        *,
        target: str = "api",
        family: str = "ipv4",
        location: str = "here",
    ) -> MonthProbes:
        self._merge(
            (target, family, location),
            np.array([self.us_at(minute)], np.int64),
            np.array([state], np.uint8),
        )
        return self

    def _merge(self, key: tuple[str, str, str], times: np.ndarray, states: np.ndarray) -> None:
        old_times, old_states = self.probes.get(key, (np.empty(0, np.int64), np.empty(0, np.uint8)))
        self.probes[key] = (
            np.concatenate((old_times, times)),
            np.concatenate((old_states, states)),
        )

    def _inside(
        self, start: float, end: float, series: dict[str, str]
    ) -> list[tuple[tuple[str, str, str], np.ndarray]]:
        """(key, mask of its probes started in [start, end) minutes) of matching series."""
        wanted = tuple(series.get(part) for part in ("target", "family", "location"))
        first_us, end_us = self.us_at(start), self.us_at(end)
        return [
            (key, (times >= first_us) & (times < end_us))
            for key, (times, _) in self.probes.items()
            if all(want in (None, have) for want, have in zip(wanted, key, strict=True))
        ]

    def set(self, start: float, end: float, state: LastState, **series: str) -> MonthProbes:
        """Give the probes started in [start, end) minutes this outcome (of matching series)."""
        for key, inside in self._inside(start, end, series):
            self.probes[key][1][inside] = state
        return self

    def fail(self, start: float, end: float, reason: str = "timeout", **series: str) -> MonthProbes:
        """The probes started in [start, end) minutes fail, for `reason`."""
        for key, _ in self._inside(start, end, series):
            self.reasons.append((key, self.us_at(start), self.us_at(end), reason))
        return self.set(start, end, FAILED, **series)

    def remove(self, start: float, end: float, **series: str) -> MonthProbes:
        """No probe at all in [start, end) minutes (of matching series)."""
        for key, inside in self._inside(start, end, series):
            times, states = self.probes[key]
            self.probes[key] = (times[~inside], states[~inside])
        return self

    def local(self, start: float, end: float, **series: str) -> MonthProbes:
        """The probes in [start, end) minutes could not leave the monitor (reason `local`):
        the store's outcome mapping leaves them out of the rollups, as if never run."""
        return self.remove(start, end, **series)

    # --- rollups and evaluation ---

    def failures(self, target: str) -> FailedProbes:
        """The target's failed probes per slice, family and reason, as the store reads them."""
        slice_us = self.policy.slice_seconds * US
        counted: Counter[tuple[int, str, str]] = Counter()
        for key, (times, states) in self.probes.items():
            if key[0] != target:
                continue
            for moment in times[states == FAILED].tolist():
                reason = next(
                    (
                        why
                        for k, low, high, why in reversed(self.reasons)
                        if k == key and low <= moment < high
                    ),
                    "timeout",
                )
                counted[(moment // slice_us, key[1], reason)] += 1
        return FailedProbes(target, tuple((*key, count) for key, count in sorted(counted.items())))

    def series(self) -> list[SeriesSlices]:
        return [self._rollup(key, *columns) for key, columns in self.probes.items()]

    def block(self, targets: Sequence[str]) -> SeriesBlock:
        """The named targets' series as one block, as the status page reads them."""
        chosen = [one for one in self.series() if one.target in targets]
        length = self.end_slice - self.first_slice
        columns = ("total", "failed", "rate_limited", "last_offset_us", "last_state")
        return SeriesBlock(
            tuple((one.target, one.family, one.location) for one in chosen),
            self.first_slice,
            **{
                name: np.array([getattr(one, name) for one in chosen], np.int64).reshape(
                    len(chosen), length
                )
                for name in columns
            },
        )

    def _rollup(
        self, key: tuple[str, str, str], times: np.ndarray, states: np.ndarray
    ) -> SeriesSlices:
        slice_us = self.policy.slice_seconds * US
        length = self.end_slice - self.first_slice
        index = times // slice_us - self.first_slice
        inside = (index >= 0) & (index < length)
        times, states, index = times[inside], states[inside], index[inside]
        order = np.lexsort((times, index))
        times, states, index = times[order], states[order], index[order]
        last = np.r_[index[1:] != index[:-1], True] if len(index) else np.empty(0, bool)
        last_offset_us = np.zeros(length, np.int64)
        last_offset_us[index[last]] = times[last] - (index[last] + self.first_slice) * slice_us
        last_state = np.zeros(length, np.int8)
        last_state[index[last]] = states[last]
        target, family, location = key
        return SeriesSlices(
            target=target,
            family=family,
            location=location,
            first_slice=self.first_slice,
            total=np.bincount(index, minlength=length),
            failed=np.bincount(index[states == FAILED], minlength=length),
            rate_limited=np.bincount(index[states == RATE_LIMITED], minlength=length),
            last_offset_us=last_offset_us,
            last_state=last_state,
        )

    def evaluate(
        self,
        *,
        contracts: Sequence[Contract] = (),
        maintenance: Sequence[MaintenanceWindow] = (),
        now: datetime = LATER,
        customer: str | None = None,
        plans: Mapping[str, Plan] = PLANS,
        **more: Any,
    ) -> MonthReport:
        """The month as the engine reports it; `more` goes to evaluate_month as it is
        (`failures=True` gives it this builder's failed probes)."""
        if more.get("failures") is True:
            more["failures"] = self.failures
        return evaluate_month(
            self.year,
            self.month,
            self.tz,
            policy=self.policy,
            targets=self.targets,
            plans=plans,
            contracts=contracts,
            maintenance=maintenance,
            series=self.series(),
            now=now,
            customer=customer,
            **more,
        )
