"""The monthly evaluation: series rollups in, a MonthReport out (spec sections 2 to 4).

Pure: no database, network, clock or files. The caller loads the rollups of
`load_window(...)` and passes `now`, so a report of the current month counts only the
slices that have ended.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise

import numpy as np

from sla.availability import DayFigures, Figures, daily_figures, state_counts
from sla.credits import contract_credit
from sla.errors import SlaError
from sla.model import (
    Contract,
    Family,
    MaintenanceWindow,
    Plan,
    Policy,
    SeriesSlices,
    TargetSpec,
)
from sla.slices import (
    BAD,
    EXCLUDED,
    NO_DATA,
    US,
    combine_families,
    combine_locations,
    covers_service,
    covers_target,
    day_starts,
    drop_blips,
    epoch_us,
    load_window,
    maintenance_mask,
    runs,
    series_states,
    service_states,
    slice_at_or_after,
    slice_start,
    stale_after_us,
)


@dataclass(frozen=True)
class FamilyResult:
    """One family of a target evaluated alone (steps 1, 3, 4 and 5 on its series only)."""

    family: Family
    figures: Figures
    daily: tuple[DayFigures, ...]


@dataclass(frozen=True)
class TargetResult:
    name: str
    service: str
    figures: Figures
    daily: tuple[DayFigures, ...]
    families: tuple[FamilyResult, ...]


@dataclass(frozen=True)
class ServiceResult:
    """A service's own month (step 6), for the month-to-date gauges and people's reports."""

    name: str
    figures: Figures
    daily: tuple[DayFigures, ...]


@dataclass(frozen=True)
class BurnDay:
    """Error budget at the end of one day of a contract period."""

    day: date
    bad_slices: int  # cumulative since the period start
    budget_remaining: Fraction  # the whole period's allowed bad slices minus bad_slices


@dataclass(frozen=True)
class ContractResult:
    customer: str
    plan: str
    service: str
    currency: str
    period_start: datetime
    period_end: datetime
    figures: Figures
    objective: Decimal
    breach: bool
    budget_remaining: Fraction
    credit_percent: Decimal | None  # 0 when no entry applies, None for a fixed amount
    credit_amount: Decimal  # rounded to the currency's minor unit
    burn: tuple[BurnDay, ...]


@dataclass(frozen=True)
class CustomerTotal:
    customer: str
    currency: str
    credit_total: Decimal


@dataclass(frozen=True)
class Incident:
    """A maximal run of slices with at least one BAD target, clipped to the month."""

    start: datetime
    end: datetime
    slices: int
    targets: tuple[str, ...]  # the targets BAD at some point of the run, in config order


@dataclass(frozen=True)
class MonthReport:
    month: str  # YYYY-MM
    timezone: str
    slice_seconds: int
    month_to_date: bool
    month_start: datetime
    month_end: datetime
    evaluated_until: datetime  # month_end, or `now` for a month still running
    targets: tuple[TargetResult, ...]
    services: tuple[ServiceResult, ...]
    contracts: tuple[ContractResult, ...]
    customers: tuple[CustomerTotal, ...]
    incidents: tuple[Incident, ...]


class _Frame:
    """Where the month's counted slices sit in the loaded window, and their days."""

    def __init__(
        self,
        year: int,
        month: int,
        tz_name: str,
        *,
        policy: Policy,
        targets: Sequence[TargetSpec],
        now: datetime,
    ) -> None:
        self.policy = policy
        self.starts = day_starts(year, month, tz_name)
        self.days = [date(year, month, 1) + timedelta(days=n) for n in range(len(self.starts) - 1)]
        self.start, self.end = self.starts[0], self.starts[-1]
        self.first_slice, end_slice = load_window(year, month, tz_name, policy, targets)
        self.length = end_slice - self.first_slice
        seconds = policy.slice_seconds
        # Slices before `ended` are over at `now`; later ones are not known yet.
        ended = epoch_us(now) // (seconds * US)
        self.known = min(max(ended - self.first_slice, 0), self.length)
        self.month_first = slice_at_or_after(self.start, seconds)
        self.counted_end = min(max(ended, self.month_first), slice_at_or_after(self.end, seconds))
        self.month_to_date = now < self.end
        self.evaluated_until = min(max(now, self.start), self.end)
        counted = np.arange(self.month_first, self.counted_end, dtype=np.int64) * (seconds * US)
        starts_us = np.array([epoch_us(start) for start in self.starts], np.int64)
        self.day_index = np.searchsorted(starts_us, counted, side="right") - 1

    def maintenance(self, windows: Sequence[MaintenanceWindow]) -> np.ndarray:
        """Which slices of the loaded window overlap one of these maintenance windows."""
        return maintenance_mask(windows, self.first_slice, self.length, self.policy.slice_seconds)

    def at(self, index: int) -> int:
        """Position of epoch slice `index` in the loaded window's arrays."""
        return index - self.first_slice

    def counts(self, states: np.ndarray, first: int, end: int) -> np.ndarray:
        """Per-day state counts of the counted slices in [first, end) (epoch indexes)."""
        first, end = max(first, self.month_first), min(end, self.counted_end)
        end = max(end, first)
        return state_counts(
            states[self.at(first) : self.at(end)],
            self.day_index[first - self.month_first : end - self.month_first],
            len(self.days),
        )

    def month_figures(self, states: np.ndarray) -> tuple[Figures, tuple[DayFigures, ...]]:
        counts = self.counts(states, self.month_first, self.counted_end)
        no_data = self.policy.no_data
        return Figures.from_counts(counts.sum(axis=0), no_data), daily_figures(
            counts, self.days, no_data
        )


def _series_by_target(
    targets: Sequence[TargetSpec], series: Sequence[SeriesSlices], frame: _Frame
) -> dict[str, list[SeriesSlices]]:
    """The series that count, grouped per target; each must cover the loaded window."""
    families = {target.name: target.families for target in targets}
    grouped: dict[str, list[SeriesSlices]] = {target.name: [] for target in targets}
    seen: set[tuple[str, str, str]] = set()
    for one in series:
        if one.family not in families.get(one.target, ()):
            continue
        key = (one.target, one.family, one.location)
        if key in seen:
            raise SlaError(f"series {'/'.join(key)} is given twice")
        seen.add(key)
        arrays = (one.total, one.failed, one.rate_limited, one.last_offset, one.last_state)
        if one.first_slice != frame.first_slice or any(len(a) != frame.length for a in arrays):
            raise SlaError(
                f"series {'/'.join(key)} must cover slices [{frame.first_slice}, "
                f"{frame.first_slice + frame.length}) exactly"
            )
        grouped[one.target].append(one)
    return grouped


def _target_states(
    target: TargetSpec, series: list[SeriesSlices], frame: _Frame
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Steps 1-4 for a target: its combined states and each configured family's alone."""
    policy = frame.policy
    locations = list(dict.fromkeys(one.location for one in series))
    grid = np.full((len(target.families), len(locations), frame.length), NO_DATA, np.int8)
    stale_us = stale_after_us(policy, target)
    for one in series:
        grid[target.families.index(one.family), locations.index(one.location)] = series_states(
            one, policy, stale_us, frame.known
        )

    def locations_and_blips(states: np.ndarray) -> np.ndarray:
        located = combine_locations(states, policy.location_quorum)
        return drop_blips(located, policy.min_outage_slices)

    combined = locations_and_blips(combine_families(grid, policy.family_policy))
    return combined, [locations_and_blips(family) for family in grid]


def _evaluate_target(
    target: TargetSpec,
    series: list[SeriesSlices],
    maintenance: Sequence[MaintenanceWindow],
    frame: _Frame,
) -> tuple[TargetResult, np.ndarray]:
    """The target's result and its slice states after step 5."""
    combined, families = _target_states(target, series, frame)
    windows = [window for window in maintenance if covers_target(window, target)]
    excluded = frame.maintenance(windows)
    combined = np.where(excluded, EXCLUDED, combined)
    family_results = []
    for family, states in zip(target.families, families, strict=True):
        figures, daily = frame.month_figures(np.where(excluded, EXCLUDED, states))
        family_results.append(FamilyResult(family, figures, daily))
    figures, daily = frame.month_figures(combined)
    result = TargetResult(target.name, target.service, figures, daily, tuple(family_results))
    return result, combined


def _service_states(
    targets: Sequence[TargetSpec],
    target_states: list[np.ndarray],
    maintenance: Sequence[MaintenanceWindow],
    frame: _Frame,
) -> dict[str, np.ndarray]:
    """Step 6 for every service, in order of first appearance among the targets."""
    members: dict[str, list[np.ndarray]] = {}
    for target, states in zip(targets, target_states, strict=True):
        members.setdefault(target.service, []).append(states)
    result = {}
    for service, states in members.items():
        windows = [window for window in maintenance if covers_service(window, service)]
        excluded = frame.maintenance(windows)
        result[service] = service_states(np.stack(states), excluded)
    return result


def _evaluate_contract(
    contract: Contract, plans: dict[str, Plan], services: dict[str, np.ndarray], frame: _Frame
) -> ContractResult | None:
    """The contract over its period (the month clipped to it); None if they do not meet."""
    period_start = max(frame.start, contract.start)
    period_end = frame.end if contract.end is None else min(frame.end, contract.end)
    if period_start >= period_end:
        return None
    plan = plans.get(contract.plan)
    if plan is None:
        raise SlaError(f"contract of {contract.customer} names unknown plan {contract.plan!r}")
    states = services.get(contract.service)
    if states is None:
        raise SlaError(
            f"contract of {contract.customer} names service {contract.service!r}, "
            "which no target belongs to"
        )
    seconds = frame.policy.slice_seconds
    counts = frame.counts(
        states, slice_at_or_after(period_start, seconds), slice_at_or_after(period_end, seconds)
    )
    no_data = frame.policy.no_data
    figures = Figures.from_counts(counts.sum(axis=0), no_data)
    credit = contract_credit(
        schedule=plan.credits if contract.credits is None else contract.credits,
        availability=figures.availability,
        monthly_fee=contract.monthly_fee,
        currency=contract.currency,
        max_credit_percent=plan.max_credit_percent,
        period_us=epoch_us(period_end) - epoch_us(period_start),
        month_us=epoch_us(frame.end) - epoch_us(frame.start),
    )
    allowed = figures.allowed_bad(plan.objective)
    bad_by_day = np.cumsum([day.figures.bad for day in daily_figures(counts, frame.days, no_data)])
    burn = tuple(
        BurnDay(day, int(bad), allowed - int(bad))
        for day, (day_start, day_end), bad in zip(
            frame.days, pairwise(frame.starts), bad_by_day, strict=True
        )
        if day_start < period_end and day_end > period_start
    )
    return ContractResult(
        customer=contract.customer,
        plan=contract.plan,
        service=contract.service,
        currency=contract.currency,
        period_start=period_start,
        period_end=period_end,
        figures=figures,
        objective=plan.objective,
        breach=figures.breach(plan.objective),
        budget_remaining=figures.budget_remaining(plan.objective),
        credit_percent=credit.percent,
        credit_amount=credit.amount,
        burn=burn,
    )


def _customer_totals(contracts: Sequence[ContractResult]) -> tuple[CustomerTotal, ...]:
    """Sum of rounded credits per customer and currency, in order of first appearance."""
    totals: dict[str, dict[str, Decimal]] = {}
    for contract in contracts:
        by_currency = totals.setdefault(contract.customer, {})
        by_currency[contract.currency] = (
            by_currency.get(contract.currency, Decimal(0)) + contract.credit_amount
        )
    return tuple(
        CustomerTotal(customer, currency, total)
        for customer, by_currency in totals.items()
        for currency, total in by_currency.items()
    )


def _incidents(
    targets: Sequence[TargetSpec], target_states: list[np.ndarray], frame: _Frame
) -> tuple[Incident, ...]:
    """Step 7 over the month's counted slices: runs that cross a month edge are clipped."""
    window = slice(frame.at(frame.month_first), frame.at(frame.counted_end))
    bad = np.zeros((len(targets), frame.counted_end - frame.month_first), bool)
    for row, states in zip(bad, target_states, strict=True):
        row[:] = states[window] == BAD
    starts, ends = runs(bad.any(axis=0))
    if len(starts) == 0:
        return ()
    # No target is BAD between two incidents, so each incident's targets are the ones BAD
    # somewhere from its start to the next incident's start.
    involved = np.logical_or.reduceat(bad, starts, axis=1).T  # (incidents, targets)
    seconds = frame.policy.slice_seconds
    return tuple(
        Incident(
            start=slice_start(frame.month_first + start, seconds),
            end=slice_start(frame.month_first + end, seconds),
            slices=end - start,
            targets=tuple(targets[i].name for i in np.flatnonzero(row)),
        )
        for start, end, row in zip(starts.tolist(), ends.tolist(), involved, strict=True)
    )


def evaluate_month(
    year: int,
    month: int,
    tz_name: str,
    *,
    policy: Policy,
    targets: Sequence[TargetSpec],
    plans: dict[str, Plan],
    contracts: Sequence[Contract],
    maintenance: Sequence[MaintenanceWindow],
    series: Sequence[SeriesSlices],
    now: datetime,
) -> MonthReport:
    """Evaluate one calendar month (in `tz_name`) from series covering `load_window(...)`.

    Targets, contracts and the report keep config order; series of targets or families
    not configured are ignored. Slices that have not ended by `now` are not counted.
    """
    frame = _Frame(year, month, tz_name, policy=policy, targets=targets, now=now)
    by_target = _series_by_target(targets, series, frame)
    target_results, target_states = [], []
    for target in targets:
        result, states = _evaluate_target(target, by_target[target.name], maintenance, frame)
        target_results.append(result)
        target_states.append(states)
    services = _service_states(targets, target_states, maintenance, frame)
    evaluated = (_evaluate_contract(contract, plans, services, frame) for contract in contracts)
    contract_results = tuple(result for result in evaluated if result is not None)
    return MonthReport(
        month=f"{year:04d}-{month:02d}",
        timezone=tz_name,
        slice_seconds=policy.slice_seconds,
        month_to_date=frame.month_to_date,
        month_start=frame.start,
        month_end=frame.end,
        evaluated_until=frame.evaluated_until,
        targets=tuple(target_results),
        services=tuple(
            ServiceResult(name, *frame.month_figures(states)) for name, states in services.items()
        ),
        contracts=contract_results,
        customers=_customer_totals(contract_results),
        incidents=_incidents(targets, target_states, frame),
    )
